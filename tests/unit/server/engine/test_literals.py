"""Literal prefilters: every text a regex matches contains one of its required literals."""

from __future__ import annotations

import re

import pytest

from elkeid.server.engine._literals import fold, required_literals


@pytest.mark.parametrize("pattern,flags,expected", [
    (r"(release_agent|notify_on_release)", 0, (("notify_on_release", "release_agent"), False)),
    (r"authorized_keys2?", 0, (("authorized_keys",), False)),
    (r"\b(curl|wget|fetch)\b[^|;]*\|\s*sh", 0, (("fetch", "curl", "wget"), False)),
    (r"(^|[^0-9&>])>\s*/var/log/", 0, (("/var/log/",), False)),
    (r"(?i)(EXEC|system):", 0, (("system", "exec"), True)),
    (r"Exec", re.IGNORECASE, (("exec",), True)),
    (r"a|ab|xab", 0, (("a",), False)),
    (r"(ab)+c", 0, (("ab",), False)),
    (r"(.){200,}", 0, None), (r"a?b?", 0, None), (r"x*|y", 0, None), (r"(?i:abc)", 0, None),
    (r"(?i)İstanbul", 0, None), (r"(unclosed", 0, None), ("|".join(f"w{i:02d}" for i in range(20)), 0, None),
])  # fmt: skip
def test_required_literals(pattern, flags, expected):
    assert required_literals(pattern, flags) == expected


@pytest.mark.parametrize("text", ["HİSTORY", "hıstory", "ſYSTEM", "\u212aelvin", "plain"])
def test_folding_covers_what_ignorecase_matches(text):
    for pattern in ("history", "system", "kelvin", "plain"):
        if re.search(pattern, text, re.IGNORECASE):
            literals, folded = required_literals(pattern, re.IGNORECASE)
            assert folded and any(lit in fold(text) for lit in literals), (pattern, text)
