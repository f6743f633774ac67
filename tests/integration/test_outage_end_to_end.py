"""Issue 4's promise end to end: records emitted while the real server is down arrive exactly once.

A real ``elkeid server`` hands a real ``elkeid agent`` a signed plugin package
(by tag); the plugin emits 10,000 records while the server is stopped for 30 s;
after it returns, ``GET /api/v1/events`` holds every record exactly once.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests._support import AgentProcess, ServerProcess, agent_record, wait_until
from tests.integration._agent_peer import plugin_package

EMITTED = 7001  # not a PROTOCOL.md type: unknown types are stored as they are


def _stored_numbers(api, aid: str) -> list[int]:
    """Every stored record's ``n`` for ``aid``, following the events API's cursor."""
    numbers, cursor = [], None
    while True:
        params = {"agent_id": aid, "data_type": EMITTED, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/events", params=params).json()
        numbers += [int(item["fields"]["n"]) for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return numbers


@pytest.mark.slow
def test_records_emitted_during_a_30s_server_outage_are_stored_exactly_once(fresh_server: ServerProcess, tmp_path):
    fresh_server.start()
    aid, tag = f"outage-{uuid.uuid4()}", f"emit-{uuid.uuid4().hex[:8]}"
    with fresh_server.api() as api:
        comp = api.post("/api/v1/components", data={"name": "emitter", "version": "1.0.0"},
                        files={"file": ("emitter", plugin_package())}).json()  # fmt: skip
        detail = json.dumps({"data_type": EMITTED, "count": 10_000, "rate": 400, "after": 1})
        api.post("/api/v1/components/assignments",
                 json={"component_id": comp["id"], "selector": {"tags": [tag]}, "detail": detail})  # fmt: skip
    agent = AgentProcess(tmp_path / "agent", aid).start(fresh_server, fresh_server.create_token())
    try:
        with fresh_server.api() as api:
            wait_until(lambda: (r := agent_record(api, aid)) and r["online"], 20, message="agent online")
            api.post(f"/api/v1/agents/{aid}/tags", json={"tags": [tag]})
            wait_until(lambda: len(_stored_numbers(api, aid)) >= 300, 60, interval=0.5, message="first records stored")
        assert fresh_server.stop() == 0
        down_at = time.monotonic()
        time.sleep(30)  # the plugin keeps emitting into the agent's spool (10,000 at 400/s take 25 s)
        fresh_server.start()  # same data directory and ports
        assert time.monotonic() - down_at >= 30
        with fresh_server.api() as api:
            numbers = wait_until(lambda: (n := _stored_numbers(api, aid)) and len(n) >= 10_000 and n, 180,
                                 interval=1, message="all 10,000 records stored")  # fmt: skip
            assert len(numbers) == 10_000, f"{len(numbers) - len(set(numbers))} duplicates"
            assert sorted(numbers) == list(range(10_000))
        assert agent.proc.poll() is None
    finally:
        agent.stop()
