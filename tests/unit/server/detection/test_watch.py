"""The rules directory fingerprint: what changes it and what does not."""

from __future__ import annotations

import os

from elkeid.server.detection import fingerprint


def test_missing_directory_has_no_fingerprint(tmp_path):
    assert fingerprint(tmp_path / "nope") is None and fingerprint(None) is None


def test_rule_files_changes_show_and_other_files_do_not(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("rules: []\n")
    (tmp_path / "sub" / "b.yml").write_text("rules: []\n")
    (tmp_path / "notes.txt").write_text("x")
    first = fingerprint(tmp_path)
    assert [p for p, _, _ in first] == ["a.yaml", os.path.join("sub", "b.yml")]
    (tmp_path / "notes.txt").write_text("changed")
    assert fingerprint(tmp_path) == first
    (tmp_path / "a.yaml").write_text("rules: [] # longer\n")
    second = fingerprint(tmp_path)
    assert second != first
    st = os.stat(tmp_path / "a.yaml")
    os.utime(tmp_path / "a.yaml", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # same size, new mtime
    assert fingerprint(tmp_path) != second
    (tmp_path / "sub" / "b.yml").rename(tmp_path / "sub" / "c.yaml")
    assert [p for p, _, _ in fingerprint(tmp_path)] == ["a.yaml", os.path.join("sub", "c.yaml")]
