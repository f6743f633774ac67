"""Loading sources: files, directories, the default ruleset, Sigma next to our rules, and bad files."""

from __future__ import annotations


import pytest

from elkeid.server.engine import Source, default_sources, load_rules, load_sources
from tests.unit.server.engine._support import codes, load

RULE = "rules:\n  - {{id: {id}, severity: low, data_type: 59, match: {{field: exe, equals: /x}}}}\n"
SIGMA = """
title: Whoami
id: 11111111-2222-3333-4444-555555555555
logsource: {product: linux, category: process_creation}
detection:
  selection: {Image|endswith: /whoami}
  condition: selection
level: low
"""


def test_default_sources_come_from_the_package():
    sources = default_sources()
    assert sources and all(s.origin == "default" and s.name.startswith("<default>/") for s in sources)
    assert any(s.name == "<default>/lists.yaml" for s in sources)


def test_directories_are_searched_recursively_for_yaml_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text(RULE.format(id="one"))
    (tmp_path / "two.yml").write_text(RULE.format(id="two"))
    (tmp_path / "sigma.yml").write_text(SIGMA)
    (tmp_path / "notes.txt").write_text("not a rule")
    result = load_rules([tmp_path], include_default=False)
    assert result.ok, result.as_text()
    assert sorted(r.id for r in result.rules) == ["11111111-2222-3333-4444-555555555555", "one", "two"]
    assert len(result.sources) == 3


def test_files_given_directly_and_missing_files(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(RULE.format(id="r"))
    result = load_rules([path, tmp_path / "missing.yaml"], include_default=False)
    assert [r.id for r in result.rules] == ["r"]
    assert codes(result) == ["E100"] and "missing.yaml" in result.errors[0].file



def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"rules: [\xff\xfe]\n")
    result = load_rules([path], include_default=False)
    assert codes(result) == ["E100"] and "not UTF-8 text" in result.errors[0].message


def test_yaml_errors_name_file_and_line():
    result = load("rules:\n  - id: a\n  bad: [\n")
    assert codes(result) == ["E101"] and result.errors[0].file == "rules.yaml" and result.errors[0].line is not None


@pytest.mark.parametrize("text", ["just text\n", "- a\n- b\n", "title: x\nfoo: bar\n"])
def test_documents_that_are_neither_our_rules_nor_sigma(text):
    assert codes(load(text)) == ["E102"]


def test_empty_file_warns():
    assert codes(load("# nothing here\n")) == ["W205"]
    assert codes(load("rules: []\n")) == ["W205"]


def test_rules_must_be_a_list():
    assert codes(load("rules: {id: x}\n")) == ["E112"]


def test_unknown_top_level_key_warns():
    result = load("rulez: []\nrules: []\nlists: {a: [b]}\n")
    assert "W201" in codes(result) and "did you mean 'rules'?" in result.warnings[0].message


def test_duplicate_rule_ids_across_files_keep_the_first():
    result = load(RULE.format(id="dup"), "a.yaml", ("b.yaml", RULE.format(id="dup")))
    assert len(result.rules) == 1 and result.rules[0].origin.file == "a.yaml"
    assert codes(result) == ["E113"] and "already defined at a.yaml:2" in result.errors[0].message


def test_a_user_rule_replaces_a_default_rule_of_the_same_id():
    sources = [Source("<default>/x.yaml", RULE.format(id="same"), "default"), Source("mine.yaml", RULE.format(id="same"))]
    result = load_sources(sources)
    assert result.ok and codes(result) == ["W204"]
    assert [r.origin.file for r in result.rules] == ["mine.yaml"]


def test_lists_and_macros_are_shared_across_files_and_defined_once():
    lists = "lists:\n  shells: [/bash]\nmacros:\n  shell: {field: exe, endswith: {list: shells}}\n"
    user = "rules:\n  - {id: u, severity: low, data_type: 59, match: {macro: shell}}\n"
    result = load(user, "user.yaml", ("lists.yaml", lists))
    assert result.ok and result.rules[0].match.values == ("/bash",)
    again = load(lists, "a.yaml", ("b.yaml", lists))
    assert codes(again) == ["E117", "E117"] and "list 'shells' is defined twice (first at a.yaml:2)" in again.errors[0].message


def test_default_ruleset_plus_user_files(tmp_path):
    (tmp_path / "mine.yaml").write_text(RULE.format(id="mine"))
    with_default = load_rules([tmp_path])
    without = load_rules([tmp_path], include_default=False)
    assert len(with_default.rules) == len(load_rules().rules) + 1 and len(without.rules) == 1
