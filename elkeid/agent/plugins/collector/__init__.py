"""``elkeid plugin collector``: host assets (data types 5050-5062), scheduled and on demand.

One private module per asset type, each a small sync function returning
records whose fields are declared in :mod:`elkeid.datatypes`; :data:`ASSETS`
is the table of them. :func:`run_snapshot` stamps a snapshot with its
package_seq and ends it with a 5101 marker; :func:`main` is the plugin process.
Reference: docs/assets.md.
"""

from ._crypt import verify as verify_password
from ._hashing import HashCache, exe_hash_of
from ._host import Host
from ._plugin import Collector, Options, main
from ._registry import ASSETS, AssetSpec, spec_for
from ._snapshot import SnapshotResult, run_snapshot
from ._tasks import specs_for_task
from .errors import CollectorError, OptionsError, PartialSnapshot, SourceError, TaskError

__all__ = [
    "ASSETS",
    "AssetSpec",
    "Collector",
    "CollectorError",
    "HashCache",
    "Host",
    "Options",
    "OptionsError",
    "PartialSnapshot",
    "SnapshotResult",
    "SourceError",
    "TaskError",
    "exe_hash_of",
    "main",
    "run_snapshot",
    "spec_for",
    "specs_for_task",
    "verify_password",
]
