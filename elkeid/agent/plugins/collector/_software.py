"""5055 software: dpkg and rpm packages, Python distributions, global npm packages, jars of JVMs.

``type`` says where an entry comes from: ``dpkg`` (/var/lib/dpkg/status,
python-debian's parser), ``rpm`` (see :mod:`._rpmdb`), ``pypi`` (every
``*.dist-info``/``*.egg-info`` in the system's site directories and in the
virtual environments of running Python processes, through importlib.metadata),
``npm`` (global node_modules) and ``jar`` (see :mod:`._jars`).

``sversion`` is the package manager's own version text (dpkg ``epoch:upstream-revision``,
rpm ``epoch:version-release``) so the server can order it with the right rules;
``path`` is where a pypi/npm/jar entry lives (its site directory, package
directory or archive), empty for dpkg/rpm; ``pid`` is the JVM holding a jar.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from importlib import metadata
from pathlib import Path

from debian.deb822 import Deb822

from . import _rpmdb
from ._host import Host, pids
from ._jars import java_archives
from ._proc import environ, read_argv, readlink
from .errors import PartialSnapshot, SourceError

log = logging.getLogger(__name__)

SITE_GLOBS = (
    "/usr/lib/python3/dist-packages",
    "/usr/lib/python3*/site-packages",
    "/usr/lib64/python3*/site-packages",
    "/usr/local/lib/python3*/dist-packages",
    "/usr/local/lib/python3*/site-packages",
)
NPM_GLOBS = ("/usr/lib/node_modules", "/usr/local/lib/node_modules")
_GONE = ("not-installed", "config-files")


def _record(name: str, version: str, kind: str, *, source: str = "", status: str = "installed",
            vendor: str = "", path: str = "", arch: str = "", pid: str = "") -> dict[str, str]:  # fmt: skip
    return {"name": name, "sversion": version, "type": kind, "source": source, "status": status,
            "vendor": vendor, "path": path, "arch": arch, "pid": pid}  # fmt: skip


def dpkg_packages(host: Host) -> list[dict[str, str]]:
    try:
        f = host.path("/var/lib/dpkg/status").open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SourceError(f"cannot read /var/lib/dpkg/status: {exc}") from exc
    out = []
    with f:
        for p in Deb822.iter_paragraphs(f, use_apt_pkg=False):
            name, status = p.get("Package", ""), p.get("Status", "").split()
            state = status[-1] if status else ""
            if not name or state in _GONE:
                continue
            source = p.get("Source", name).split(" ", 1)[0]
            out.append(_record(name, p.get("Version", ""), "dpkg", source=source, status=state,
                               vendor=p.get("Maintainer", ""), arch=p.get("Architecture", "")))  # fmt: skip
    return out


def rpm_packages(host: Host) -> list[dict[str, str]]:
    found = _rpmdb.find_database(host.root)
    if found is None:
        return []
    kind, where = found
    result = _rpmdb.read_sqlite(where) if kind == "sqlite" else _rpmdb.read_with_rpm(where)
    if result.skipped:
        log.warning("%s: skipped %d unreadable package headers", result.source, result.skipped)
    return [_record(p.name, p.evr, "rpm", source=p.sourcerpm, vendor=p.vendor, arch=p.arch) for p in result.packages]


def _venv_sites(host: Host) -> list[str]:
    """Site directories of virtual environments that running Python processes use."""
    prefixes = set()
    for pid in pids(host):
        exe = os.path.basename(readlink(host.proc / str(pid) / "exe"))
        if not exe.startswith("python"):
            continue
        argv = read_argv(host, pid)
        candidates = [environ(host, pid).get("VIRTUAL_ENV", "")]
        if argv and "/" in argv[0]:
            cwd = readlink(host.proc / str(pid) / "cwd")
            candidates.append(os.path.dirname(os.path.dirname(os.path.normpath(os.path.join(cwd, argv[0])))))
        for prefix in candidates:
            if prefix and host.path(f"{prefix}/pyvenv.cfg").is_file():
                prefixes.add(prefix)
    sites = []
    for prefix in sorted(prefixes):
        sites += [str(Path(p)) for p in glob.glob(str(host.path(f"{prefix}/lib/python3*/site-packages")))]
    return [("/" + os.path.relpath(s, host.root)) if host.root != Path("/") else s for s in sites]


def python_packages(host: Host) -> list[dict[str, str]]:
    sites = []
    for pattern in SITE_GLOBS:
        sites += ["/" + os.path.relpath(p, host.root) for p in sorted(glob.glob(str(host.path(pattern))))]
    sites += _venv_sites(host)
    out = []
    for site in dict.fromkeys(sites):
        for dist in metadata.distributions(path=[str(host.path(site))]):
            name = dist.metadata["Name"] if dist.metadata else None
            if not name:
                continue
            out.append(_record(name, dist.version or "", "pypi", vendor=dist.metadata.get("Author") or "", path=site))
    return out


def npm_packages(host: Host) -> list[dict[str, str]]:
    out = []
    for base in NPM_GLOBS:
        for manifest in sorted(glob.glob(str(host.path(base)) + "/*/package.json") +
                               glob.glob(str(host.path(base)) + "/@*/*/package.json")):  # fmt: skip
            try:
                meta = json.loads(Path(manifest).read_text(errors="replace"))
            except (OSError, ValueError):
                continue
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                path = "/" + os.path.relpath(os.path.dirname(manifest), host.root)
                author = meta.get("author")
                vendor = author.get("name", "") if isinstance(author, dict) else str(author or "")
                out.append(_record(meta["name"], str(meta.get("version", "")), "npm", vendor=vendor, path=path))
    return out


def jar_packages(host: Host) -> list[dict[str, str]]:
    return [_record(e.name, e.version, "jar", vendor=e.vendor, path=e.path, pid=str(e.pid)) for e in java_archives(host)]


SOURCES = (dpkg_packages, rpm_packages, python_packages, npm_packages, jar_packages)


def collect_software(host: Host) -> list[dict[str, str]]:
    """Every source's entries.

    Raises:
        PartialSnapshot: a source failed (the message says which); it holds the others' entries.
    """
    records, errors = [], []
    for source in SOURCES:
        try:
            records += source(host)
        except SourceError as exc:
            log.warning("software: %s", exc)
            errors.append(str(exc))
    if errors:
        raise PartialSnapshot(records, "; ".join(errors))
    return records
