"""A loaded rule's own text, cut from the file it came from (for the rule page).

A rule is known by ``file`` and ``line`` (where its mapping starts). Files are
the bundled defaults (``<default>/NAME``), uploads (``<api>/NAME``, kept in the
database) and files in the rules directory (absolute paths, read only if they
are inside that directory). :func:`rule_block` cuts the rule from its file: a
list item (``- id: …``) runs while later lines are indented deeper; a rule at
column 0 (a Sigma document) runs to the next ``---``.
"""

from __future__ import annotations

from pathlib import Path

from elkeid.server.detection import API_PREFIX
from elkeid.server.engine import DEFAULT_PREFIX, default_sources
from elkeid.server.store import NotFound

#: Longest rule text shown (lines); a longer block is cut with a note.
MAX_LINES = 400
_DOC_MARKS = ("---", "...")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def rule_block(text: str, line: int, max_lines: int = MAX_LINES) -> tuple[int, list[str]]:
    """(first line number, lines) of the rule whose mapping starts at 1-based ``line`` of ``text``.

    An out-of-range ``line`` gives ``(line, [])``.
    """
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return line, []
    start = line - 1
    first = lines[start]
    stripped = first.lstrip(" ")
    if stripped.startswith("- ") or stripped == "-":
        column = _indent(first)
        end = start + 1
        while end < len(lines):
            current = lines[end]
            if current.strip() and (_indent(current) <= column or current.startswith(_DOC_MARKS)):
                break
            end += 1
    elif _indent(first) == 0:  # a document of its own (Sigma): up to the next document mark
        while start > 0 and lines[start - 1].strip() and not lines[start - 1].startswith(_DOC_MARKS):
            start -= 1  # the rule's line may be a key below the document's first
        end = start + 1
        while end < len(lines) and not lines[end].startswith(_DOC_MARKS):
            end += 1
    else:  # a mapping inside a list written another way: its own line and the deeper ones
        column = _indent(first)
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > column):
            end += 1
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    return start + 1, block[:max_lines]


def read_source(file: str, *, rules_dir: Path | None, store) -> str | None:
    """The text of the rule file named ``file`` as rule listings name it, or None if unavailable.

    Reads the package, the database or the disk: call it from a worker thread.
    A path outside ``rules_dir`` is never read.
    """
    if file.startswith(DEFAULT_PREFIX):
        return next((s.text for s in default_sources() if s.name == file), None)
    if file.startswith(API_PREFIX):
        try:
            return store.get_rule_file(file[len(API_PREFIX):])["text"]
        except NotFound:
            return None
    if rules_dir is None:
        return None
    try:
        path = Path(file).resolve()
        if not path.is_relative_to(rules_dir.resolve()) or not path.is_file():
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
