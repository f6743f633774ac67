"""Cutting a rule's text from its file, and reading rule files by the name listings give them."""

from __future__ import annotations

from elkeid.ui._rulesource import read_source, rule_block

OURS = """# head
rules:
  - id: a
    match:
      field: exe

      equals: /x
  - id: b
    match: {field: exe, equals: /y}
lists:
  x: [1]
"""
SIGMA = """title: one
id: 1
detection: {}
---
title: two
detection: {}
"""


def test_a_list_item_runs_while_indented_deeper():
    assert rule_block(OURS, 3) == (3, ["  - id: a", "    match:", "      field: exe", "", "      equals: /x"])
    assert rule_block(OURS, 8) == (8, ["  - id: b", "    match: {field: exe, equals: /y}"])


def test_a_document_runs_to_the_next_document_mark():
    assert rule_block(SIGMA, 1) == (1, ["title: one", "id: 1", "detection: {}"])
    assert rule_block(SIGMA, 6) == (5, ["title: two", "detection: {}"])


def test_out_of_range_and_cut():
    assert rule_block(OURS, 0) == (0, []) and rule_block(OURS, 99) == (99, [])
    assert len(rule_block(OURS, 3, max_lines=2)[1]) == 2


def test_read_source_reads_only_known_places(tmp_path):
    assert "reverse_shell_dev_tcp" in read_source("<default>/reverse_shell.yaml", rules_dir=None, store=None)
    assert read_source("<default>/../x.yaml", rules_dir=None, store=None) is None
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text("rules: []\n")
    (tmp_path / "secret.yaml").write_text("no\n")
    assert read_source(str(rules / "a.yaml"), rules_dir=rules, store=None) == "rules: []\n"
    assert read_source(str(tmp_path / "secret.yaml"), rules_dir=rules, store=None) is None
    assert read_source(str(rules / "../secret.yaml"), rules_dir=rules, store=None) is None
    assert read_source(str(rules / "a.yaml"), rules_dir=None, store=None) is None
