from __future__ import annotations

from elkeid.server.engine._model import FALSE, TRUE, All, AnyOf, Cond, Not
from elkeid.server.engine._optimize import cost, optimize

A = Cond("exe", "endswith", ("/a",))
B = Cond("exe", "endswith", ("/b",))
RX = Cond("argv", "regex", ("x+",))
EQ = Cond("uid", "equals", ("0",))


def test_constants_fold():
    assert optimize(All((A, FALSE))) == FALSE
    assert optimize(AnyOf((A, TRUE))) == TRUE
    assert optimize(All((A, TRUE))) == A
    assert optimize(AnyOf((FALSE,))) == FALSE
    assert optimize(Not(TRUE)) == FALSE


def test_groups_flatten_and_double_negation_goes():
    assert optimize(All((A, All((EQ, RX))))) == All((EQ, A, RX))
    assert optimize(Not(Not(A))) == A


def test_conditions_on_one_field_and_operator_merge_in_an_any():
    assert optimize(AnyOf((A, EQ, B))) == AnyOf((EQ, Cond("exe", "endswith", ("/a", "/b"))))
    nocase = Cond("exe", "endswith", ("/c",), nocase=True)
    assert optimize(AnyOf((A, nocase))) == AnyOf((A, nocase))  # different case handling: kept apart


def test_cheapest_items_run_first():
    assert optimize(All((RX, A, EQ))).items == (EQ, A, RX)
    assert cost(EQ) < cost(A) < cost(RX)
