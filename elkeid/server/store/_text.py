"""Text that both databases can store."""

from __future__ import annotations


def no_nul(text: str) -> str:
    """``text`` with NUL characters replaced (PostgreSQL refuses them in text columns)."""
    return text.replace("\0", "\ufffd") if "\0" in text else text
