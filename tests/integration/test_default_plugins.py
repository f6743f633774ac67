"""A new server assigns the built-in plugins to every agent once; an admin's removal sticks."""

from __future__ import annotations

import secrets
import subprocess
import sys

from tests._support import ServerProcess, child_env


def _default_assignments(api) -> list[str]:
    components = {c["id"]: c["name"] for c in api.get("/api/v1/components").json()["items"]}
    return sorted(components[a["component_id"]] for a in api.get("/api/v1/components/assignments").json()["items"]
                  if a["selector"] == {})  # fmt: skip


def test_builtin_plugins_are_assigned_on_first_start_only(tmp_path):
    srv = ServerProcess(tmp_path / "srv", admin_password=secrets.token_urlsafe(12),
                        extra_args=["--default-plugins", "collector,journal_watcher"])  # fmt: skip
    srv.start()
    try:
        with srv.api() as api:
            assert _default_assignments(api) == ["collector", "journal_watcher"]
            for a in api.get("/api/v1/components/assignments").json()["items"]:
                assert api.delete(f"/api/v1/components/assignments/{a['id']}").status_code == 200
        srv.stop()
        srv.start()  # same database: the admin's removal is kept
        with srv.api() as api:
            assert _default_assignments(api) == []
    finally:
        srv.stop()


def test_an_unknown_default_plugin_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "elkeid", "server", "--data-dir", str(tmp_path / "srv"),
                          "--listen-https", "127.0.0.1:0", "--listen-grpc", "127.0.0.1:0",
                          "--default-plugins", "collector,nope"],
                         capture_output=True, text=True, timeout=60, env=child_env())  # fmt: skip
    assert out.returncode == 1
    assert "--default-plugins: nope is not a built-in plugin" in out.stderr
