"""Version ordering by package manager: dpkg, rpm, PEP 440, and a generic fallback.

``version_compare(scheme, a, b)`` returns -1, 0 or 1.

- ``dpkg``: python-debian's ``debian.debian_support.version_compare`` (Debian policy
  5.6.12: epoch, upstream version and revision, ``~`` before everything).
- ``rpm``: rpm's own ``rpm.ver`` when the host has rpm's Python binding
  (python3-rpm), else :func:`rpm_evr_compare`, a faithful port of rpm 4.18's
  ``parseEVR`` + ``rpmverCmp`` + ``rpmvercmp`` (``rpmio/rpmver.c``,
  ``rpmio/rpmvercmp.c``). The tests run it on rpm's own test vectors
  (``tests/rpmvercmp.at``) and against the C function in librpmio itself.
- ``pypi``: PEP 440 (``packaging.version``); a string that is not PEP 440 is
  compared with the generic rules.
- ``generic`` (npm, jar, applications): rpmvercmp's segment rules, which order
  ``1.2.10`` after ``1.2.9`` and ``1.0~rc1`` before ``1.0``.

Error handling: :class:`VersionSyntax` (a ``ValueError``) when ``a`` or ``b`` is not a
version in that scheme's syntax (only dpkg has one that can fail).
"""

from __future__ import annotations

from debian.debian_support import Version as DebianVersion
from debian.debian_support import version_compare as debian_version_compare
from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version

try:  # rpm's own binding, when the host has it (not installable from PyPI)
    import rpm as _rpm  # type: ignore[import-not-found]

    _RPM_VER = getattr(_rpm, "ver", None)
except ImportError:  # pragma: no cover - depends on the host
    _RPM_VER = None

SCHEMES = ("dpkg", "rpm", "pypi", "generic")
#: Which scheme orders the versions of each software ``type`` (5055); others use ``generic``.
SCHEME_OF_TYPE = {"dpkg": "dpkg", "rpm": "rpm", "pypi": "pypi"}


class VersionSyntax(ValueError):
    """A version string that its scheme cannot parse."""


