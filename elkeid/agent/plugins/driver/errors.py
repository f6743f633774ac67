"""Driver errors.

    DriverError
    ├── DriverUnavailable      the probes cannot run here; the reason goes into a 901 record
    │   ├── BccMissing         Debian's python3-bpfcc is not importable
    │   ├── TracefsUnavailable tracefs/debugfs are not mounted and cannot be mounted
    │   ├── HeadersUnavailable no kernel headers bcc could compile against
    │   └── ProbeLoadError     bcc failed to compile, load or attach the programs
    ├── OptionsError           bad driver options (Config.detail or a task)
    └── TaskError              a task the driver cannot carry out (bad JSON, unknown action)
"""


class DriverError(Exception):
    """Root of every driver error."""


class DriverUnavailable(DriverError):
    """The eBPF probes cannot run on this host; the message is the 901 ``reason``."""


class BccMissing(DriverUnavailable):
    """bcc's Python bindings cannot be imported."""


class TracefsUnavailable(DriverUnavailable):
    """tracefs (and debugfs) are missing and mounting them failed."""


class HeadersUnavailable(DriverUnavailable):
    """No usable kernel header tree was found."""


class ProbeLoadError(DriverUnavailable):
    """bcc could not compile, load or attach the BPF programs."""


class OptionsError(DriverError):
    """An option is unknown or has a value of the wrong type; the message names it."""


class TaskError(DriverError):
    """A driver task is malformed or asks for something unknown."""
