"""The asset views: every column names a declared field, values read as their formats, filters split."""

from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.server.assets import POLICIES
from elkeid.ui import _assetspec
from elkeid.ui._assetspec import VIEWS, cell, differences, parse_terms, row_cells, view_for
from elkeid.ui.errors import BadForm


def test_every_inventory_type_has_one_view_whose_columns_are_declared_fields():
    assert sorted(v.data_type for v in VIEWS) == sorted(POLICIES)
    assert len({v.tab for v in VIEWS}) == len(VIEWS)
    for view in VIEWS:
        declared = datatypes.get(view.data_type).fields
        assert [c.field for c in view.columns if c.field not in declared] == [], view.name
        assert view.example.split("=")[0].split(".")[0] in declared, view.name
        assert "package_seq" not in view.fields


def test_views_are_found_by_tab_name_or_number():
    assert view_for("ports") is view_for("listen_port") is view_for("5051")
    assert view_for("nope") is None and view_for("5057") is None and view_for("99999999") is None


@pytest.mark.parametrize(("value", "kind", "shown"), [
    ("", "text", "—"), (None, "when", "—"), ("6", "protocol", "tcp"), ("17", "protocol", "udp"),
    ("10", "family", "IPv6"), ("1536", "size", "1.5 KiB"), ("0.25", "percent", "25.0 %"),
    ("0", "text", "0"), ("1767000000", "when", "2025-12-29 09:20:00 UTC"), ("99", "protocol", "99"),
])  # fmt: skip
def test_cells(value, kind, shown):
    assert cell(value, kind) == shown


def test_long_values_are_cut_for_the_table_and_kept_whole_for_the_title():
    view = view_for("process")
    cmdline = "x" * (_assetspec.LONG_TEXT + 50)
    (col, shown, full), = [c for c in row_cells(view, {"cmdline": cmdline}) if c[0].field == "cmdline"]
    assert col.kind == "code" and full == cmdline and shown == cmdline[: _assetspec.LONG_TEXT] + "…"


def test_differences_list_changed_fields_only():
    before = {"name": "openssl", "sversion": "3.0.11", "package_seq": "a"}
    after = {"name": "openssl", "sversion": "3.0.15", "package_seq": "b", "arch": "amd64"}
    assert differences(before, after) == [("arch", "", "amd64"), ("sversion", "3.0.11", "3.0.15")]
    assert differences(None, after) == []


def test_an_added_items_summary_leaves_out_its_key_and_empty_columns():
    view = view_for("listen_port")
    fields = {"protocol": "6", "family": "2", "sip": "0.0.0.0", "sport": "22", "comm": "sshd", "pid": "", "uid": "0"}
    key = {k: fields[k] for k in ("protocol", "family", "sip", "sport")}
    assert _assetspec.summary(view, fields, key) == [("comm", "sshd")]
    assert _assetspec.summary(None, fields, key) == []


def test_filter_terms():
    assert parse_terms(["sport=6379", " ", "sversion.lt = 3.0", "cmdline.contains=a=b"]) == [
        ("sport", "6379"), ("sversion.lt", "3.0"), ("cmdline.contains", "a=b")]
    with pytest.raises(BadForm, match="must read NAME=VALUE"):
        parse_terms(["sport"])
    with pytest.raises(BadForm, match="must read NAME=VALUE"):
        parse_terms(["=5"])
    with pytest.raises(BadForm, match="at most 8"):
        parse_terms([f"pid={i}" for i in range(9)])
    with pytest.raises(BadForm, match="longer than"):
        parse_terms(["cmdline=" + "x" * 2000])
