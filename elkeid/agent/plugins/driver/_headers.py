"""Which kernel headers bcc compiles the probes against, and why that is safe.

In order of preference:

1. ``BCC_KERNEL_SOURCE`` already set by the operator (kind ``override``).
2. ``/lib/modules/$(uname -r)/build``: the running kernel's own headers (kind
   ``running-kernel``); bcc finds them itself. If their ``kernel.release``
   differs from ``uname -r``, a warning says so.
3. ``/sys/kernel/kheaders.tar.xz`` (CONFIG_IKHEADERS): bcc unpacks it itself.
4. Debian's ``linux-headers-<version>-common`` plus ``linux-headers-<version>-<arch>``
   under ``/usr/src`` (kind ``debian``), newest version first. bcc wants one folder
   holding both trees, so a tree of symbolic links is built once in the cache
   folder. These headers are for another kernel: the probes read only tracepoint
   arguments and BPF helper results, never kernel struct offsets, so they stay
   correct; the warning says so.

None of these: :class:`HeadersUnavailable`, whose message says what to install.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import HeadersUnavailable

#: Debian's header flavour for each machine architecture.
_FLAVOUR = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armmp", "ppc64le": "powerpc64le",
            "s390x": "s390x", "i686": "686", "riscv64": "riscv64"}  # fmt: skip
_STAMP = ".elkeid-sources"


@dataclass(frozen=True)
class HeaderSet:
    """Headers chosen for bcc.

    ``source`` goes into ``BCC_KERNEL_SOURCE`` (None: bcc finds them itself);
    ``warning`` is empty when the headers match the running kernel.
    """

    kind: str
    version: str
    source: Path | None = None
    warning: str = ""

    def describe(self) -> str:
        return f"{self.kind}:{self.version}"


def _version_key(text: str) -> list:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def _release_of(tree: Path) -> str:
    for rel in ("include/config/kernel.release", "include/generated/utsrelease.h"):
        try:
            text = (tree / rel).read_text().strip()
        except OSError:
            continue
        m = re.search(r'"([^"]+)"', text)
        return m.group(1) if m else text
    return ""


def _debian_pairs(src_root: Path, machine: str) -> list[tuple[str, Path, Path]]:
    """(version-flavour, common tree, flavour tree) pairs, newest first."""
    flavour = _FLAVOUR.get(machine, machine)
    pairs = []
    try:
        entries = sorted(p.name for p in src_root.iterdir())
    except OSError:
        return []
    for name in entries:
        m = re.fullmatch(r"linux-headers-(\d[^/]*?)-((?:[a-z]+-)?" + re.escape(flavour) + ")", name)
        if not m:
            continue
        common = src_root / f"linux-headers-{m.group(1)}-common"
        tree = src_root / name
        if common.is_dir() and (tree / "include").is_dir():
            # a plain flavour (amd64) before cloud-amd64 or rt-amd64
            plain = m.group(2) == flavour
            pairs.append((m.group(1), plain, f"{m.group(1)}-{m.group(2)}", common, tree))
    pairs.sort(key=lambda p: (_version_key(p[0]), p[1]), reverse=True)
    return [(label, common, tree) for _v, _plain, label, common, tree in pairs]


def _link_tree(dest: Path, sources: list[Path]) -> None:
    """A tree of symbolic links at ``dest`` merging ``sources`` (later ones win)."""
    stamp = "\n".join(str(s) for s in sources)
    try:
        if (dest / _STAMP).read_text() == stamp:
            return
    except OSError:
        pass
    tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for src in sources:
        for root, dirs, files in os.walk(src):
            rel = Path(root).relative_to(src)
            out = tmp / rel
            out.mkdir(parents=True, exist_ok=True)
            # symlinked folders are linked as a whole rather than walked
            linked = [d for d in dirs if (Path(root) / d).is_symlink()]
            dirs[:] = [d for d in dirs if d not in linked]
            for name in files + linked:
                target = out / name
                if target.is_symlink() or target.is_file():
                    target.unlink()
                elif target.is_dir():
                    shutil.rmtree(target)
                target.symlink_to(Path(root) / name)
    (tmp / _STAMP).write_text(stamp)
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(dest)


def find_headers(
    release: str | None = None,
    *,
    modules_root: Path = Path("/lib/modules"),
    src_root: Path = Path("/usr/src"),
    cache_dir: Path = Path("/var/cache/elkeid/kernel-headers"),
    kheaders: Path = Path("/sys/kernel/kheaders.tar.xz"),
    environ: dict[str, str] | None = None,
    machine: str | None = None,
) -> HeaderSet:
    """Choose the header set for bcc (see the module docstring for the order).

    Raises:
        HeadersUnavailable: nothing usable was found; the message says what to install.
    """
    release = release or platform.release()
    environ = os.environ if environ is None else environ
    machine = machine or platform.machine()

    override = environ.get("BCC_KERNEL_SOURCE", "")
    if override:
        if not (Path(override) / "include").is_dir():
            raise HeadersUnavailable(f"BCC_KERNEL_SOURCE={override} has no include/ folder; unset it or fix the path")
        found = _release_of(Path(override)) or "unknown"
        warning = "" if found == release else _mismatch(found, release)
        return HeaderSet("override", found, Path(override), warning)

    build = modules_root / release / "build"
    if (build / "include").is_dir():
        found = _release_of(build) or release
        warning = "" if found == release else _mismatch(found, release)
        return HeaderSet("running-kernel", found, None, warning)

    if kheaders.exists():
        return HeaderSet("kheaders", release)

    pairs = _debian_pairs(src_root, machine)
    if pairs:
        label, common, tree = pairs[0]
        dest = cache_dir / label
        try:
            _link_tree(dest, [common, tree])
        except OSError as exc:
            raise HeadersUnavailable(f"cannot build the merged header tree for {label} in {cache_dir}: {exc}") from exc
        return HeaderSet("debian", label, dest, _mismatch(label, release))

    flavour = _FLAVOUR.get(machine, machine)
    raise HeadersUnavailable(
        f"no kernel headers for {release}: {build} does not exist, the kernel has no "
        f"/sys/kernel/kheaders.tar.xz, and {src_root} holds no linux-headers-*-common with "
        f"linux-headers-*-{flavour}; install linux-headers-{release} (or linux-headers-{flavour})"
    )


def _mismatch(found: str, running: str) -> str:
    return (
        f"kernel headers are for {found}, the running kernel is {running}: the probes read only "
        "tracepoint arguments and BPF helper results, never kernel struct offsets, so they stay correct"
    )
