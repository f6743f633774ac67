"""JSON text for the database: compact, and never a NUL (PostgreSQL refuses it)."""

from __future__ import annotations

import json

from elkeid.server.store._engine import NUL_STANDIN, dumps_json


def test_plain_values_are_compact_ascii_json():
    assert dumps_json({"a": "b", "c": ["ü"]}) == '{"a":"b","c":["\\u00fc"]}'


def test_nul_becomes_a_visible_stand_in_in_keys_and_values():
    out = json.loads(dumps_json({"k\0": ["v\0", {"x": "\0"}]}))
    assert out == {"k" + NUL_STANDIN: ["v" + NUL_STANDIN, {"x": NUL_STANDIN}]}


def test_a_literal_backslash_u0000_is_not_mistaken_for_nul():
    value = {"path": "C:\\u0000dir", "both": "\\\0"}
    assert json.loads(dumps_json(value)) == {"path": "C:\\u0000dir", "both": "\\" + NUL_STANDIN}
