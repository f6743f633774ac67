"""How a subtask's result record is split into message and details."""

from __future__ import annotations

import json

from elkeid.ui._assetspec import VIEWS
from elkeid.ui._results import asset_tab, details, message


def test_message_is_the_plugins_else_the_servers():
    assert message({"result": {"msg": "disk full"}, "error": "x"}) == "disk full"
    assert message({"result": {}, "error": "no result before the deadline"}) == "no result before the deadline"
    assert message({"result": {}, "error": ""}) == ""


def test_details_leave_out_the_columns_and_table_the_snapshots():
    snapshots = json.dumps([{"data_type": 5051, "count": 3, "status": "complete", "msg": ""},
                            {"data_type": 99999, "count": 0, "status": "failed", "msg": "boom"}])  # fmt: skip
    out = details({"data_type": "5100", "status": "failed", "msg": "m", "token": "t", "snapshots": snapshots,
                   "extra": "v"})  # fmt: skip
    assert [d.key for d in out] == ["snapshots", "extra"]
    assert out[0].rows == [{"type": "listen_port (5051)", "tab": "ports", "count": "3", "status": "complete", "msg": ""},
                           {"type": "99999", "tab": "", "count": "0", "status": "failed", "msg": "boom"}]  # fmt: skip
    assert out[1].rows == [] and out[1].text == "v"


def test_snapshots_that_do_not_parse_stay_text():
    for text in ("not json", '{"a": 1}', "[1, 2]"):
        (d,) = details({"snapshots": text})
        assert d.rows == [] and d.text == text


def test_each_asset_type_has_its_tab_and_nothing_else_has_one():
    assert all(asset_tab(v.data_type) == asset_tab(str(v.data_type)) == v.tab for v in VIEWS)
    assert asset_tab(5051) == "ports" and asset_tab("5062") == "kernel-modules"
    for other in (5100, "99999", "", "-5051", "5051.0", None, "9" * 40):
        assert asset_tab(other) == ""
