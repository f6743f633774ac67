"""Every asset type, collected from this machine, against its declaration (one test per type)."""

from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import ASSETS, Host, run_snapshot, spec_for

from ._sanity import assert_declared


@pytest.fixture(scope="module")
def host() -> Host:
    return Host()


@pytest.mark.parametrize("data_type", sorted(ASSETS), ids=lambda dt: f"{dt}-{datatypes.get(dt).name}")
def test_records_match_their_declaration(host, data_type):
    sent = []
    result = run_snapshot(ASSETS[data_type], host, lambda dt, f, ts: sent.append((dt, f, ts)))
    *records, marker = sent
    assert result.status == "complete", result.msg
    assert all(dt == data_type for dt, _, _ in records)
    assert_declared(data_type, [f for _, f, _ in records])
    assert marker[0] == datatypes.ASSET_SNAPSHOT
    assert_declared(datatypes.ASSET_SNAPSHOT, [marker[1]])
    assert marker[1]["count"] == str(len(records)) and marker[1]["data_type"] == str(data_type)
    key = datatypes.get(data_type).key
    assert key, "every asset type declares its identity key"
    keys = [tuple(f[k] for k in key) for _, f, _ in records]
    assert len(set(keys)) == len(keys)


def test_every_asset_type_of_the_protocol_has_a_collector():
    wanted = {5050, 5051, 5052, 5053, 5054, 5055, 5056, 5058, 5059, 5060, 5062}
    assert set(ASSETS) == wanted
    for dt in wanted:
        assert datatypes.get(dt).kind == datatypes.Kind.ASSET


def test_spec_lookup_by_number_name_and_text():
    assert spec_for(5051) is spec_for("listen_port") is spec_for("5051") is ASSETS[5051]
    assert spec_for("nope") is None and spec_for(4242) is None
