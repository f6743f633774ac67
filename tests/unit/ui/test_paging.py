"""Page numbers and text filters of the list pages."""

from __future__ import annotations

import pytest

from elkeid.ui._paging import choice_arg, page_count, page_of, text_arg
from elkeid.ui.errors import BadForm


def test_page_of():
    assert page_of({}) == 1 and page_of({"page": " 7 "}) == 7
    for bad in ("0", "-1", "x", "1e3", "1000001"):
        with pytest.raises(BadForm, match="must be a whole number"):
            page_of({"page": bad})


def test_page_count():
    assert [page_count(n, 10) for n in (0, 1, 10, 11)] == [1, 1, 1, 2]


def test_text_and_choice_args():
    assert text_arg({"q": "  a b "}, "q") == "a b" and text_arg({}, "q") == ""
    with pytest.raises(BadForm, match="longer than 3"):
        text_arg({"q": "abcd"}, "q", 3)
    assert choice_arg({"s": "ok"}, "s", ("ok", "no")) == "ok" and choice_arg({}, "s", ("ok",)) == ""
    with pytest.raises(BadForm, match="unknown s 'maybe'; choose one of ok, no"):
        choice_arg({"s": "maybe"}, "s", ("ok", "no"))
