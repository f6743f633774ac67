"""The RPM database: installed packages from rpmdb.sqlite, or from the ``rpm`` binary.

RHEL/Rocky 9, Fedora and SUSE keep an SQLite database whose ``Packages``
table holds one RPM header blob per package; we read it directly (no rpm
needed, no subprocess). Older hosts (RHEL 7/8: Berkeley DB ``Packages``, SUSE:
``Packages.db``) can only be read through their own ``rpm`` binary, used when
installed (``rpm --dbpath DIR -qa --qf ...``); without it they are reported as
unreadable (:class:`SourceError`).

A header blob (rpm's headerImport format) is: il and dl (big-endian int32),
il index entries (tag, type, offset, count: 4 x big-endian int32), then dl
bytes of data the entries point into.

Error handling: a corrupt blob is skipped (counted in :attr:`RpmPackages.skipped`);
an unreadable database raises :class:`SourceError`.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ._host import sqlite_rows
from .errors import SourceError

DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
NAME, VERSION, RELEASE, EPOCH, VENDOR, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1011, 1022, 1044
_STRING, _INT32, _STRING_ARRAY, _I18NSTRING = 6, 4, 8, 9
_HEAD = struct.Struct(">ii")
_ENTRY = struct.Struct(">iIiI")
_MAX_ENTRIES = 1 << 16
_QUERY_FORMAT = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{SOURCERPM}\\n"


class HeaderError(ValueError):
    """An RPM header blob that does not parse."""


@dataclass
class RpmPackage:
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    vendor: str
    sourcerpm: str

    @property
    def evr(self) -> str:
        """``[epoch:]version-release``, rpm's own spelling of a package version."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


@dataclass
class RpmPackages:
    packages: list[RpmPackage] = field(default_factory=list)
    skipped: int = 0
    source: str = ""


def parse_header(blob: bytes) -> dict[int, str]:
    """The string and int32 tags of one header blob (first value of arrays)."""
    if len(blob) < _HEAD.size:
        raise HeaderError(f"header blob of {len(blob)} bytes is too short")
    il, dl = _HEAD.unpack_from(blob)
    start = _HEAD.size + il * _ENTRY.size
    if not (0 < il <= _MAX_ENTRIES) or dl < 0 or start + dl > len(blob):
        raise HeaderError(f"header claims {il} entries and {dl} data bytes in a {len(blob)}-byte blob")
    data = blob[start : start + dl]
    out: dict[int, str] = {}
    for i in range(il):
        tag, typ, offset, count = _ENTRY.unpack_from(blob, _HEAD.size + i * _ENTRY.size)
        if tag not in (NAME, VERSION, RELEASE, EPOCH, VENDOR, ARCH, SOURCERPM):
            continue
        if not 0 <= offset < len(data):
            raise HeaderError(f"tag {tag} points at offset {offset} outside {len(data)} data bytes")
        if typ in (_STRING, _STRING_ARRAY, _I18NSTRING):
            end = data.find(b"\0", offset)
            if end < 0:
                raise HeaderError(f"tag {tag}: string not terminated")
            out[tag] = data[offset:end].decode(errors="replace")
        elif typ == _INT32 and count >= 1 and offset + 4 <= len(data):
            out[tag] = str(struct.unpack_from(">i", data, offset)[0])
    if NAME not in out:
        raise HeaderError("header has no NAME tag")
    return out


def _package(tags: dict[int, str]) -> RpmPackage:
    return RpmPackage(tags.get(NAME, ""), tags.get(EPOCH, ""), tags.get(VERSION, ""), tags.get(RELEASE, ""),
                      tags.get(ARCH, ""), tags.get(VENDOR, ""), tags.get(SOURCERPM, ""))  # fmt: skip


def read_sqlite(path: Path) -> RpmPackages:
    """Packages of the rpmdb.sqlite file at ``path``."""
    result = RpmPackages(source=str(path))
    try:
        rows = sqlite_rows(path, "SELECT blob FROM Packages")
    except sqlite3.Error as exc:
        raise SourceError(f"cannot read the RPM database {path}: {exc}") from exc
    for (blob,) in rows:
        try:
            result.packages.append(_package(parse_header(bytes(blob))))
        except HeaderError:
            result.skipped += 1
    return result


def read_with_rpm(dbpath: Path, rpm: str = "rpm") -> RpmPackages:
    """Packages of the database in ``dbpath``, listed by the host's ``rpm`` binary."""
    binary = shutil.which(rpm)
    if binary is None:
        raise SourceError(f"the RPM database in {dbpath} needs the rpm binary to be read, and none is installed")
    try:
        out = subprocess.run([binary, "--dbpath", str(dbpath), "-qa", "--qf", _QUERY_FORMAT],
                             capture_output=True, timeout=300, check=True)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        raise SourceError(f"rpm --dbpath {dbpath} -qa failed: {exc}") from exc
    result = RpmPackages(source=f"{binary} --dbpath {dbpath}")
    for line in out.stdout.decode(errors="replace").splitlines():
        parts = [("" if p == "(none)" else p) for p in line.split("\t")]
        if len(parts) == 7 and parts[0]:
            result.packages.append(RpmPackage(*parts))
        else:
            result.skipped += 1
    return result


def find_database(root: Path) -> tuple[str, Path] | None:
    """("sqlite", file) or ("legacy", dir) for the host under ``root``; None without RPM."""
    for d in DB_DIRS:
        folder = root / d.lstrip("/")
        if (folder / "rpmdb.sqlite").is_file():
            return "sqlite", folder / "rpmdb.sqlite"
        if (folder / "Packages").is_file() or (folder / "Packages.db").is_file():
            return "legacy", folder
    return None
