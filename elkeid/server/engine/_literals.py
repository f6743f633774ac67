"""Literals a regex cannot match without: a cheap test to run before the regex.

``required_literals("(curl|wget)[^|]*\\|\\s*sh")`` is ``{"curl", "wget"}``: any
text the regex matches contains one of them. ``"curl" in v or "wget" in v``
costs ~0.1 µs where the regex search costs ~1.5 µs on a typical command line,
and most command lines contain neither, so the compiler puts the test first.

The analysis reads the pattern with Python's own regex parser (``re._parser``,
internal but stable since 3.11); anything it does not understand yields no
literals, which only means no prefilter. Under IGNORECASE the literals are
lower-cased and tested against text folded by :func:`fold`, which maps the few
non-ASCII characters the ``re`` module matches to ASCII letters (``İ ı`` to
``i``, ``ſ`` to ``s``); literals with non-ASCII characters give no prefilter.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

#: More alternatives than this and the prefilter costs about what the regex does.
MAX_LITERALS = 12

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


def required_literals(pattern: str, flags: int = 0) -> tuple[tuple[str, ...], bool] | None:
    """``(literals, folded)``: every match contains one of ``literals`` (lower-cased and to be
    tested against :func:`fold` ed text when ``folded``), or None when no such set is known."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    folded = bool(parsed.state.flags & re.IGNORECASE)
    try:
        found = _sequence(list(parsed))
    except RecursionError:
        return None
    if not found or "" in found or len(found) > MAX_LITERALS:
        return None
    if folded:
        if not all(lit.isascii() for lit in found):
            return None
        found = {lit.lower() for lit in found}
    # "a" or "xab": every text holding "xab" holds "a", so "a" alone is the same test
    minimal = {lit for lit in found if not any(other != lit and other in lit for other in found)}
    return tuple(sorted(minimal, key=lambda s: (-len(s), s))), folded


def fold(text: str) -> str:
    """Lower-case ``text`` the way IGNORECASE regexes see ASCII letters."""
    return text.lower().replace("\u0307", "").replace("ı", "i").replace("ſ", "s")


def _sequence(items: list) -> set[str] | None:
    """The most selective requirement of a sequence: its longest literal run or a required group."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        found = _node(op, av)
        if found:
            candidates.append(found)
    if run:
        candidates.append({"".join(run)})
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _node(op, av) -> set[str] | None:  # noqa: ANN001 - re._parser's tuples
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        return None if add_flags or del_flags else _sequence(list(sub))
    if op is sre.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            found = _sequence(list(branch))
            if not found:
                return None
            union |= found
        return union
    if op in _REPEATS:
        low, _high, sub = av
        return _sequence(list(sub)) if low >= 1 else None
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av))
    return None
