"""The collector as a real child process: Tasks on its fd 3, Records read from its fd 4."""

from __future__ import annotations

import json
import os
import socket

import pytest

from elkeid import datatypes
from elkeid.agent.plugins import REGISTRY
from elkeid.agent.plugins.collector import ASSETS, Options, OptionsError

from .._plugin_process import fields
from ._sanity import assert_declared


@pytest.fixture
def plugin(plugin_process):
    return lambda detail: plugin_process("collector", detail)


def _answer(token):
    return lambda recs: next((r for r in recs if r.data_type == datatypes.COLLECTOR_TASK_RESULT
                              and r.data.fields["token"] == token), None)  # fmt: skip


def test_task_answered_with_records_markers_and_token(plugin):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        p = plugin({"schedule": False})
        p.send_task(datatypes.COLLECTOR_TASK_RESULT, json.dumps({"types": ["listen_port", 5062]}), token="tok-42")
        result = fields(p.wait_for(_answer("tok-42"), what="the 5100 answer"))
    finally:
        inode = str(os.fstat(listener.fileno()).st_ino)
        listener.close()
    assert result["status"] == "succeed", result
    snapshots = json.loads(result["snapshots"])
    assert [s["data_type"] for s in snapshots] == [5051, 5062]
    ports = [fields(r) for r in p.records if r.data_type == datatypes.ASSET_LISTEN_PORT]
    mine = [r for r in ports if r["inode"] == inode]
    assert mine and mine[0]["pid"] == str(os.getpid())
    assert {r["package_seq"] for r in ports} == {snapshots[0]["package_seq"]}
    markers = [fields(r) for r in p.records if r.data_type == datatypes.ASSET_SNAPSHOT]
    assert [(m["data_type"], m["count"], m["token"]) for m in markers] == [
        ("5051", str(len(ports)), "tok-42"), ("5062", str(snapshots[1]["count"]), "tok-42")]
    assert_declared(datatypes.ASSET_LISTEN_PORT, ports)
    # the answer comes after every record of the snapshots it reports
    kinds = [r.data_type for r in p.records]
    assert kinds.index(datatypes.COLLECTOR_TASK_RESULT) == len(kinds) - 1
    p.close_tasks()
    assert p.wait_exit() == 0


def test_elkeid_style_task_bad_tasks_and_garbage_frames(plugin):
    p = plugin({"schedule": False})
    p.send_raw(b"\xff\xff\xff not protobuf")
    p.send_task(4242, token="bad-type")
    p.send_task(datatypes.COLLECTOR_TASK_RESULT, "{oops", token="bad-json")
    p.send_task(datatypes.ASSET_KMOD, token="elkeid")
    bad_type = fields(p.wait_for(_answer("bad-type")))
    assert bad_type["status"] == "failed" and "4242 is not a collector task" in bad_type["msg"]
    bad_json = fields(p.wait_for(_answer("bad-json")))
    assert bad_json["status"] == "failed" and "not JSON" in bad_json["msg"]
    elkeid = fields(p.wait_for(_answer("elkeid")))
    assert elkeid["status"] == "succeed" and json.loads(elkeid["snapshots"])[0]["data_type"] == 5062
    assert "not a bridge.Task" in p.log()
    p.close_tasks()
    assert p.wait_exit() == 0


def test_schedule_collects_every_type_soon_after_start(plugin):
    p = plugin({"first_run_within": 0, "intervals": {str(dt): 3600 for dt in ASSETS}})

    def all_markers(recs):
        seen = {r.data.fields["data_type"] for r in recs if r.data_type == datatypes.ASSET_SNAPSHOT}
        return seen >= {str(dt) for dt in ASSETS}

    p.wait_for(all_markers, timeout=180, what="one snapshot of every asset type")
    markers = [fields(r) for r in p.records if r.data_type == datatypes.ASSET_SNAPSHOT]
    assert all(m["token"] == "" and m["status"] == "complete" for m in markers), markers
    p.close_tasks()
    assert p.wait_exit() == 0


def test_bad_options_stop_the_plugin_with_a_clear_message(plugin):
    p = plugin({"intervals": {"process": 1}})
    assert p.wait_exit() == 2
    assert "interval of process must be a number >= 10.0, not 1" in p.log()


@pytest.mark.parametrize("text, message", [
    ("[1]", "must be a JSON object"),
    ("{", "is not JSON"),
    ('{"colour": 1}', "unknown option 'colour'"),
    ('{"intervals": {"nope": 60}}', "unknown asset type 'nope'"),
    ('{"jitter": 1.5}', "jitter must be a number >= 0 and < 1"),
    ('{"schedule": "no"}', "schedule must be true or false"),
    ('{"root": "relative"}', "root must be an absolute path"),
    ('{"docker_sockets": "/run/docker.sock"}', "docker_sockets must be a list"),
])  # fmt: skip
def test_option_errors(text, message):
    with pytest.raises(OptionsError, match=message):
        Options.from_json(text)


def test_options_defaults_and_overrides():
    assert Options.from_json("").intervals[5050] == 3600
    opts = Options.from_json('{"intervals": {"software": 600, "5050": 60.5}, "jitter": 0, "schedule": false}')
    assert opts.intervals[5055] == 600 and opts.intervals[5050] == 60.5 and opts.jitter == 0 and not opts.schedule


def test_registered_as_builtin_plugins():
    assert REGISTRY["collector"] == "elkeid.agent.plugins.collector:main"
    assert REGISTRY["journal_watcher"] == "elkeid.agent.plugins.journal_watcher:main"


def test_sigterm_stops_it_cleanly(plugin):
    import signal

    p = plugin({"schedule": False})
    p.send_task(datatypes.ASSET_KMOD, token="before-term")
    p.wait_for(_answer("before-term"))
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait_exit() == 0
    assert "received SIGTERM, stopping" in p.log()


def test_a_broken_task_frame_is_a_failure_exit(plugin):
    p = plugin({"schedule": False})
    os.write(p.task_w, (64 << 20).to_bytes(4, "little"))
    assert p.wait_exit() == 1 and "broke the pipe protocol" in p.log()
