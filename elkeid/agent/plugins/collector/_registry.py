"""The table of asset types: data_type -> the function collecting it and its schedule.

One row per asset type (STYLE.md practice 3): the function is small, sync, and
returns records whose fields are declared once in :mod:`elkeid.datatypes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from elkeid import datatypes

from ._apps import collect_apps
from ._containers import collect_containers
from ._cron import collect_cron
from ._host import Host
from ._interfaces import collect_interfaces
from ._kmods import collect_kmods
from ._ports import collect_ports
from ._processes import collect_processes
from ._services import collect_services
from ._software import collect_software
from ._users import collect_users
from ._volumes import collect_volumes

MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True)
class AssetSpec:
    """One asset type: its data_type, collecting function and default interval (seconds)."""

    data_type: int
    collect: Callable[[Host], list[dict[str, str]]]
    interval: float

    @property
    def name(self) -> str:
        return datatypes.get(self.data_type).name


ASSETS: dict[int, AssetSpec] = {
    spec.data_type: spec
    for spec in (
        AssetSpec(datatypes.ASSET_CONTAINER, collect_containers, 5 * MINUTE),
        AssetSpec(datatypes.ASSET_PROCESS, collect_processes, HOUR),
        AssetSpec(datatypes.ASSET_LISTEN_PORT, collect_ports, HOUR),
        AssetSpec(datatypes.ASSET_USER, collect_users, 6 * HOUR),
        AssetSpec(datatypes.ASSET_CRON, collect_cron, 6 * HOUR),
        AssetSpec(datatypes.ASSET_SERVICE, collect_services, 6 * HOUR),
        AssetSpec(datatypes.ASSET_SOFTWARE, collect_software, 24 * HOUR),
        AssetSpec(datatypes.ASSET_VOLUME, collect_volumes, 6 * HOUR),
        AssetSpec(datatypes.ASSET_NIC, collect_interfaces, 6 * HOUR),
        AssetSpec(datatypes.ASSET_APP, collect_apps, 24 * HOUR),
        AssetSpec(datatypes.ASSET_KMOD, collect_kmods, HOUR),
    )
}


def spec_for(key: int | str) -> AssetSpec | None:
    """The spec for a data_type number (5050) or name ("process"), None if no such asset type."""
    if isinstance(key, str):
        if key.isdigit():
            key = int(key)
        else:
            return next((s for s in ASSETS.values() if s.name == key), None)
    return ASSETS.get(key)
