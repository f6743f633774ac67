"""journal_watcher errors.

    WatcherError
    └── OptionsError         the plugin's options (ELKEID_PLUGIN_DETAIL) are not valid
"""


class WatcherError(Exception):
    """Root of every journal_watcher error."""


class OptionsError(WatcherError):
    """The plugin's options are not valid; the message names the key and the bad value."""
