"""Java archives of running JVMs: what libraries (and versions) each Java process has loaded.

For every process whose executable is ``java``, the archives it holds open and
those named on its command line (``-jar``, ``-cp``/``-classpath``/``--class-path``)
are opened through /proc/PID/root (so jars inside containers are read from the
container's file system). Each archive yields:

- one entry per ``META-INF/maven/GROUP/ARTIFACT/pom.properties`` (shaded jars
  hold many): name = artifactId, version, vendor = groupId;
- else one from ``META-INF/MANIFEST.MF`` (Implementation-Title/-Version, or
  Bundle-SymbolicName/Bundle-Version);
- else one from the file name (``name-1.2.3.jar``);
- plus one per nested library of a fat jar (``BOOT-INF/lib/*.jar``,
  ``WEB-INF/lib/*.jar``), from its file name, with path ``outer.jar!/BOOT-INF/lib/x.jar``.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass

from ._host import Host, pids
from ._proc import open_files, read_argv, readlink

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear")
MAX_ENTRIES_PER_ARCHIVE = 2000
MAX_MEMBER = 1 << 20  # pom.properties and MANIFEST.MF are tiny; a huge one is a zip bomb
_NAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d.*)$")  # version: from the first "-digit"
_NESTED = re.compile(r"^(?:BOOT-INF|WEB-INF)/lib/([^/]+\.jar)$")
_POM = re.compile(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$")


@dataclass
class JarEntry:
    name: str
    version: str
    vendor: str
    path: str
    pid: int


def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and line[0] not in "#!":
            k, sep, v = line.partition("=")
            if sep:
                out[k.strip()] = v.strip()
    return out


def _manifest(text: str) -> dict[str, str]:
    out, key = {}, None
    for line in text.splitlines():
        if line.startswith(" ") and key:
            out[key] += line[1:]
            continue
        k, sep, v = line.partition(":")
        if sep:
            key = k.strip()
            out[key] = v.strip()
    return out


def _from_filename(filename: str) -> tuple[str, str]:
    stem = filename.rsplit("/", 1)[-1]
    for suffix in ARCHIVE_SUFFIXES:
        stem = stem.removesuffix(suffix)
    m = _NAME_VERSION.match(stem)
    return (m.group("name"), m.group("version")) if m else (stem, "")


def _read_member(zf: zipfile.ZipFile, name: str) -> str:
    info = zf.getinfo(name)
    if info.file_size > MAX_MEMBER:
        raise ValueError(f"{name} claims {info.file_size} bytes")
    with zf.open(info) as f:
        return f.read(MAX_MEMBER).decode(errors="replace")


def read_archive(real_path: str, shown_path: str, pid: int) -> list[JarEntry]:
    """Entries of one archive (opened at ``real_path``, reported as ``shown_path``)."""
    try:
        zf = zipfile.ZipFile(real_path)
    except (OSError, zipfile.BadZipFile, ValueError):
        return []
    out: list[JarEntry] = []
    with zf:
        names = zf.namelist()
        for n in names:
            if _POM.match(n) and len(out) < MAX_ENTRIES_PER_ARCHIVE:
                try:
                    props = _properties(_read_member(zf, n))
                except (OSError, zipfile.BadZipFile, ValueError, RuntimeError):
                    continue
                if props.get("artifactId"):
                    out.append(JarEntry(props["artifactId"], props.get("version", ""), props.get("groupId", ""), shown_path, pid))
        if not out:
            try:
                mf = _manifest(_read_member(zf, "META-INF/MANIFEST.MF"))
            except (KeyError, OSError, zipfile.BadZipFile, ValueError, RuntimeError):
                mf = {}
            title = mf.get("Implementation-Title") or mf.get("Bundle-SymbolicName", "").split(";")[0]
            version = mf.get("Implementation-Version") or mf.get("Bundle-Version", "")
            vendor = mf.get("Implementation-Vendor") or mf.get("Bundle-Vendor", "")
            if not title:
                title, fn_version = _from_filename(shown_path)
                version = version or fn_version
            out.append(JarEntry(title, version, vendor, shown_path, pid))
        for n in names:
            m = _NESTED.match(n)
            if m and len(out) < MAX_ENTRIES_PER_ARCHIVE:
                name, version = _from_filename(m.group(1))
                out.append(JarEntry(name, version, "", f"{shown_path}!/{n}", pid))
    return out


def _classpath(argv: list[str], cwd: str) -> list[str]:
    paths: list[str] = []
    it = iter(range(len(argv)))
    for i in it:
        a = argv[i]
        if a in ("-jar", "-cp", "-classpath", "--class-path") and i + 1 < len(argv):
            paths += argv[i + 1].split(":")
            next(it, None)
        elif a.startswith("--class-path="):
            paths += a.split("=", 1)[1].split(":")
    out = []
    for p in paths:
        if p.endswith(ARCHIVE_SUFFIXES):
            out.append(p if p.startswith("/") else os.path.normpath(os.path.join(cwd, p)))
    return out


def java_archives(host: Host) -> list[JarEntry]:
    """Entries of every archive of every running JVM (each archive read once)."""
    seen: set[tuple[str, str]] = set()
    out: list[JarEntry] = []
    for pid in pids(host):
        exe = readlink(host.proc / str(pid) / "exe")
        if os.path.basename(exe.removesuffix(" (deleted)")) != "java":
            continue
        root = host.proc / str(pid) / "root"
        cwd = readlink(host.proc / str(pid) / "cwd")
        archives = [p for p in open_files(host, pid) if p.endswith(ARCHIVE_SUFFIXES)]
        archives += _classpath(read_argv(host, pid), cwd)
        mnt = readlink(host.proc / str(pid) / "ns" / "mnt")
        for path in dict.fromkeys(archives):
            if (mnt, path) in seen:
                continue
            seen.add((mnt, path))
            out += read_archive(str(root) + path, path, pid)
    return out
