"""The agent id, by Elkeid's rule.

1. ``SPECIFIED_AGENT_ID`` in the environment wins.
2. Otherwise the id saved in the data directory (``machine-id``) is reused, so
   the id never changes under a running deployment.
3. Otherwise it is derived from the machine: a name-based (SHA-1, OID namespace)
   UUID of the cloud instance id, the DMI product UUID and eth0's MAC, when
   these are present and not known placeholder values; else ``/etc/machine-id``;
   else a random UUID. The result is saved for next time.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

ENV_OVERRIDE = "SPECIFIED_AGENT_ID"
ID_FILE = "machine-id"

_PLACEHOLDER_UUIDS = {"03000200-0400-0500-0006-000700080009", "02000100-0300-0400-0005-000600070008"}
_PLACEHOLDER_NAMES = {"", "--", "unknown", "to be filled by o.e.m.", "oem not specify", "t.b.d"}


def _read(path: str, min_len: int = 6) -> str | None:
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return None
    return text if len(text) >= min_len else None


def derive_machine_id() -> str:
    """A stable id for this machine, without looking at any saved id."""
    instance = _read("/var/lib/cloud/data/instance-id")
    product_uuid = _read("/sys/class/dmi/id/product_uuid")
    mac = _read("/sys/class/net/eth0/address")
    source = "".join(x for x in (instance, product_uuid, mac) if x)
    product_name = (_read("/sys/class/dmi/id/product_name", 1) or "").lower()
    if len(source) > 8 and product_uuid not in _PLACEHOLDER_UUIDS and product_name not in _PLACEHOLDER_NAMES:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, source))
    machine_id = _read("/etc/machine-id")
    if machine_id:
        try:
            return str(uuid.UUID(machine_id))
        except ValueError:
            return str(uuid.uuid5(uuid.NAMESPACE_OID, machine_id))
    return str(uuid.uuid4())


def agent_id(data_dir: Path) -> str:
    """The agent id for an agent keeping its state in ``data_dir`` (see module docstring)."""
    override = os.environ.get(ENV_OVERRIDE, "").strip()
    if override:
        return override
    saved = _read(str(data_dir / ID_FILE), 1)
    if saved:
        return saved
    new = derive_machine_id()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / ID_FILE).write_text(new)
    os.chmod(data_dir / ID_FILE, 0o600)
    return new
