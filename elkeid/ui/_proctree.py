"""An alert's process chain as the tree the detail page draws: the oldest ancestor at the top.

The API gives the chain the other way round (the triggering process first, then
its parent, and so on; docs/api.md "Alerts"). Every value is host-supplied text
and only ever rendered escaped; the template nests one list per generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

#: Where a link came from (the API's ``source``), as the page says it.
SOURCES = {
    "event": "the triggering event",
    "execve": "an execve record",
    "driver": "another event of this process",
    "asset": "a process inventory record",
    "pid_tree": "only its pid and name were known",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ProcessNode:
    pid: str
    ppid: str
    name: str  # comm, else the executable's base name
    exe: str
    argv: str
    user: str  # user name, else uid
    source: str
    trigger: bool  # the process whose event raised the alert
    joined: bool  # its parent is the node above it (False: the chain has a gap there)

    @property
    def source_text(self) -> str:
        return SOURCES.get(self.source, self.source)


def process_tree(chain: Sequence[Mapping[str, Any]]) -> list[ProcessNode]:
    """The chain's processes, oldest ancestor first; each one is the child of the one before."""
    nodes: list[ProcessNode] = []
    above: str | None = None
    for i, link in enumerate(reversed(list(chain))):
        pid, ppid, exe = _text(link.get("pid")), _text(link.get("ppid")), _text(link.get("exe"))
        name = _text(link.get("comm")) or exe.rsplit("/", 1)[-1]
        user = _text(link.get("username")) or (f"uid {_text(link.get('uid'))}" if _text(link.get("uid")) else "")
        nodes.append(ProcessNode(pid=pid, ppid=ppid, name=name, exe=exe, argv=_text(link.get("argv")), user=user,
                                 source=_text(link.get("source")), trigger=i == len(chain) - 1,
                                 joined=above is None or not ppid or ppid == above))  # fmt: skip
        above = pid
    return nodes
