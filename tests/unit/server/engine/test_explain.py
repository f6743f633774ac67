from __future__ import annotations

from elkeid.server.engine import evaluate, explain
from elkeid.server.engine._model import All, Cond, Not


def test_explain_marks_what_held():
    tree = All((Cond("exe", "endswith", ("/bash",)), Not(Cond("dip", "cidr", ("127.0.0.0/8",)))))
    event = {"exe": "/usr/bin/bash", "dip": "203.0.113.5"}
    assert evaluate(tree, event)
    assert explain(tree, event) == [
        "[x] all:",
        "  [x] exe endswith '/bash'   <- exe='/usr/bin/bash'",
        "  [x] not:",
        "    [ ] dip cidr '127.0.0.0/8'   <- dip='203.0.113.5'",
    ]


def test_long_values_and_lists_are_shortened():
    tree = Cond("argv", "contains", tuple(str(i) for i in range(8)), nocase=True)
    (line,) = explain(tree, {"argv": "x" * 500})
    assert "… (8 values)" in line and "(nocase)" in line and line.endswith("...'")
