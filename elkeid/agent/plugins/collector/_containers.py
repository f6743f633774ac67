"""5056 containers: Docker/Podman through the Engine API, containerd tasks from their bundles.

- Docker (and Podman's Docker-compatible service) answer on a unix socket
  (``/run/docker.sock`` …): ``GET /containers/json?all=1`` lists containers,
  ``GET /containers/ID/json`` gives a running one's pid.
- containerd keeps one bundle per running task in
  ``/run/containerd/io.containerd.runtime.v2.task/NAMESPACE/ID`` with the OCI
  ``config.json`` and ``init.pid``; names and images come from the CRI
  annotations (Kubernetes) or nerdctl's. Tasks already listed by Docker (its
  ``moby`` namespace) are not repeated.

Every snapshot refreshes the id -> name map that process records use.

Error handling: an absent socket is not an error (no Docker here); a socket
that answers badly raises :class:`PartialSnapshot` after the other sources ran.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from contextlib import contextmanager

import httpx

from ._host import Host
from .errors import PartialSnapshot, SourceError

log = logging.getLogger(__name__)

CONTAINERD_TASKS = "/run/containerd/io.containerd.runtime.v2.task"
API_TIMEOUT = 10.0
MAX_SPEC = 4 << 20  # an OCI config.json is a few KiB
_NAME_KEYS = ("io.kubernetes.cri.container-name", "nerdctl/name", "io.containerd.container.name")
_IMAGE_KEYS = ("io.kubernetes.cri.image-name", "nerdctl/image", "io.containerd.image.name")


@contextmanager
def _api_errors(sock: str):
    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise SourceError(f"container API at {sock} answered {exc.response.status_code} for {exc.request.url.path}") from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"container API at {sock} failed: {exc!r}; is the daemon running?") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(f"container API at {sock} sent a reply we cannot read: {exc!r}") from exc


def _reachable(sock: str) -> None:
    # httpcore leaks the socket when a unix connect fails; probe with one we close ourselves.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(API_TIMEOUT)
        try:
            probe.connect(sock)
        except OSError as exc:
            raise SourceError(f"container API at {sock} refused the connection ({exc}); is the daemon running?") from exc


def docker_containers(sock: str, runtime: str = "docker") -> list[dict[str, str]]:
    """Containers known to the Docker Engine API at unix socket ``sock``.

    Raises:
        SourceError: nobody listens there, or the answer is not the Engine API's.
    """
    _reachable(sock)
    transport = httpx.HTTPTransport(uds=sock)
    out = []
    with _api_errors(sock), httpx.Client(transport=transport, base_url="http://docker", timeout=API_TIMEOUT) as c:
        listing = c.get("/containers/json", params={"all": "1"})
        listing.raise_for_status()
        for item in listing.json():
            cid, state = str(item["Id"]), str(item.get("State", ""))
            pid = ""
            if state == "running":
                detail = c.get(f"/containers/{cid}/json")
                if detail.status_code == 404:  # removed since the listing
                    continue
                detail.raise_for_status()
                pid = str(detail.json().get("State", {}).get("Pid", "") or "")
            names = item.get("Names") or [""]
            out.append({
                "id": cid, "name": str(names[0]).lstrip("/"), "state": state,
                "image_id": str(item.get("ImageID", "")), "image_name": str(item.get("Image", "")),
                "pid": pid, "runtime": runtime, "create_time": str(int(item.get("Created", 0) or 0)),
            })  # fmt: skip
    return out


def containerd_tasks(host: Host) -> list[dict[str, str]]:
    """Running containerd tasks, from their bundle directories."""
    base = host.path(CONTAINERD_TASKS)
    out = []
    try:
        namespaces = sorted(os.listdir(base))
    except OSError:
        return []
    for ns in namespaces:
        try:
            ids = sorted(os.listdir(base / ns))
        except OSError:
            continue
        for cid in ids:
            bundle = base / ns / cid
            try:
                if (bundle / "config.json").stat().st_size > MAX_SPEC:
                    continue
                spec = json.loads((bundle / "config.json").read_text(errors="replace"))
                annotations = spec.get("annotations") or {}
                created = int((bundle / "config.json").stat().st_mtime)
            except (OSError, ValueError, AttributeError):
                continue
            try:
                pid = (bundle / "init.pid").read_text().strip()
            except OSError:
                pid = ""
            alive = pid.isdigit() and (host.proc / pid).exists()
            out.append({
                "id": cid, "name": next((annotations[k] for k in _NAME_KEYS if annotations.get(k)), ""),
                "state": "running" if alive else "stopped",
                "image_id": "", "image_name": next((annotations[k] for k in _IMAGE_KEYS if annotations.get(k)), ""),
                "pid": pid if alive else "", "runtime": f"containerd/{ns}", "create_time": str(created),
            })  # fmt: skip
    return out


def collect_containers(host: Host) -> list[dict[str, str]]:
    records: dict[str, dict[str, str]] = {}
    errors = []
    seen_sockets = set()
    for sock in host.docker_sockets:
        real = os.path.realpath(sock)
        if real in seen_sockets or not os.path.exists(sock):
            continue
        seen_sockets.add(real)
        try:
            for rec in docker_containers(sock, "podman" if "podman" in sock else "docker"):
                records.setdefault(rec["id"], rec)
        except SourceError as exc:
            log.warning("containers: %s", exc)
            errors.append(str(exc))
    for rec in containerd_tasks(host):
        records.setdefault(rec["id"], rec)
    host.container_names = {cid: r["name"] for cid, r in records.items()}
    if errors:
        raise PartialSnapshot(list(records.values()), "; ".join(errors))
    return list(records.values())
