from __future__ import annotations

from elkeid.server.engine._model import TRUE, All, AnyOf, Cond, Frequency, Not, Rule, dedup_fields, fields_read


def test_fields_read_in_first_use_order_with_compared_fields():
    tree = All((Cond("exe", "equals", ref="p_exe"), AnyOf((Not(Cond("argv", "is_null")), Cond("exe", "contains", ("x",))))))
    assert fields_read(tree) == ["exe", "p_exe", "argv"]


def test_dedup_fields():
    rule = Rule("r", "R", "low", (59,), All((Cond("agent_id", "equals", ("a",)), Cond("exe", "equals", ("x",)))))
    assert dedup_fields(rule) == ("exe",)
    freq = Rule("f", "F", "low", (4000,), TRUE, kind="frequency", frequency=Frequency(60, 5, ("agent_id", "sip")))
    assert dedup_fields(freq) == ("sip",)
    assert dedup_fields(Rule("d", "D", "low", (59,), TRUE, dedup=())) == ()


def test_rules_compare_by_definition_not_by_location():
    a = Rule("r", "R", "low", (59,), Cond("exe", "equals", ("x",), line=3))
    b = Rule("r", "R", "low", (59,), Cond("exe", "equals", ("x",), line=9))
    assert a == b and hash(a) == hash(b)
