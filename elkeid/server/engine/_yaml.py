"""Reading rule files: YAML to plain values that remember their line numbers.

Mappings become :class:`LocatedDict` and sequences :class:`LocatedList`; both
know the line they start on and the line of each key or item, so later stages
can say ``file:line`` for any part of a rule. Duplicate keys (which plain YAML
silently lets the last one win) and anchors/aliases (a "billion laughs" file
would expand without bound once compiled) are refused.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Largest rule file read (bytes): a rule file is text written by people.
MAX_FILE_BYTES = 4 * 1024 * 1024


class LocatedDict(dict):
    """A mapping that knows its first line and the line of each key (1-based)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A sequence that knows its first line and the line of each item (1-based)."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class YamlError(ValueError):
    """The text is not acceptable YAML; ``line`` says where (1-based, 0 if unknown)."""

    def __init__(self, message: str, line: int = 0, *, code: str = "E101") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlError("alias", event.start_mark.line + 1, code="E104")
        return super().compose_node(parent, index)

    def construct_located_mapping(self, node: yaml.MappingNode) -> LocatedDict:
        self.flatten_mapping(node)
        out = LocatedDict()
        out.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                hash(key)
            except TypeError:
                raise YamlError(f"a mapping key must be a plain value (line {line})", line) from None
            if key in out:
                raise YamlError(f"key {key!r} appears twice in one mapping (lines {out.key_lines[key]} and {line})",
                                line)  # fmt: skip
            out[key] = self.construct_object(value_node, deep=True)
            out.key_lines[key] = line
        return out

    def construct_located_sequence(self, node: yaml.SequenceNode) -> LocatedList:
        out = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [child.start_mark.line + 1 for child in node.value]
        return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_located_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_located_sequence)


def load_documents(text: str) -> list[Any]:
    """Every YAML document in ``text``, with positions.

    Raises:
        YamlError: syntax errors, duplicate keys, anchors/aliases, too large.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise YamlError(f"{size}", 0, code="E103")
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlError(reason, line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from exc
    except RecursionError as exc:
        raise YamlError("the document nests too deeply") from exc


def line_of(container: Any, key: Any, default: int = 0) -> int:
    """The line of ``key`` in a located container, else its own line, else ``default``."""
    if isinstance(container, (LocatedDict, LocatedList)):
        return container.line_of(key) or default
    return default
