from __future__ import annotations

import os

import pytest

from elkeid.agent.plugins._plugin_main import clean_fields, clean_text, detail_object
from elkeid.proto import bridge_pb2


@pytest.mark.parametrize("value, want", [
    ("plain", "plain"),
    ("ünïcode ✓", "ünïcode ✓"),
    (os.fsdecode(b"/tmp/\xff\xfeX"), "/tmp/\ufffd\ufffdX"),
    ("lone \ud800 surrogate", "lone \ufffd\ufffd\ufffd surrogate"),
])  # fmt: skip
def test_clean_text(value, want):
    assert clean_text(value) == want
    rec = bridge_pb2.Record()
    rec.data.fields.update(clean_fields({value: value}))
    assert rec.SerializeToString()


def test_detail_object():
    assert detail_object("", ValueError) == {} and detail_object(' {"a": 1} ', ValueError) == {"a": 1}
    with pytest.raises(KeyError, match="is not JSON"):
        detail_object("{", KeyError)
    with pytest.raises(KeyError, match="must be a JSON object, not list"):
        detail_object("[]", KeyError)
