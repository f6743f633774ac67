from __future__ import annotations

from elkeid import datatypes
from elkeid.agent.plugins.collector import AssetSpec, Host, PartialSnapshot, SourceError, run_snapshot


def _run(collect, token=""):
    sent = []
    spec = AssetSpec(datatypes.ASSET_CRON, collect, 60)
    result = run_snapshot(spec, Host(), lambda dt, f, ts: sent.append((dt, f, ts)), token)
    return result, sent


def test_records_share_package_seq_and_timestamp_and_end_with_a_marker():
    result, sent = _run(lambda host: [{"path": "/a"}, {"path": "/b"}], token="tok-1")
    *records, (mdt, marker, mts) = sent
    assert {f["package_seq"] for _, f, _ in records} == {result.package_seq}
    assert len(result.package_seq) == 16 and int(result.package_seq, 16) >= 0
    assert {ts for _, _, ts in sent} == {mts}
    assert mdt == datatypes.ASSET_SNAPSHOT
    assert marker["count"] == "2" and marker["status"] == "complete" and marker["token"] == "tok-1"
    assert marker["data_type"] == str(datatypes.ASSET_CRON) and marker["package_seq"] == result.package_seq


def test_each_snapshot_has_a_new_package_seq():
    assert _run(lambda host: [])[0].package_seq != _run(lambda host: [])[0].package_seq


def test_empty_snapshot_is_still_complete():
    result, sent = _run(lambda host: [])
    assert [dt for dt, _, _ in sent] == [datatypes.ASSET_SNAPSHOT] and sent[0][1]["count"] == "0"
    assert result.status == "complete"


def test_partial_snapshot_sends_what_it_has():
    def collect(host):
        raise PartialSnapshot([{"path": "/ok"}], "rpm: cannot read")

    result, sent = _run(collect)
    assert [f.get("path") for _, f, _ in sent[:-1]] == ["/ok"]
    assert sent[-1][1]["status"] == "partial" and sent[-1][1]["msg"] == "rpm: cannot read" and result.count == 1


def test_failures_send_no_records_and_say_why(caplog):
    def source_error(host):
        raise SourceError("docker socket answered 500")

    def bug(host):
        raise ZeroDivisionError("oops")

    result, sent = _run(source_error)
    assert len(sent) == 1 and sent[0][1]["status"] == "failed" and sent[0][1]["msg"] == "docker socket answered 500"
    result, sent = _run(bug)
    assert result.status == "failed" and sent[0][1]["msg"] == "ZeroDivisionError: oops"
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


def test_records_sharing_an_identity_key_are_sent_once():
    line = {"path": "/etc/crontab", "username": "root", "schedule": "@daily", "command": "x", "checksum": "ab"}
    result, sent = _run(lambda host: [dict(line), dict(line, checksum="cd"), dict(line, command="y")])
    assert result.count == 2 and [f["command"] for _, f, _ in sent[:-1]] == ["x", "y"]
    assert sent[-1][1]["count"] == "2"
