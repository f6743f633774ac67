from __future__ import annotations

from elkeid import datatypes


def test_every_protocol_type_is_declared():
    wanted = {42, 43, 49, 59, 60, 62, 82, 86, 101, 112, 157, 165, 356, 601, 602, 603, 604, 607, 611, 612,
              1000, 1001, 1010, 1011, 900, 901, 4000, 6000, 6001, 6002, 8000, 8010,
              *range(5050, 5061), 5062, 5100}  # fmt: skip
    assert wanted <= {dt.number for dt in datatypes.all_types()}


def test_driver_events_carry_common_and_enrichment_fields():
    execve = datatypes.get(datatypes.EXECVE)
    for f in ("pid", "ppid", "exe", "argv", "pid_tree", "exe_hash", "p_exe", "stdin", "ssh", "ld_preload"):
        assert f in execve.fields
    assert datatypes.by_name("connect").number == 42


def test_asset_types_carry_package_seq():
    assert "package_seq" in datatypes.get(datatypes.ASSET_LISTEN_PORT).fields


def test_unknown_type_name_is_a_clear_key_error():
    import pytest

    with pytest.raises(KeyError, match="unknown data type name 'nope'"):
        datatypes.by_name("nope")


def test_field_formats_and_required_fields():
    port = datatypes.get(datatypes.ASSET_LISTEN_PORT)
    assert "sport" in port.fields and port.formats["sport"] == "port" and "sport" in port.required
    assert "package_seq" in port.required
    good = {f: "" for f in port.fields} | {"family": "2", "protocol": "6", "state": "10", "sip": "::1", "sport": "22",
                                          "inode": "5", "package_seq": "ab"}  # fmt: skip
    assert port.problems(good) == []
    bad = dict(good, sport="70000", sip="not-an-ip", dip="")
    del bad["cmdline"]
    assert port.problems(bad) == [
        "listen_port (5051): field 'sip'='not-an-ip' is not ip",
        "listen_port (5051): field 'sport'='70000' is not port",
        "listen_port (5051): field 'cmdline' is missing",
    ]
    assert port.problems(dict(good, inode="")) == ["listen_port (5051): field 'inode' is empty"]


def test_every_declared_format_is_known():
    for dt in datatypes.all_types():
        assert set(dt.formats.values()) <= set(datatypes.FORMATS), dt.name
        assert dt.required <= set(dt.fields), dt.name


def test_formats():
    f = datatypes.FORMATS
    assert f["bool"]("true") and not f["bool"]("True")
    assert f["fraction"]("0.5") and not f["fraction"]("1.5") and not f["fraction"]("x")
    assert f["json"]("[]") and not f["json"]("{")
    assert f["hex"]("0af") and not f["hex"]("0AF")
    assert f["ip"]("fe80::1%eth0") and not f["ip"]("1.2.3")
    assert f["path"]("/x") and not f["path"]("x")
