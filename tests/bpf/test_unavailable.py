"""When the probes cannot load, the driver says why in a 901 record and keeps running:
it answers tasks and sends status records. Bad tasks get clear errors and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elkeid import datatypes
from elkeid.agent.plugins import encode_frame
from tests.bpf._harness import DriverProcess, bpf_unavailable_reason


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """A driver that finds no kernel headers (its search folders are empty)."""
    if Path("/sys/kernel/kheaders.tar.xz").exists():
        pytest.skip("this kernel carries its own headers (CONFIG_IKHEADERS): they cannot be hidden from bcc")
    root = tmp_path_factory.mktemp("headless")
    (root / "modules").mkdir()
    (root / "src").mkdir()
    detail = {"modules_root": str(root / "modules"), "src_root": str(root / "src"), "status_interval": 0.5,
              "retry_seconds": 3600}  # fmt: skip
    env = {"BCC_KERNEL_SOURCE": ""}
    proc = DriverProcess(root / "run", detail, env).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def test_missing_headers_give_a_901_with_the_reason(headless):
    rec = headless.wait_ready(60)
    assert rec.data_type == datatypes.DRIVER_UNAVAILABLE, rec.fields
    assert set(rec.fields) == {"reason", "kernel_version", "arch"}
    assert rec["kernel_version"] and rec["arch"]
    if not bpf_unavailable_reason():  # as root, tracefs is fine: the headers are what is missing
        assert "no kernel headers" in rec["reason"] and "install linux-headers-" in rec["reason"]


def test_an_unavailable_driver_keeps_answering_and_reporting(headless):
    headless.wait_ready(60)
    status = headless.wait_for(lambda r: r.data_type == datatypes.DRIVER_STATUS, what="a 900 record")
    assert status["state"] == "unavailable" and status["reason"]
    assert headless.status()["state"] == "unavailable"
    assert headless.alive()


@pytest.mark.parametrize(
    "data, message",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"action": "explode"}', "unknown action 'explode'"),
        ('{"action": "options.set", "options": {"drop_loopbak": false}}', "unknown driver option 'drop_loopbak'"),
        ('{"action": "options.set", "options": {"flood_rate": "fast"}}', "'flood_rate' must be a number"),
        ('{"action": "options.set", "options": {"disabled_events": ["nope"]}}', "'nope' is not a driver event"),
        ('{"action": "allowlist.add", "exe": "/bin/sh"}', "'exe' must be a list"),
    ],
)
def test_bad_tasks_get_errors_and_change_nothing(headless, data, message):
    before = json.loads(headless.task({"action": "status"})["msg"])["options"]
    reply = headless.task(data)
    assert reply["status"] == "error" and message in reply["msg"], reply.fields
    assert json.loads(headless.task({"action": "status"})["msg"])["options"] == before


def test_a_task_of_another_data_type_is_answered_in_kind(headless):
    reply = headless.task({"action": "status"}, data_type=datatypes.COLLECTOR_TASK_RESULT)
    assert reply.data_type == datatypes.COLLECTOR_TASK_RESULT
    assert reply["status"] == "error" and "data_type 902" in reply["msg"]


def test_a_frame_that_is_not_a_task_is_skipped(headless):
    headless.write_raw(encode_frame(b"\xff\xff\xff garbage"))
    assert headless.task({"action": "status"})["status"] == "ok"


def test_options_set_and_allowlist_round_trip(headless):
    reply = headless.task({"action": "options.set", "options": {"drop_loopback": False, "disabled_events": [60]}})
    opts = json.loads(reply["msg"])["options"]
    assert opts["drop_loopback"] is False and opts["disabled_events"] == [60]
    reply = headless.task({"action": "allowlist.add", "exe": ["/opt/x"], "argv": ["backup.sh"]})
    opts = json.loads(reply["msg"])["options"]
    assert (opts["allow_exe"], opts["allow_argv"]) == (["/opt/x"], ["backup.sh"])
    opts = json.loads(headless.task({"action": "allowlist.remove", "exe": ["/opt/x"]})["msg"])["options"]
    assert (opts["allow_exe"], opts["allow_argv"]) == ([], ["backup.sh"])


def test_the_driver_ends_when_the_core_closes_the_task_pipe(tmp_path):
    proc = DriverProcess(tmp_path, {"modules_root": str(tmp_path), "src_root": str(tmp_path)},
                         {"BCC_KERNEL_SOURCE": ""}).start()  # fmt: skip
    proc.wait_ready(60)
    proc.close_tasks()
    assert proc.wait(30) == 0


def test_an_oversized_frame_ends_the_driver_cleanly(tmp_path):
    proc = DriverProcess(tmp_path, {"modules_root": str(tmp_path), "src_root": str(tmp_path)},
                         {"BCC_KERNEL_SOURCE": ""}).start()  # fmt: skip
    proc.wait_ready(60)
    proc.write_raw((64 * 1024 * 1024).to_bytes(4, "little"))
    assert proc.wait(30) == 0
    assert "exceeds" in proc.log()


@pytest.mark.bpf
def test_bad_options_in_the_plugin_detail_fall_back_to_defaults_and_say_so(tmp_path):
    reason = bpf_unavailable_reason()
    if reason:
        pytest.skip(f"eBPF is unavailable here: {reason}")
    proc = DriverProcess(tmp_path, {"status_interval": 0.5, "no_such_option": 1}).start()
    try:
        ready = proc.wait_ready(240)
        assert ready.data_type == datatypes.DRIVER_STATUS
        assert "unknown driver option 'no_such_option'" in ready["reason"]
        assert ready["state"] == "running"
    finally:
        assert proc.stop() == 0
