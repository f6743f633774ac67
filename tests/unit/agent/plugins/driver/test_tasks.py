from __future__ import annotations

import json

from elkeid import datatypes
from elkeid.agent.plugins.driver import DriverOptions
from elkeid.agent.plugins.driver._tasks import apply
from elkeid.proto import bridge_pb2


class Target:
    def __init__(self) -> None:
        self.options = DriverOptions()
        self.changes = 0

    def set_options(self, options: DriverOptions) -> None:
        self.options = options
        self.changes += 1

    def status(self) -> dict[str, str]:
        return {"state": "running"}


def task(body, data_type=datatypes.DRIVER_CONTROL, token="tok"):
    data = body if isinstance(body, str) else json.dumps(body)
    return bridge_pb2.Task(data_type=data_type, object_name="driver", data=data, token=token)


def test_allowlist_actions_and_the_reply():
    t = Target()
    reply = apply(task({"action": "allowlist.set", "exe": ["/a", "/b"], "argv": ["x y"]}), t)
    assert reply["status"] == "ok" and reply["token"] == "tok"
    body = json.loads(reply["msg"])
    assert body["options"]["allow_exe"] == ["/a", "/b"] and body["status"] == {"state": "running"}
    apply(task({"action": "allowlist.add", "exe": ["/c"], "argv": ["x y", "z"]}), t)
    assert t.options.allow_exe == {"/a", "/b", "/c"} and t.options.allow_argv == ("x y", "z")
    apply(task({"action": "allowlist.remove", "exe": ["/a"], "argv": ["x y"]}), t)
    assert t.options.allow_exe == {"/b", "/c"} and t.options.allow_argv == ("z",)
    apply(task({"action": "allowlist.clear"}), t)
    assert not t.options.allow_exe and not t.options.allow_argv


def test_options_and_status():
    t = Target()
    apply(task({"action": "options.set", "options": {"connect_dedup_seconds": 0}}), t)
    assert t.options.connect_dedup_seconds == 0
    before = t.changes
    assert apply(task({"action": "status"}), t)["status"] == "ok" and t.changes == before


def test_errors_change_nothing():
    t = Target()
    cases = [
        (task("{oops"), "not JSON"),
        (task({"action": "options.set", "options": []}), "'options' must be a JSON object"),
        (task({"action": "options.set", "options": {"max_eps": "x"}}), "'max_eps' must be a number"),
        (task({"action": "allowlist.set", "exe": [""]}), "'exe' must be a list of non-empty strings"),
        (task({"no": "action"}), "unknown action None"),
        (task({"action": "status"}, data_type=5100), "takes tasks of data_type 902, not 5100"),
        (task("x" * (1 << 20 + 1)), "exceeds"),
    ]
    for t_, message in cases:
        reply = apply(t_, t)
        assert reply["status"] == "error" and message in reply["msg"], (message, reply)
    assert t.changes == 0 and t.options == DriverOptions()
