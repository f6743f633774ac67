"""Collector errors.

    CollectorError
    ├── OptionsError         the plugin's options (ELKEID_PLUGIN_DETAIL) are not valid
    ├── TaskError            a Task the collector cannot run (unknown type, bad JSON data)
    ├── SourceError          an asset source answered badly (Docker API, rpm database, …)
    └── PartialSnapshot      some sources of one asset type failed; carries what the others gave

Errors of one snapshot never stop the plugin: the snapshot ends with a 5101
marker whose status is ``failed`` and whose msg carries the error's text, and
the server keeps the previous complete snapshot.
"""


class CollectorError(Exception):
    """Root of every collector error."""


class OptionsError(CollectorError):
    """The plugin's options are not valid; the message names the key and the bad value."""


class TaskError(CollectorError):
    """A Task the collector cannot run; the 5100 answer says why."""


class SourceError(CollectorError):
    """An asset source (Docker API, rpm database, unit file …) answered in a way we cannot read."""


class PartialSnapshot(CollectorError):
    """Some sources of an asset type failed: ``records`` holds what the others returned."""

    def __init__(self, records: list[dict[str, str]], message: str) -> None:
        super().__init__(message)
        self.records = records
