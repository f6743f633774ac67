"""Core task checks (object_name elkeid-agent): what each of 1050, 1051, 1060 needs."""

from __future__ import annotations

import json

import pytest

from elkeid.server.manager._tasks import UPLOAD_MAX_BYTES, check_core_task
from elkeid.server.manager.errors import BadRequest


def _body(data_type, data=""):
    return {"data_type": data_type, "data": data if isinstance(data, str) else json.dumps(data)}


def test_valid_core_tasks():
    assert check_core_task(_body(1050, {"path": "/etc/passwd"})) == UPLOAD_MAX_BYTES
    assert check_core_task(_body(1050, {"path": "/var/log/syslog", "max_bytes": 1024})) == 1024
    assert check_core_task(_body(1051, {"idc": "eu-1"})) is None
    assert check_core_task(_body(1060)) is None


@pytest.mark.parametrize(
    "body, message",
    [
        (_body(5100), "core tasks (object_name elkeid-agent) are 1050, 1051, 1060, not 5100"),
        (_body(1050, "not json"), "field data of core task 1050 must be a JSON object"),
        (_body(1050, ["/etc"]), "must be a JSON object"),
        (_body(1050, {"path": "etc/passwd"}), "needs \"path\": an absolute file path"),
        (_body(1050, {"path": "/etc/\u0000x"}), "absolute file path"),
        (_body(1050, {"path": "/x", "max_bytes": 0}), "\"max_bytes\" in the data of task 1050"),
        (_body(1050, {"path": "/x", "max_bytes": True}), "\"max_bytes\""),
        (_body(1051, {}), "task 1051 needs \"idc\" and/or \"region\""),
        (_body(1051, {"idc": 5}), "task 1051 needs"),
    ],
)
def test_bad_core_tasks(body, message):
    with pytest.raises(BadRequest) as info:
        check_core_task(body)
    assert message in info.value.message
