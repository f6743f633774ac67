"""Notification errors.

    NotifyError
    ├── NotifyConfigError   a sink is configured wrongly (bad URL, port, format, facility ...)
    └── DeliveryError       one delivery attempt failed; ``retryable`` says whether to try again
"""

from __future__ import annotations


class NotifyError(Exception):
    """Root of every notification error."""


class NotifyConfigError(NotifyError):
    """A sink's settings are invalid; the message names the setting and the value."""


class DeliveryError(NotifyError):
    """A delivery attempt failed. ``retryable`` is False when trying again cannot help (e.g. HTTP 400)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable
