"""``elkeid plugin driver``: kernel events through eBPF (bcc), enriched in user space.

See docs/driver.md. The process speaks the plugin pipe protocol (Tasks on fd 3,
Records on fd 4); :func:`main` runs it.
"""

from ._options import DETAIL_ENV, DriverOptions, parse_detail
from ._plugin import Driver, main
from .errors import (
    BccMissing,
    DriverError,
    DriverUnavailable,
    HeadersUnavailable,
    OptionsError,
    ProbeLoadError,
    TaskError,
    TracefsUnavailable,
)

__all__ = [
    "DETAIL_ENV",
    "BccMissing",
    "Driver",
    "DriverError",
    "DriverOptions",
    "DriverUnavailable",
    "HeadersUnavailable",
    "OptionsError",
    "ProbeLoadError",
    "TaskError",
    "TracefsUnavailable",
    "main",
    "parse_detail",
]
