"""A new alert's process chain, rebuilt from the recent-event store (bounded).

The trigger's ``pid_tree`` names every ancestor at once, so one query finds
them; without it (asset records, other plugins' records) the chain is followed
``ppid`` by ``ppid``, one indexed query (agent + pid) per step, at most
:data:`MAX_DEPTH` steps.
"""

from __future__ import annotations

from typing import Any, Mapping

from elkeid.server.engine import ProcessLink, build_process_chain, parse_pid_tree

#: Most processes in a chain, and most queries made for one.
MAX_DEPTH = 16


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def chain_for(store, event: Mapping[str, Any], *, max_depth: int = MAX_DEPTH) -> list[ProcessLink]:
    """The chain behind ``event`` (the process first), from the events ``store`` keeps for its agent."""
    agent_id, pid = _text(event.get("agent_id")), _text(event.get("pid"))
    if not agent_id or not pid:
        return []
    tree = parse_pid_tree(_text(event.get("pid_tree")))
    if tree and tree[0][0] == pid:
        return build_process_chain(event, store.process_events(agent_id, [p for p, _ in tree[:max_depth]]),
                                   max_depth=max_depth)  # fmt: skip
    fetched = {pid, _text(event.get("ppid"))}
    recent = store.process_events(agent_id, list(fetched))
    chain = build_process_chain(event, recent, max_depth=max_depth)
    for _ in range(max_depth):
        if not chain or len(chain) >= max_depth:
            break
        last = chain[-1]
        # A link nothing was known about ends the chain: look that pid up; else look up its parent.
        want = last.pid if last.source == "pid_tree" else last.ppid
        if not want or want == "0" or want in fetched:
            break
        fetched.add(want)
        more = store.process_events(agent_id, [want])
        if not more:
            break
        recent += more
        chain = build_process_chain(event, recent, max_depth=max_depth)
    return chain
