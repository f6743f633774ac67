"""Request specs: the checks behind every 400 of the API, and the schemas they document."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from elkeid.server.manager._spec import Field, check_object, object_schema, page_params, parse_query
from elkeid.server.manager.errors import BadRequest

BODY = (
    Field("name", "string", required=True, max_len=8),
    Field("count", "integer", default=1, minimum=1, maximum=10),
    Field("ratio", "number"),
    Field("on", "boolean"),
    Field("tags", "array", items=Field("tag", "string", pattern=r"[a-z]+", hint="lower-case letters"), max_len=2),
    Field("opts", "object", fields=(Field("mode", "string", choices=("a", "b")),)),
)


def test_valid_body_gets_defaults():
    assert check_object(BODY, {"name": "x"}) == {"name": "x", "count": 1, "ratio": None, "on": None, "tags": None,
                                                 "opts": None}  # fmt: skip


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "field name is required"),
        ({"name": None}, "field name is required"),
        ({"name": 5}, "field name must be a string, not an integer"),
        ({"name": "123456789"}, "field name is too long: at most 8 characters"),
        ({"name": "x", "count": True}, "field count must be an integer, not a boolean"),
        ({"name": "x", "count": 1.5}, "field count must be an integer, not a number"),
        ({"name": "x", "count": 0}, "field count must be between 1 and 10, not 0"),
        ({"name": "x", "count": 10**30}, "field count must be between 1 and 10"),
        ({"name": "x", "ratio": "1"}, "field ratio must be a number, not a string"),
        ({"name": "x", "on": "yes"}, "field on must be a boolean, not a string"),
        ({"name": "x", "tags": "a"}, "field tags must be an array, not a string"),
        ({"name": "x", "tags": ["a", "b", "c"]}, "field tags is too long: at most 2 items"),
        ({"name": "x", "tags": ["a", "B'; DROP"]}, "field tags[1] \"B'; DROP\" is not valid: lower-case letters"),
        ({"name": "x", "opts": {"mode": "c"}}, "field opts.mode must be one of a, b, not 'c'"),
        ({"name": "x", "opts": {"other": 1}}, "unknown field opts.'other'; expected mode"),
        ({"name": "x", "nmae": "typo"}, "unknown field 'nmae'"),
    ],
)
def test_bad_bodies_name_the_field_and_the_rule(body, message):
    with pytest.raises(BadRequest) as info:
        check_object(BODY, body)
    assert message in info.value.message


def test_injection_shaped_strings_are_plain_data():
    text = "'; DROP TABLE agents; -- <script>alert(1)</script> {{7*7}} $(id)"
    assert check_object((Field("s", "string"),), {"s": text}) == {"s": text}


QUERY = (
    Field("online", "boolean"),
    Field("tag", "array", items=Field("tag", "string", pattern=r"[a-z]+"), max_len=5),
    *page_params(100),
)


def test_query_types_and_lists():
    q = parse_query(QUERY, MultiDict([("online", "true"), ("tag", "a,b"), ("tag", "c"), ("page_size", "7")]))
    assert q == {"online": True, "tag": ["a", "b", "c"], "page": 1, "page_size": 7}
    assert parse_query(QUERY, MultiDict([("online", "0")]))["online"] is False


@pytest.mark.parametrize(
    "args, message",
    [
        ([("page_size", "0")], "query parameter page_size must be between 1 and 100, not 0"),
        ([("page_size", "100000000")], "query parameter page_size must be between 1 and 100, not 100000000"),
        ([("page_size", "-5")], "between 1 and 100"),
        ([("page_size", "99999999999999999999999")], "must be an integer"),
        ([("page_size", "1e3")], "query parameter page_size must be an integer, not '1e3'"),
        ([("page", "0")], "query parameter page must be between 1 and 1000000"),
        ([("page", "x")], "must be an integer"),
        ([("online", "maybe")], "query parameter online must be true or false, not 'maybe'"),
        ([("page", "1"), ("page", "2")], "query parameter page is given 2 times"),
        ([("tag", "a,b,c,d,e,f")], "query parameter tag is too long: at most 5 items"),
        ([("tag", "A")], "query parameter tag[0] 'A' is not valid"),
        ([("limit", "5")], "unknown query parameter 'limit'; expected online, page, page_size, tag"),
    ],
)
def test_bad_query_strings(args, message):
    with pytest.raises(BadRequest) as info:
        parse_query(QUERY, MultiDict(args))
    assert message in info.value.message


def test_schema_mirrors_the_checks():
    schema = object_schema(BODY)
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["name"] == {"type": "string", "maxLength": 8}
    assert props["count"] == {"type": "integer", "default": 1, "minimum": 1, "maximum": 10}
    assert props["tags"]["items"]["pattern"] == "^(?:[a-z]+)$"
    assert props["tags"]["maxItems"] == 2
    assert props["opts"]["properties"]["mode"]["enum"] == ["a", "b"]


def test_unknown_field_type_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown type 'str'"):
        Field("x", "str")
