"""Transport: spool and acks across server outages and agent restarts, service discovery."""

from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest

from elkeid.proto import transfer_pb2
from tests._support import START_DEADLINE, free_port, wait_until
from tests.integration._agent_peer import AgentPeer, peer, plugin_package, start_agent, stored_events  # noqa: F401

EMITTED = 7001


def _emit(peer, aid, **detail) -> None:
    cfg = peer.publish("emitter", "1.0.0", plugin_package(), detail={"data_type": EMITTED, **detail})
    peer.push(aid, transfer_pb2.Command(configs=[cfg]))


def _numbers(peer, aid) -> list[int]:
    return [int(f["n"]) for f in stored_events(peer, aid, EMITTED)]


def _spooled_records(data_dir) -> int:
    with sqlite3.connect(f"file:{data_dir / 'spool.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT coalesce(sum(records), 0) FROM batch").fetchone()[0]


def _spool_meta(data_dir) -> dict[str, int]:
    with sqlite3.connect(f"file:{data_dir / 'spool.db'}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT key, value FROM meta"))


def _highest_spooled_number(data_dir) -> int | None:
    """The highest emitted ``n`` in the agent's spool (None: no emitted record there)."""
    with sqlite3.connect(f"file:{data_dir / 'spool.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT data FROM batch").fetchall()
    records = [r for (data,) in rows for r in transfer_pb2.PackagedData.FromString(data).records]
    numbers = [int(transfer_pb2.Payload.FromString(r.data).fields["n"]) for r in records if r.data_type == EMITTED]
    return max(numbers, default=None)