# --- rpm -------------------------------------------------------------------------------
def _isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def _isalpha(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _isalnum(c: str) -> bool:
    return _isdigit(c) or _isalpha(c)


def _is_separator(c: str) -> bool:
    return not _isalnum(c) and c not in "~^"


def _span(s: str, i: int, pred) -> int:
    """The index after the run of characters from ``i`` on that satisfy ``pred``."""
    while i < len(s) and pred(s[i]):
        i += 1
    return i


def rpmvercmp(a: str, b: str) -> int:
    """rpm's segmented compare of one version or release string: -1, 0 or 1.

    Segments are runs of ASCII digits or ASCII letters; anything else separates
    them (and all separators are equal). Digits beat letters; numbers compare
    without leading zeros, by length then text; ``~`` sorts before anything,
    even the end of the string; ``^`` sorts after the end but before any other
    segment. A line-by-line port of rpm 4.18 ``rpmvercmp()``.
    """
    if a == b:
        return 0
    one, two, n1, n2 = 0, 0, len(a), len(b)
    at = lambda s, i, n: s[i] if i < n else ""  # noqa: E731 - the C code's *p, "" at the end

    while one < n1 or two < n2:
        one, two = _span(a, one, _is_separator), _span(b, two, _is_separator)
        c1, c2 = at(a, one, n1), at(b, two, n2)
        # Tilde: sorts before everything else.
        if c1 == "~" or c2 == "~":
            if c1 != "~":
                return 1
            if c2 != "~":
                return -1
            one, two = one + 1, two + 1
            continue
        # Caret: like tilde, except that the end of a string (the base version) sorts lower.
        if c1 == "^" or c2 == "^":
            if not c1:
                return -1
            if not c2:
                return 1
            if c1 != "^":
                return 1
            if c2 != "^":
                return -1
            one, two = one + 1, two + 1
            continue
        if not (c1 and c2):
            break
        isnum = _isdigit(c1)
        kind = _isdigit if isnum else _isalpha
        end1, end2 = _span(a, one, kind), _span(b, two, kind)
        if end1 == one:  # cannot happen: the first string has a segment here
            return -1
        if end2 == two:  # different kinds of segment: numbers are newer than letters
            return 1 if isnum else -1
        seg1, seg2 = a[one:end1], b[two:end2]
        if isnum:
            seg1, seg2 = seg1.lstrip("0"), seg2.lstrip("0")
            if len(seg1) != len(seg2):
                return 1 if len(seg1) > len(seg2) else -1
        if seg1 != seg2:
            return 1 if seg1 > seg2 else -1
        one, two = end1, end2
    if one >= n1 and two >= n2:
        return 0
    return -1 if one >= n1 else 1


def parse_evr(evr: str) -> tuple[str | None, str, str | None]:
    """(epoch, version, release) as rpm's ``parseEVR`` splits ``[epoch:]version[-release]``.

    The epoch is the leading digits when a ``:`` follows them (empty -> "0");
    the release is what follows the last ``-`` after the epoch.
    """
    s = 0
    while s < len(evr) and _isdigit(evr[s]):
        s += 1
    dash = evr.rfind("-", s)
    if s < len(evr) and evr[s] == ":":
        epoch, version_start = (evr[:s] or "0"), s + 1
    else:
        epoch, version_start = None, 0
    if dash >= 0:
        return epoch, evr[version_start:dash], evr[dash + 1 :]
    return epoch, evr[version_start:], None


def rpm_evr_compare(a: str, b: str) -> int:
    """Order two ``[epoch:]version[-release]`` strings as rpm does (``rpmverCmp``).

    A missing epoch counts as 0; with equal versions, a missing release sorts
    before any release (``1.0`` < ``1.0-1``).
    """
    e1, v1, r1 = parse_evr(a)
    e2, v2, r2 = parse_evr(b)
    return rpmvercmp(e1 or "0", e2 or "0") or rpmvercmp(v1, v2) or _compare_values(r1, r2)


def _compare_values(r1: str | None, r2: str | None) -> int:
    if r1 is None or r2 is None:
        return (r1 is not None) - (r2 is not None)
    return rpmvercmp(r1, r2)


def _rpm_compare(a: str, b: str) -> int:
    if _RPM_VER is not None and a and b:
        va, vb = _RPM_VER(a), _RPM_VER(b)
        return (va > vb) - (va < vb)
    return rpm_evr_compare(a, b)


# --- dpkg, PEP 440 ----------------------------------------------------------------------
def _debian(text: str) -> DebianVersion:
    try:
        return DebianVersion(text)
    except ValueError as exc:
        raise VersionSyntax(f"{text[:80]!r} is not a Debian version ([epoch:]upstream[-revision])") from exc


def _pep440_compare(a: str, b: str) -> int:
    try:
        va, vb = Pep440Version(a), Pep440Version(b)
    except InvalidVersion:
        return rpmvercmp(a, b)
    return (va > vb) - (va < vb)


def version_compare(scheme: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` in ``scheme`` (see the module docstring).

    Raises:
        VersionSyntax: ``a`` or ``b`` is not a version of that scheme (dpkg only).
        ValueError: ``scheme`` is unknown.
    """
    if scheme == "dpkg":
        try:
            return debian_version_compare(a, b)
        except ValueError:
            _debian(a), _debian(b)  # which one, said by VersionSyntax
            raise
    if scheme == "rpm":
        return _rpm_compare(a, b)
    if scheme == "pypi":
        return _pep440_compare(a, b)
    if scheme == "generic":
        return rpmvercmp(a, b)
    raise ValueError(f"unknown version scheme {scheme!r}; known: {', '.join(SCHEMES)}")


def check_version(scheme: str, text: str) -> None:
    """Raises VersionSyntax if ``text`` cannot be ordered in ``scheme``."""
    if scheme == "dpkg":
        _debian(text)


def scheme_for(software_type: str) -> str:
    """The scheme ordering versions of a 5055 ``type`` (dpkg, rpm, pypi; anything else generic)."""
    return SCHEME_OF_TYPE.get(software_type, "generic")
