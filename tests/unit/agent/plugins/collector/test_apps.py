from __future__ import annotations

import subprocess

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.collector import Host
from elkeid.agent.plugins.collector._apps import _java_app, collect_apps

from ._java import jvms  # noqa: F401 - fixture
from ._sanity import assert_declared


@pytest.mark.postgres
def test_postgres_server_is_found_with_its_dpkg_version(postgres):
    records = [r for r in collect_apps(Host()) if r["name"] == "postgresql"]
    mine = [r for r in records if str(postgres.base) in r["conf"]]
    assert len(mine) == 1, records  # one master; its backends are folded into it
    rec = mine[0]
    pkg = rec["exe"].split("/")[4]  # /usr/lib/postgresql/15/bin/postgres
    want = subprocess.run(["dpkg-query", "-W", "-f=${Version}", f"postgresql-{pkg}"], capture_output=True, text=True)
    assert rec["sversion"] == want.stdout and rec["type"] == "database"
    assert rec["conf"] == f"{postgres.base}/data/postgresql.conf"
    assert_declared(datatypes.ASSET_APP, [dict(r, package_seq="x") for r in records])


def test_java_servers_and_apps(jvms):  # noqa: F811
    records = {r["pid"]: r for r in collect_apps(Host())}
    kafka = records[str(jvms["kafka"].pid)]
    assert (kafka["name"], kafka["type"], kafka["sversion"]) == ("kafka", "message_queue", "3.6.0")
    app = records[str(jvms["app"].pid)]
    assert (app["name"], app["type"]) == ("Main", "java_app") and app["exe"].endswith("/java")
    assert_declared(datatypes.ASSET_APP, [dict(r, package_seq="x") for r in records.values()])


@pytest.mark.parametrize("argv, want", [
    (["java", "-jar", "/opt/app/billing.jar"], ("billing.jar", "java_app", "")),
    (["java", "-Xmx1g", "-cp", "a.jar:b.jar", "com.example.Main", "--port", "8080"], ("com.example.Main", "java_app", "")),
    (["java", "-cp", "/opt/es/lib/elasticsearch-8.11.1.jar", "org.elasticsearch.bootstrap.Elasticsearch"],
     ("elasticsearch", "database", "8.11.1")),
    (["java", "-Dcatalina.home=/opt/tomcat", "org.apache.catalina.startup.Bootstrap", "start"], ("tomcat", "web_service", "")),
    (["java"], ("java", "java_app", "")),
])  # fmt: skip
def test_java_command_lines(argv, want):
    assert _java_app(argv) == want