@pytest.mark.slow
def test_ten_thousand_records_emitted_during_a_30s_outage_are_stored_exactly_once(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        aid = agent.agent_id
        _emit(peer, aid, count=10_000, rate=400, after=1)
        wait_until(lambda: len(_numbers(peer, aid)) >= 300, 30, message="first records stored")
        peer.stop()
        # 30 s of outage while the plugin keeps emitting (10,000 at 400/s take 25 s).
        wait_until(lambda: _spooled_records(tmp_path / "agent") >= 5000, 40, interval=1, message="records spooled")
        time.sleep(max(0.0, 30 - 1))
        peer.start()
        numbers = wait_until(lambda: (n := _numbers(peer, aid)) and len(n) >= 10_000 and n, 120, interval=0.5,
                             message="all 10,000 records stored")  # fmt: skip
        assert len(numbers) == 10_000, f"{len(numbers) - len(set(numbers))} duplicates"
        assert sorted(numbers) == list(range(10_000))
        wait_until(lambda: _spooled_records(tmp_path / "agent") == 0, 30, message="spool emptied by acks")
        assert agent.proc.poll() is None
    finally:
        agent.stop()


def test_spooled_batches_survive_an_agent_killed_while_the_server_is_down(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    aid = agent.agent_id
    try:
        wait_until(lambda: aid in peer.conns, 30, message="connected")
        peer.stop()
        wait_until(lambda: aid not in peer.conns, 30, message="disconnected")
        peer.start()
        _emit(peer, aid, count=3000, rate=3000)
        wait_until(lambda: stored_events(peer, aid, 7000), 30, message="plugin started")
        peer.stop()
        marker = tmp_path / "agent" / "plugins" / "emitter" / "emitted"
        wait_until(marker.exists, 30, message="plugin emitted everything")
        stored = len(_numbers(peer, aid))
        wait_until(lambda: _spooled_records(tmp_path / "agent") >= 3000 - stored, 30, message="the rest spooled")
        agent.proc.kill()  # SIGKILL: no clean shutdown of anything
        agent.proc.wait()
    finally:
        agent.stop()
    peer.start()
    agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
    try:
        numbers = wait_until(lambda: (n := _numbers(peer, aid)) and len(n) >= 3000 and n, 60,
                             message="all 3,000 records stored after the restart")  # fmt: skip
        assert sorted(numbers) == list(range(3000))
    finally:
        agent.stop()


def test_a_full_spool_drops_the_oldest_batches_and_the_heartbeat_counts_them(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent", "--spool-max", "40K")
    aid = agent.agent_id
    try:
        _emit(peer, aid, count=0)
        wait_until(lambda: stored_events(peer, aid, 7000), 30, message="plugin started")
        peer.stop()
        peer.packages.clear()
        cfg = peer.publish("emitter", "1.0.1", plugin_package(), detail={"data_type": EMITTED, "count": 4000,
                                                                         "rate": 2000})  # fmt: skip
        marker = tmp_path / "agent" / "plugins" / "emitter" / "emitted"
        peer.start()
        peer.push(aid, transfer_pb2.Command(configs=[cfg]))
        wait_until(lambda: stored_events(peer, aid, 7000)[1:], 30, message="new plugin started")
        peer.stop()
        wait_until(marker.exists, 30, message="plugin emitted everything")
        # Emitted is not yet spooled: the agent reads the pipe and packs every 100 ms.
        wait_until(lambda: _highest_spooled_number(tmp_path / "agent") == 3999, 30,
                   message="the last emitted record (3999) in the spool")  # fmt: skip
        peer.start()
        wait_until(lambda: 3999 in _numbers(peer, aid), 30, message="the newest records arrive")
        wait_until(lambda: _spooled_records(tmp_path / "agent") == 0, 30, message="spool emptied by acks")
        # Final now (heartbeats kept pushing batches out while the server was away, not any more).
        dropped = _spool_meta(tmp_path / "agent")["dropped_records"]
        assert dropped > 0
        # Heartbeats spooled during the outage arrive first, with the counts of their time.
        beat = wait_until(lambda: [b for b in stored_events(peer, aid, 1000)
                                   if int(b["spool_dropped_records"]) >= dropped], 30,
                          message=f"a heartbeat counting all {dropped} dropped records")[-1]  # fmt: skip
        assert int(beat["spool_dropped_batches"]) > 0 and beat["spool_max"] == str(40 * 1024)
        numbers = _numbers(peer, aid)
        assert len(numbers) == len(set(numbers)) and 4000 - dropped <= len(numbers) < 4000
        # Dropped records also count heartbeats; those emitted that went missing are one run of the oldest.
        missing = sorted(set(range(4000)) - set(numbers))
        assert missing == list(range(missing[0], missing[-1] + 1))
    finally:
        agent.stop()


def test_service_discovery_is_asked_first(peer, tmp_path):
    aid = "sd-agent"
    dead = free_port()
    peer.enroll(tmp_path / "agent", aid, grpc_addresses=[f"127.0.0.1:{dead}"])
    peer.sd_answer = {"data": [{"name": "hids_svr_grpc", "ip": "127.0.0.1", "port": peer.grpc_port, "weight": 0,
                                "extra": {}}, {"name": "junk", "ip": "bad host/x", "port": "no"}]}  # fmt: skip
    agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
    try:
        wait_until(lambda: stored_events(peer, aid, 1000), 30, message="connected through discovery")
        assert any(r.startswith("/registry/detail?name=hids_svr_grpc") for r in peer.requests)
        assert peer.hosts[aid]["hostname"]
    finally:
        agent.stop()


def test_without_service_discovery_the_enrolled_address_is_used(peer, tmp_path):
    agent = start_agent(peer, tmp_path / "agent")
    try:
        wait_until(lambda: stored_events(peer, agent.agent_id, 1000), 30, message="connected")
        assert any(r.startswith("/registry/detail") for r in peer.requests)
        agent.log.wait_for("no service discovery", 5)
    finally:
        agent.stop()


def _sd_answer(*ports: int) -> dict:
    return {"data": [{"name": "hids_svr_grpc", "ip": "127.0.0.1", "port": p, "weight": w} for w, p in enumerate(ports)]}


def test_when_the_enrollment_server_is_gone_the_servers_discovery_named_before_are_dialled(peer, tmp_path):
    aid = "sd-memory-agent"
    # Two servers the agent must refuse: one of another CA, one of its CA whose certificate does
    # not name the host the agent enrolled through (127.0.0.1).
    other_ca = AgentPeer(tmp_path / "other-ca").start()
    other_name = AgentPeer(tmp_path / "other-name", ca_of=peer, names=("elsewhere.example",)).start()
    try:
        peer.enroll(tmp_path / "agent", aid, grpc_addresses=[f"127.0.0.1:{free_port()}"])  # nobody there
        peer.sd_answer = _sd_answer(other_ca.grpc_port, other_name.grpc_port, peer.grpc_port)
        named = [f"127.0.0.1:{p}" for p in (other_ca.grpc_port, other_name.grpc_port, peer.grpc_port)]
        agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
        try:
            wait_until(lambda: peer.sessions.get(aid), START_DEADLINE, message="connected through discovery")
        finally:
            agent.stop()
        assert json.loads((tmp_path / "agent" / "discovery.json").read_text())["addresses"] == named
        peer.stop_https()  # the enrollment server's HTTPS is gone for good
        agent = start_agent(peer, tmp_path / "agent", agent_id=aid)
        try:
            wait_until(lambda: peer.sessions.get(aid, 0) >= 2, START_DEADLINE, message="connected through memory")
            agent.log.wait_for(r"service discovery at https://127\.0\.0\.1:\d+/registry/detail failed \(.+\); "
                               r"trying 3 servers it named before \(received at ", 5)  # fmt: skip
            # Tried in the remembered order, and refused as freshly discovered ones are.
            refused = "connection to {} ended: UNAVAILABLE.*{}"
            agent.log.wait_for(refused.format(re.escape(named[0]), "CERTIFICATE_VERIFY_FAILED"), 5)
            agent.log.wait_for(refused.format(re.escape(named[1]), "Hostname Verification"), 5)
        finally:
            agent.stop()
        assert aid not in other_ca.sessions and aid not in other_name.sessions
    finally:
        other_ca.close()
        other_name.close()


def test_a_batch_the_server_keeps_refusing_is_dropped_and_reported(peer, tmp_path):
    from tests.integration._agent_peer import POISON

    agent = start_agent(peer, tmp_path / "agent")
    aid = agent.agent_id
    try:
        wait_until(lambda: stored_events(peer, aid, 1000), 30, message="connected")
        cfg = peer.publish("poison", "1", plugin_package(), detail={"data_type": POISON, "count": 1})
        peer.push(aid, transfer_pb2.Command(configs=[cfg]))
        # Three refusals with reconnect back-off in between (1 s, 2 s, 4 s ... +-50 %): allow for a loaded machine.
        report = wait_until(lambda: [f for f in stored_events(peer, aid, 1010) if "refused batch" in f["msg"]], 150,
                            message="the refused batch is dropped and reported")[0]  # fmt: skip
        assert "3 times (INVALID_ARGUMENT" in report["msg"] and peer.refused >= 3
        # The refused batch also held the plugin's "started" record; a task round trip shows its records flow again.
        task = transfer_pb2.Task(data_type=7100, object_name="poison", data="after", token="t-after")
        peer.push(aid, transfer_pb2.Command(task=task))
        wait_until(lambda: stored_events(peer, aid, 7100), 30, message="later records flow again")
        beat = wait_until(lambda: [b for b in stored_events(peer, aid, 1000) if b["spool_dropped_batches"] == "1"],
                          30, message="heartbeat counts the dropped batch")  # fmt: skip
        assert int(beat[0]["spool_dropped_records"]) >= 1
    finally:
        agent.stop()
