from __future__ import annotations

import pytest

from elkeid.server.engine._yaml import MAX_FILE_BYTES, LocatedDict, LocatedList, YamlError, load_documents


def test_mappings_and_lists_remember_their_lines():
    (doc,) = load_documents("rules:\n  - id: a\n    name: A\n  - id: b\n")
    assert isinstance(doc, LocatedDict) and doc.line == 1
    rules = doc["rules"]
    assert isinstance(rules, LocatedList)
    assert rules.item_lines == [2, 4]
    assert rules[0].line == 2 and rules[0].line_of("name") == 3


def test_several_documents_and_empty_ones():
    assert len(load_documents("a: 1\n---\n---\nb: 2\n")) == 2


def test_syntax_error_says_the_line():
    with pytest.raises(YamlError) as info:
        load_documents("rules:\n  - id: a\n   name: [unclosed\n")
    assert info.value.line == 3 and info.value.code == "E101"


def test_duplicate_keys_are_refused_with_both_lines():
    with pytest.raises(YamlError, match=r"key 'id' appears twice in one mapping \(lines 2 and 3\)") as info:
        load_documents("rules:\n  - id: a\n    id: b\n")
    assert info.value.line == 3


def test_anchors_and_aliases_are_refused():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    with pytest.raises(YamlError) as info:
        load_documents(bomb)
    assert info.value.code == "E104" and info.value.line == 2


def test_unhashable_keys_are_refused():
    with pytest.raises(YamlError, match="a mapping key must be a plain value"):
        load_documents("? [a, b]\n: 1\n")


def test_oversized_text_is_refused_before_parsing():
    with pytest.raises(YamlError) as info:
        load_documents("#" * (MAX_FILE_BYTES + 1))
    assert info.value.code == "E103"


def test_python_tags_are_not_constructed():
    with pytest.raises(YamlError):
        load_documents("a: !!python/object/apply:os.system ['true']\n")
