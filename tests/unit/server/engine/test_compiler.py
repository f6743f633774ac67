"""The compiler must do exactly what the reference interpreter does, on any tree and any event."""

from __future__ import annotations

import random

import pytest

from elkeid.server.engine._compiler import compile_matcher, compile_predicate
from elkeid.server.engine._explain import evaluate
from elkeid.server.engine._model import FALSE, TRUE, All, AnyOf, Cond, Not
from elkeid.server.engine._optimize import optimize

FIELDS = ["exe", "argv", "dip", "dport", "uid", "missing"]
TEXTS = ["", "/usr/bin/bash", "/USR/BIN/BASH", "bash -i", "/tmp/x", "10.1.2.3", "2001:db8::1", "::ffff:10.9.9.9",
         "4444", "0", "-3.5", "1e3", "İstanbul", "a\nb", "Bash", "HİSTORY -c", "hıstory", "ſystem(x)", "EXEC:",
         "curl x | sh", "Kelvin \u212a"]  # fmt: skip


def random_cond(rng: random.Random) -> Cond:
    field = rng.choice(FIELDS)
    op = rng.choice(["equals", "contains", "startswith", "endswith", "regex", "cidr", "greater", "greater_equal",
                     "less", "less_equal", "is_null"])  # fmt: skip
    nocase = op in ("equals", "contains", "startswith", "endswith", "regex") and rng.random() < 0.4
    if op == "is_null":
        return Cond(field, op)
    if rng.random() < 0.15 and op not in ("regex", "cidr"):
        return Cond(field, op, ref=rng.choice(FIELDS), nocase=nocase and op not in ("greater", "greater_equal", "less", "less_equal"))
    if op == "cidr":
        return Cond(field, op, tuple(rng.sample(["10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "192.168.0.0/16"], 2)))
    if op in ("greater", "greater_equal", "less", "less_equal"):
        return Cond(field, op, (rng.choice([0.0, 10.0, 4444.0, -3.5, 1000.0]),))
    if op == "regex":
        patterns = [r"^/usr", r"bash$", r"\d+", r"(?s)a.b", r"^$", r"hist(ory)?\s+-c", r"exec|system\(", r"(?i)kelvin k",
                    r"\b(curl|wget)\b[^|]*\|\s*sh", r"İstan", r"(?i:sys)tem", r"story"]  # fmt: skip
        return Cond(field, op, tuple(rng.sample(patterns, rng.randint(1, 2))), nocase=nocase)
    pool = ["bash", "/usr", "/bin/bash", "x", "", "4444", "BASH", "İ", "i̇", "10."]
    return Cond(field, op, tuple(dict.fromkeys(rng.choice(pool) for _ in range(rng.randint(1, 3)))), nocase=nocase)


def random_tree(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return random_cond(rng) if rng.random() > 0.03 else rng.choice([TRUE, FALSE])
    if roll < 0.65:
        return Not(random_tree(rng, depth + 1))
    items = tuple(random_tree(rng, depth + 1) for _ in range(rng.randint(1, 4)))
    return All(items) if roll < 0.85 else AnyOf(items)


def random_event(rng: random.Random) -> dict:
    event = {}
    for field in FIELDS[:-1]:
        roll = rng.random()
        if roll < 0.7:
            event[field] = rng.choice(TEXTS)
        elif roll < 0.8:
            event[field] = rng.choice([4444, 0, None, True, 2.5])  # JSON events carry other types
    return event


def test_compiled_trees_agree_with_the_interpreter_on_random_trees_and_events():
    rng = random.Random(20240601)
    events = [random_event(rng) for _ in range(40)]
    for _ in range(1500):
        tree = random_tree(rng)
        predicate = compile_predicate(optimize(tree))
        for event in events:
            assert predicate(event) == evaluate(tree, event), (tree, event, predicate.__source__)


def test_one_matcher_for_many_trees_returns_the_tags_that_match():
    rng = random.Random(7)
    trees = [random_tree(rng) for _ in range(80)]
    matcher = compile_matcher([(optimize(t), i) for i, t in enumerate(trees)])
    for _ in range(100):
        event = random_event(rng)
        assert list(matcher(event)) == [i for i, t in enumerate(trees) if evaluate(t, event)]


def test_nothing_matched_returns_the_shared_empty_tuple():
    matcher = compile_matcher([(Cond("exe", "equals", ("/x",)), "r")])
    assert matcher({"exe": "/y"}) is matcher({}) == ()


def test_values_never_enter_the_generated_source():
    hostile = "'); __import__('os').system('touch /tmp/pwned') #"
    tree = AnyOf((Cond("argv", "contains", (hostile,)), Cond("exe", "equals", (hostile, "x"), nocase=True),
                  Cond("a'b", "startswith", (hostile,))))  # fmt: skip
    predicate = compile_predicate(optimize(tree))
    assert hostile not in predicate.__source__ and "a'b" not in predicate.__source__
    assert predicate({"argv": f"x{hostile}y"}) and predicate({"a'b": hostile}) and not predicate({"argv": "safe"})


@pytest.mark.parametrize("tree,event,expected", [
    (Cond("exe", "equals", ref="p_exe"), {}, False),  # an empty compared-with field never matches
    (Cond("exe", "equals", ref="p_exe"), {"exe": "/a", "p_exe": "/a"}, True),
    (Cond("exe", "contains", ref="p_exe", nocase=True), {"exe": "/A/B", "p_exe": "a/b"}, True),
    (Cond("dport", "greater", ref="sport"), {"dport": "80", "sport": "8080"}, False),
    (Cond("dport", "less", ref="sport"), {"dport": "80", "sport": "8080"}, True),
    (Cond("dport", "greater", (1024.0,)), {"dport": "not a number"}, False),
    (Cond("dip", "cidr", ("10.0.0.0/8",)), {"dip": "::ffff:10.1.1.1"}, True),
    (Cond("dip", "cidr", ("10.0.0.0/8",)), {"dip": "garbage"}, False),
    (Cond("dip", "is_null"), {"dip": None}, True),
    (Cond("argv", "regex", ("^bash",)), {"argv": "sh -c bash"}, False),
    (Cond("argv", "regex", ("bash",)), {"argv": "sh -c bash"}, True),
])  # fmt: skip
def test_semantics(tree, event, expected):
    assert compile_predicate(tree)(event) is expected
    assert evaluate(tree, event) is expected
