"""Container id from a process's cgroup path (Docker, containerd, CRI-O, Podman, Kubernetes)."""

from __future__ import annotations

import re

# docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope,
# /docker/<id>, /kubepods/.../<id>: a 64-hex-digit id as one path component
_ID = re.compile(r"(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?(?:/|$)")


def container_id(cgroup_text: str) -> str:
    """The container id named in /proc/PID/cgroup text, or ''."""
    for line in cgroup_text.splitlines():
        path = line.split(":", 2)[-1]
        m = _ID.search(path)
        if m:
            return m.group(1)
    return ""
