from __future__ import annotations

from elkeid.agent._discovery_answer import address, parse_detail


def test_addresses_in_the_servers_order():
    body = {"data": [{"name": "hids_svr_grpc", "ip": "10.0.0.2", "port": 6751, "weight": 1},
                     {"ip": "::1", "port": "6752"}, {"ip": "10.0.0.2", "port": 6751}]}  # fmt: skip
    assert parse_detail(body) == ["10.0.0.2:6751", "[::1]:6752"]


def test_hostile_and_malformed_entries_are_skipped():
    body = {"data": [{"ip": "evil/host", "port": 1}, {"ip": "a b", "port": 1}, {"ip": "h", "port": 0},
                     {"ip": "h", "port": 70000}, {"ip": "h", "port": True}, {"ip": 5, "port": 1}, "x",
                     {"ip": "ok", "port": "nan"}, {"ip": "good", "port": 443}]}  # fmt: skip
    assert parse_detail(body) == ["good:443"]
    assert parse_detail([]) == [] and parse_detail({"data": "x"}) == [] and parse_detail(None) == []


def test_control_characters_brackets_and_overlong_names_are_not_addresses():
    for ip in ("h\r", "h\x00", "h\tx", "[::1]", "a]b", "user@h", "x" * 254, ""):
        assert address(ip, 1) is None, ip
    assert address("x" * 253, "65535") == "x" * 253 + ":65535"
