"""Reading match trees: every operator, lists, macros, and each refusal with its code and line."""

from __future__ import annotations

import pytest

from elkeid.server.engine._model import All, AnyOf, Cond, Not
from tests.unit.server.engine._support import codes, load


def rule_with(match: str, extra: str = "") -> str:
    body = "\n".join("      " + line for line in match.strip("\n").splitlines())
    return f"""
{extra}
rules:
  - id: r
    name: R
    severity: high
    data_type: 59
    match:
{body}
"""


def only_rule(match: str, extra: str = ""):
    result = load(rule_with(match, extra))
    assert result.ok, result.as_text()
    return result.rules[0].match


def error(match: str, extra: str = "") -> tuple[str, int | None, str]:
    result = load(rule_with(match, extra))
    assert not result.ok and not result.rules
    issue = result.errors[0]
    return issue.code, issue.line, issue.message


def test_field_condition_with_list_means_any_value():
    node = only_rule("field: argv\ncontains: [/dev/tcp/, /dev/udp/]")
    assert node == Cond("argv", "contains", ("/dev/tcp/", "/dev/udp/"))


def test_all_any_not_and_bare_list():
    node = only_rule("""
all:
  - {field: exe, endswith: /bash}
  - any:
      - {field: stdin, startswith: "socket:"}
      - not: {field: dip, is_null: true}
""")
    assert isinstance(node, All) and isinstance(node.items[1], AnyOf)
    assert node.items[1].items[1] == Not(Cond("dip", "is_null"))
    assert isinstance(only_rule("- {field: exe, equals: /a}\n- {field: uid, equals: '0'}"), All)


@pytest.mark.parametrize("key,expected", [
    ("not_equals: x", Not(Cond("f", "equals", ("x",)))),
    ("in: [a, b]", Cond("f", "equals", ("a", "b"))),
    ("not_in: [a]", Not(Cond("f", "equals", ("a",)))),
    ("not_contains: x", Not(Cond("f", "contains", ("x",)))),
    ("regex: '^a+$'", Cond("f", "regex", ("^a+$",))),
    ("cidr: [10.0.0.0/8, 'fe80::/10']", Cond("f", "cidr", ("10.0.0.0/8", "fe80::/10"))),
    ("greater: 10", Cond("f", "greater", (10.0,))),
    ("less_equal: '2.5'", Cond("f", "less_equal", (2.5,))),
    ("is_null: true", Cond("f", "is_null")),
    ("is_null: false", Not(Cond("f", "is_null"))),
    ("not_null: true", Not(Cond("f", "is_null"))),
    ("equals: 4444", Cond("f", "equals", ("4444",))),
    ("equals: true", Cond("f", "equals", ("true",))),
    ("equals: {field: p_exe}", Cond("f", "equals", ref="p_exe")),
    ("greater: {field: g}", Cond("f", "greater", ref="g")),
])  # fmt: skip
def test_operators(key, expected):
    assert only_rule(f"field: f\n{key}") == expected


def test_nocase_flag():
    assert only_rule("field: f\nequals: A\nnocase: true") == Cond("f", "equals", ("A",), nocase=True)


def test_named_lists_expand_and_mix_with_values():
    node = only_rule("field: exe\nendswith: [{list: shells}, /extra]", "lists:\n  shells: [/sh, /bash]")
    assert node == Cond("exe", "endswith", ("/sh", "/bash", "/extra"))


def test_macros_expand_and_nest():
    extra = """
macros:
  shell: {field: exe, endswith: /bash}
  shell_from_web: {all: [{macro: shell}, {field: p_exe, endswith: /nginx}]}
"""
    node = only_rule("macro: shell_from_web", extra)
    assert node == All((Cond("exe", "endswith", ("/bash",)), Cond("p_exe", "endswith", ("/nginx",))))


def test_unknown_operator_is_refused_with_a_suggestion_and_line():
    code, line, message = error("field: argv\ncontain: x")
    assert code == "E131" and line == 10
    assert "unknown operator 'contain' on field 'argv' (did you mean 'contains'?)" in message


def test_two_operators_in_one_condition():
    code, _, message = error("field: argv\ncontains: x\nequals: y")
    assert code == "E132" and message == "a condition on field 'argv' must have exactly one operator, found contains, equals"


def test_condition_without_operator():
    assert error("field: argv")[0] == "E132"


@pytest.mark.parametrize("match,code,fragment", [
    ("field: f\nregex: '(unclosed'", "E134", "regex '(unclosed' on field 'f' does not compile"),
    ("field: f\ncidr: 10.0.0.300/8", "E135", "'10.0.0.300/8' on field 'f' is not an IP network"),
    ("field: f\ngreater: many", "E136", "'many' on field 'f' is not a number"),
    ("field: f\nequals: []", "E133", "needs at least one value"),
    ("field: f\nequals: [{a: b}]", "E133", "values are text or numbers"),
    ("field: f\nequals: {list: nope}", "E137", "unknown list 'nope'"),
    ("macro: nope", "E138", "unknown macro 'nope'"),
    ("all: []", "E142", "'all' takes a non-empty list of conditions"),
    ("{what: ever}", "E130", "a condition must be a mapping with one of all, any, not, macro or field"),
    ("field: 'bad name'\nequals: x", "E143", "field name 'bad name' is not valid"),
    ("field: f\nis_null: yes please", "E133", "is_null takes true or false"),
    ("field: f\ngreater: 1\nnocase: true", "E133", "nocase applies to"),
    ("field: f\nequals: {field: 'x y'}", "E133", "compare with another field as {field: NAME}"),
    ("field: f\ncidr: {field: g}", "E133", "cidr cannot compare with another field"),
    ("field: f\nequals: x\nnocase: maybe", "E142", "'nocase' takes true or false"),
])  # fmt: skip
def test_bad_conditions(match, code, fragment):
    got_code, _, message = error(match)
    assert got_code == code and fragment in message, message


def test_too_deep_trees_are_refused():
    deep = "not:\n" + "".join("  " * i + "  not:\n" for i in range(40)) + "  " * 41 + "field: f\n" + "  " * 41 + "equals: x"
    assert error(deep)[0] == "E139"


def test_macro_cycles_are_reported_once_with_the_chain():
    extra = "macros:\n  a: {macro: b}\n  b: {macro: a}\n"
    result = load(rule_with("macro: a", extra))
    assert "E141" in codes(result)
    assert any("a -> b -> a" in i.message for i in result.errors)
    assert not result.rules


def test_a_bad_macro_is_reported_where_it_is_defined():
    extra = "macros:\n  bad: {field: f, containz: x}\n"
    result = load(rule_with("macro: bad", extra))
    assert codes(result) == ["E131", "E138"]
    assert result.errors[0].line == 3
    assert "defined at rules.yaml:3 but has errors" in result.errors[1].message


def test_bad_lists_are_reported():
    result = load(rule_with("field: argv\nequals: x", "lists:\n  l: [a, {b: c}]\n  m: text\n"))
    assert codes(result) == ["E112", "E112"]
