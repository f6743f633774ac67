"""JSON text for the database: compact, and never a NUL (PostgreSQL refuses it)."""

from __future__ import annotations

import json

import pytest

from elkeid.server.store._engine import NUL_STANDIN, dumps_json


def test_plain_values_are_compact_utf8_json():
    assert dumps_json({"a": "b", "c": ["ü"], 1: 2}) == '{"a":"b","c":["ü"],"1":2}'


def test_what_orjson_refuses_is_encoded_by_the_standard_encoder():
    # Integers past 64 bits and lone surrogates: orjson refuses them, the stored text still comes out.
    assert json.loads(dumps_json({"big": 2**70, "s": "\ud800"})) == {"big": 2**70, "s": "\ud800"}


def test_values_no_encoder_takes_still_raise_type_error():
    with pytest.raises(TypeError):
        dumps_json({"x": object()})


def test_nul_becomes_a_visible_stand_in_in_keys_and_values():
    out = json.loads(dumps_json({"k\0": ["v\0", {"x": "\0"}]}))
    assert out == {"k" + NUL_STANDIN: ["v" + NUL_STANDIN, {"x": NUL_STANDIN}]}


def test_a_literal_backslash_u0000_is_not_mistaken_for_nul():
    value = {"path": "C:\\u0000dir", "both": "\\\0"}
    assert json.loads(dumps_json(value)) == {"path": "C:\\u0000dir", "both": "\\" + NUL_STANDIN}
