"""How the console shows each asset type: its tab, its columns, and how a value reads.

One :class:`AssetView` per inventory type (the collector's, ``docs/assets.md``),
declared once here and used by the host page's tabs, the fleet search page and
the change feeds. Values are turned into display text by :func:`cell` (pure), so
templates only print text (autoescaped) and never decide a format.

Field filters are typed by people as ``NAME=VALUE`` or ``NAME.OP=VALUE`` (the
API's ``field.NAME[.OP]=VALUE`` without the prefix); :func:`parse_terms` splits
them, and the API route checks names, operators and values (its 400 is shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from elkeid import datatypes

from . import _format
from .errors import BadForm

#: Most filter terms a page takes (the API's limit too).
MAX_TERMS = 8
MAX_TERM = 1100
#: Characters of a long value (a command line) shown before it is cut (the rest is in the title).
LONG_TEXT = 300
_PROTOCOLS = {"6": "tcp", "17": "udp"}
_FAMILIES = {"2": "IPv4", "10": "IPv6"}


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    kind: str = "text"  # text, code (long text, cut), when (unix seconds), size (bytes), percent, protocol, family


@dataclass(frozen=True)
class AssetView:
    tab: str  # the host page's tab key
    data_type: int
    title: str
    columns: tuple[Column, ...]
    example: str  # a filter shown as the box's placeholder

    @property
    def name(self) -> str:
        """The type's name as the API knows it (``listen_port``)."""
        return datatypes.get(self.data_type).name

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a filter may name (the declared ones, ``package_seq`` left out)."""
        return tuple(f for f in datatypes.get(self.data_type).fields if f != "package_seq")


def _cols(spec: str) -> tuple[Column, ...]:
    """``"pid cmdline:code start_time:when"`` -> columns labelled by their field names."""
    out = []
    for word in spec.split():
        name, _, kind = word.partition(":")
        out.append(Column(name, name.replace("_", " "), kind or "text"))
    return tuple(out)


VIEWS: tuple[AssetView, ...] = (
    AssetView("processes", datatypes.ASSET_PROCESS, "Processes",
              _cols("pid ppid username exe cmdline:code start_time:when container_name"), "cmdline.contains=nginx"),
    AssetView("ports", datatypes.ASSET_LISTEN_PORT, "Listening ports",
              _cols("protocol:protocol family:family sip sport comm pid username cmdline:code container_id"),
              "sport=6379"),
    AssetView("users", datatypes.ASSET_USER, "Users",
              _cols("username uid gid groupname home shell password_status weak_password sudoers:code "
                    "last_login_time:when last_login_ip"), "uid=0"),
    AssetView("cron", datatypes.ASSET_CRON, "Cron", _cols("username schedule command:code path"),
              "command.contains=curl"),
    AssetView("services", datatypes.ASSET_SERVICE, "Services", _cols("name type user command:code restart path"),
              "name.contains=ssh"),
    AssetView("software", datatypes.ASSET_SOFTWARE, "Software",
              _cols("name sversion type arch vendor source path"), "name=openssl"),
    AssetView("containers", datatypes.ASSET_CONTAINER, "Containers",
              _cols("name id state image_name runtime pid create_time:when"), "state=running"),
    AssetView("kernel-modules", datatypes.ASSET_KMOD, "Kernel modules",
              _cols("name size:size refcount used_by state"), "name.contains=nf_"),
    AssetView("applications", datatypes.ASSET_APP, "Applications",
              _cols("name type sversion exe conf pid container_id"), "name=redis"),
    AssetView("interfaces", datatypes.ASSET_NIC, "Network interfaces",
              _cols("name hardware_addr addrs mtu state"), "state=up"),
    AssetView("volumes", datatypes.ASSET_VOLUME, "Volumes",
              _cols("mount_point fstype device total:size used:size usage:percent"), "usage.gt=0.9"),
)  # fmt: skip
BY_TAB = {v.tab: v for v in VIEWS}
BY_TYPE = {v.data_type: v for v in VIEWS}
BY_NAME = {v.name: v for v in VIEWS}


def view_for(text: str) -> AssetView | None:
    """The view named by its tab key (``ports``), API name (``listen_port``) or number (``5051``)."""
    if text in BY_TAB:
        return BY_TAB[text]
    if text in BY_NAME:
        return BY_NAME[text]
    return BY_TYPE.get(int(text)) if text.isdigit() and len(text) < 6 else None


def cell(value: Any, kind: str) -> str:
    """A field's display text ("—" when empty)."""
    if value in (None, ""):
        return "—"
    text = str(value)
    if kind == "when":
        return _format.when(text)
    if kind == "size":
        return _format.size(text)
    if kind == "percent":
        return _format.percent(text)
    if kind == "protocol":
        return _PROTOCOLS.get(text, text)
    if kind == "family":
        return _FAMILIES.get(text, text)
    return text


def _cut(text: str) -> str:
    """``text``, cut to LONG_TEXT characters with "…" when longer."""
    return text if len(text) <= LONG_TEXT else text[:LONG_TEXT] + "…"


def row_cells(view: AssetView, fields: Mapping[str, Any]) -> list[tuple[Column, str, str]]:
    """(column, display text, full text) per column; long text is cut for the table, kept whole in the title."""
    out = []
    for col in view.columns:
        full = cell(fields.get(col.field), col.kind)
        out.append((col, _cut(full), full))
    return out


def label_of(key: Mapping[str, str]) -> str:
    """One line naming an item by its identity key (``protocol=6 family=2 sip=0.0.0.0 sport=22``), cut to a line."""
    return _cut(" ".join(f"{k}={v}" for k, v in key.items()))


def summary(view: AssetView | None, fields: Mapping[str, str] | None, key: Mapping[str, str]) -> list[tuple[str, str]]:
    """(label, text) of an added or removed item's other columns (not its key), the non-empty ones, at most 6."""
    if view is None or not fields:
        return []
    out = []
    for col, shown, _full in row_cells(view, fields):
        if col.field not in key and shown != "—":
            out.append((col.label, shown))
    return out[:6]


def differences(before: Mapping[str, str] | None, after: Mapping[str, str] | None) -> list[tuple[str, str, str]]:
    """(field, before, after) for each field a ``changed`` entry altered (package_seq left out)."""
    if not before or not after:
        return []
    names = sorted((set(before) | set(after)) - {"package_seq"})
    return [(n, before.get(n, ""), after.get(n, "")) for n in names if before.get(n, "") != after.get(n, "")]


def parse_terms(terms: Iterable[str]) -> list[tuple[str, str]]:
    """``["sport=6379", "sversion.lt=3.0"]`` -> ``[("sport", "6379"), ("sversion.lt", "3.0")]``; blanks skipped.

    Raises:
        BadForm: a term without ``=`` or a name, more than MAX_TERMS, or an overlong one.
    """
    out = []
    for raw in terms:
        term = raw.strip()
        if not term:
            continue
        if len(term) > MAX_TERM:
            raise BadForm(f"the filter {term[:40]!r}… is longer than {MAX_TERM} characters")
        name, eq, value = term.partition("=")
        name = name.strip()
        if not eq or not name:
            raise BadForm(f"the filter {term[:80]!r} must read NAME=VALUE or NAME.OP=VALUE (e.g. sport=6379, "
                          "name.contains=ssl, sversion.lt=3.0)")  # fmt: skip
        out.append((name, value.strip()))
    if len(out) > MAX_TERMS:
        raise BadForm(f"{len(out)} filters given; at most {MAX_TERMS}")
    return out
