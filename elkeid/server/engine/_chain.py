"""Rebuilding an alert's process chain (the process, its parent, ... up to init) from recent events.

A pure function over the events the server kept for the agent: no database.
The ancestry comes from the event's ``pid_tree`` (``pid.comm<ppid.comm<...``,
recorded by the driver when the event happened) when it has one, else from
following ``ppid`` through the recent events. Each process is then described
by the latest event of that pid at or before the alert's event (an execve
preferred, since pids are reused), else by a process asset record (5050).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from elkeid import datatypes

from ._ops import number, text

#: Deepest chain rebuilt (pid_tree itself carries the process and up to 12 ancestors).
MAX_DEPTH = 16


@dataclass(frozen=True)
class ProcessLink:
    """One process of the chain; ``source`` says where its details came from."""

    pid: str
    ppid: str = ""
    exe: str = ""
    argv: str = ""
    comm: str = ""
    username: str = ""
    uid: str = ""
    timestamp: float | None = None
    source: str = "pid_tree"  # event | execve | driver | asset | pid_tree

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_pid_tree(pid_tree: str) -> list[tuple[str, str]]:
    """``"42.bash<1.systemd"`` -> ``[("42", "bash"), ("1", "systemd")]`` (malformed parts skipped)."""
    out = []
    for part in pid_tree.split("<"):
        pid, sep, comm = part.partition(".")
        if sep and pid.strip().isdigit():
            out.append((pid.strip(), comm))
    return out


def build_process_chain(event: Mapping[str, Any], recent: Iterable[Mapping[str, Any]], *,
                        max_depth: int = MAX_DEPTH) -> list[ProcessLink]:  # fmt: skip
    """The chain of processes behind ``event``: the process first, its ancestors after it.

    Args:
        event: the alert's event (any type carrying ``pid``; driver events carry ``pid_tree``).
        recent: recent events of the same agent, in any order (the trigger may be among them).
        max_depth: most links returned.
    """
    when = _ts(event)
    index = _index(recent, when)
    pid = text(event.get("pid"))
    links: list[ProcessLink] = []
    tree = parse_pid_tree(text(event.get("pid_tree")))
    if tree and tree[0][0] == pid:
        for i, (tpid, comm) in enumerate(tree[:max_depth]):
            parent = tree[i + 1][0] if i + 1 < len(tree) else ""
            if i == 0:
                links.append(_link(event, "event", fallback_ppid=parent))
            else:
                links.append(_describe(tpid, comm, parent, index))
        return links
    if not pid:
        return []
    links.append(_link(event, "event"))
    seen = {pid}
    ppid = links[0].ppid
    while ppid and ppid not in seen and ppid != "0" and len(links) < max_depth:
        seen.add(ppid)
        link = _describe(ppid, "", "", index)
        if link.source == "pid_tree":  # nothing known about it: stop rather than invent
            links.append(link)
            break
        links.append(link)
        ppid = link.ppid
    return links


def _index(recent: Iterable[Mapping[str, Any]], when: float | None) -> dict[str, tuple[int, float, Mapping]]:
    """pid -> (rank, timestamp, event) of the best description at or before ``when``.

    The latest execve of the pid wins (it carries that image's argv), unless a
    later event of the pid names another executable: then the pid was reused
    and the later event describes the process that is there now.
    """
    execs: dict[str, tuple[float, Mapping]] = {}
    others: dict[str, tuple[int, float, Mapping]] = {}
    for ev in recent:
        pid = text(ev.get("pid"))
        if not pid:
            continue
        ts = _ts(ev) or 0.0
        if when is not None and ts > when:
            continue
        if _data_type(ev) == datatypes.EXECVE:
            if pid not in execs or ts >= execs[pid][0]:
                execs[pid] = (ts, ev)
            continue
        rank = 1 if _data_type(ev) == datatypes.ASSET_PROCESS else 2
        current = others.get(pid)
        if current is None or (ts, rank) > (current[1], current[0]):
            others[pid] = (rank, ts, ev)
    best: dict[str, tuple[int, float, Mapping]] = dict(others)
    for pid, (ts, ev) in execs.items():
        other = others.get(pid)
        if other is None or other[1] <= ts or text(other[2].get("exe")) == text(ev.get("exe")):
            best[pid] = (3, ts, ev)
    return best


def _describe(pid: str, comm: str, parent: str, index: Mapping[str, tuple[int, float, Mapping]]) -> ProcessLink:
    found = index.get(pid)
    if found is None:
        return ProcessLink(pid=pid, ppid=parent, comm=comm, source="pid_tree")
    rank, _, ev = found
    source = {3: "execve", 2: "driver", 1: "asset"}[rank]
    link = _link(ev, source, fallback_ppid=parent)
    if comm and not link.comm:
        link = ProcessLink(**{**link.as_dict(), "comm": comm})
    return link


def _link(ev: Mapping[str, Any], source: str, fallback_ppid: str = "") -> ProcessLink:
    argv = text(ev.get("argv")) or text(ev.get("cmdline"))
    return ProcessLink(
        pid=text(ev.get("pid")), ppid=text(ev.get("ppid")) or fallback_ppid, exe=text(ev.get("exe")), argv=argv,
        comm=text(ev.get("comm")), username=text(ev.get("username")), uid=text(ev.get("uid")), timestamp=_ts(ev),
        source=source,
    )  # fmt: skip


def _ts(ev: Mapping[str, Any]) -> float | None:
    return number(text(ev.get("timestamp")))


def _data_type(ev: Mapping[str, Any]) -> int:
    n = number(text(ev.get("data_type")))
    return int(n) if n is not None else 0
