"""Query-string helpers shared by the list pages: the page number, short text filters."""

from __future__ import annotations

from typing import Mapping

from .errors import BadForm

MAX_PAGE = 1_000_000
MAX_ARG = 255


def page_of(args: Mapping[str, str]) -> int:
    """The ``page`` argument (from 1).

    Raises:
        BadForm: not a whole number from 1 to 1,000,000.
    """
    text = (args.get("page") or "1").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadForm(f"page {text[:20]!r} must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))


def text_arg(args: Mapping[str, str], name: str, max_len: int = MAX_ARG) -> str:
    """A text argument, stripped; empty when absent.

    Raises:
        BadForm: longer than ``max_len``.
    """
    value = (args.get(name) or "").strip()
    if len(value) > max_len:
        raise BadForm(f"the {name!r} filter is longer than {max_len} characters")
    return value


def choice_arg(args: Mapping[str, str], name: str, choices) -> str:
    """A text argument that must be one of ``choices`` (or empty).

    Raises:
        BadForm: any other value.
    """
    value = text_arg(args, name)
    if value and value not in choices:
        raise BadForm(f"unknown {name} {value[:40]!r}; choose one of {', '.join(choices)}")
    return value
