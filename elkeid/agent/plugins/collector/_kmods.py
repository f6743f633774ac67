"""5062 kernel modules: /proc/modules, one record per loaded module.

``used_by`` is the comma-joined list of modules using this one ("" for none);
``state`` is Live, Loading or Unloading; ``addr`` is the load address as the
kernel shows it (zeros unless read with CAP_SYSLOG). Taint flags such as
``(OE)`` after the address are appended to ``state`` (``Live (OE)``), since an
out-of-tree or unsigned module is worth seeing. A kernel built without module
support has no /proc/modules: the snapshot is then empty, not failed.
"""

from __future__ import annotations

from ._host import Host


def parse_modules(text: str) -> list[dict[str, str]]:
    records = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        name, size, refcount, used_by, state, addr = parts[:6]
        taint = " ".join(parts[6:])
        records.append({
            "name": name, "size": size, "refcount": refcount,
            "used_by": "" if used_by == "-" else used_by.rstrip(","),
            "state": f"{state} {taint}" if taint else state, "addr": addr,
        })  # fmt: skip
    return records


def collect_kmods(host: Host) -> list[dict[str, str]]:
    try:
        text = (host.proc / "modules").read_text(errors="replace")
    except FileNotFoundError:
        return []
    return parse_modules(text)
