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
