"""How the server keeps each asset type: its identity key, indexed label, and what counts as a change.

One row per inventory type (every asset data_type with an identity key in
``elkeid.datatypes``). ``feed`` says whether differences between snapshots go to
the change feed (processes and volume usage change all the time, so they are
kept in the inventory but not in the feed); ``ignore`` lists fields whose
change alone is not a change (a listening socket's inode and pid change on every
restart of its service); ``version`` names the key field that, when it alone
differs, makes a removed and an added item one version change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Mapping

from elkeid import datatypes


@dataclass(frozen=True)
class Policy:
    data_type: int
    label: str
    feed: bool
    ignore: frozenset[str] = frozenset()
    version: str = ""

    @property
    def spec(self) -> datatypes.DataType:
        return datatypes.get(self.data_type)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def key(self) -> tuple[str, ...]:
        return self.spec.key

    def key_values(self, fields: Mapping[str, str]) -> list[str]:
        return [fields.get(f, "") for f in self.key]

    def key_dict(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {f: fields.get(f, "") for f in self.key}

    def key_hash(self, fields: Mapping[str, str]) -> str:
        """SHA-1 of the identity key values: fixed length whatever the values (paths, commands)."""
        text = json.dumps(self.key_values(fields), ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha1(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()

    def group_key(self, fields: Mapping[str, str]) -> tuple[str, ...]:
        """The key without the version field: items that are versions of one thing share it."""
        return tuple(fields.get(f, "") for f in self.key if f != self.version)


def _p(data_type: int, label: str, feed: bool, ignore: str = "", version: str = "") -> Policy:
    return Policy(data_type, label, feed, frozenset(ignore.split()), version)


POLICIES: dict[int, Policy] = {p.data_type: p for p in (
    _p(datatypes.ASSET_PROCESS, "exe", False),
    _p(datatypes.ASSET_LISTEN_PORT, "sport", True, "inode pid"),
    _p(datatypes.ASSET_USER, "username", True, "last_login_time last_login_ip"),
    # The checksum is the whole file's: another line of the same file changing is not this entry's change.
    _p(datatypes.ASSET_CRON, "command", True, "checksum"),
    _p(datatypes.ASSET_SERVICE, "name", True),
    _p(datatypes.ASSET_SOFTWARE, "name", True, "pid", version="sversion"),
    _p(datatypes.ASSET_CONTAINER, "name", True, "pid"),
    _p(datatypes.ASSET_VOLUME, "mount_point", False),
    _p(datatypes.ASSET_NIC, "name", True),
    _p(datatypes.ASSET_APP, "name", True, "pid"),
    _p(datatypes.ASSET_KMOD, "name", True, "refcount used_by addr"),
)}  # fmt: skip


def policy_for(key: int | str) -> Policy | None:
    """The policy of an inventory type named by number (5051, "5051") or name ("listen_port"), or None."""
    if isinstance(key, str):
        if key.isdigit() and len(key) < 10:
            key = int(key)
        else:
            return next((p for p in POLICIES.values() if p.name == key), None)
    return POLICIES.get(key)
