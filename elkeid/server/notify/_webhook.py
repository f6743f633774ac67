"""Webhook sink: POST each alert as JSON (our shape, or a Slack-compatible message)."""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from ._format import slack_json, webhook_json
from .errors import DeliveryError, NotifyConfigError

FORMATS = ("json", "slack")
#: HTTP statuses worth retrying besides 5xx.
RETRY_STATUSES = frozenset({408, 425, 429})


class WebhookSink:
    """POSTs alerts to ``url``.

    Args:
        url: http:// or https:// endpoint.
        format: ``json`` (``{"type": "elkeid.alert", "alert": {...}}``) or ``slack``.
        headers: extra request headers (e.g. an Authorization token).
        timeout: seconds for the whole request.
        verify: TLS verification: True, False, or the path of a CA bundle.
        name: how the sink is named in statistics and logs.

    Raises:
        NotifyConfigError: the URL or format is invalid.
    """

    def __init__(self, url: str, *, format: str = "json", headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0, verify: bool | str = True, name: str | None = None,
                 min_severity: str = "info") -> None:  # fmt: skip
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise NotifyConfigError(f"webhook URL {url!r} is not valid: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise NotifyConfigError(f"webhook URL {url!r} must be http:// or https:// with a host")
        if format not in FORMATS:
            raise NotifyConfigError(f"webhook format {format!r} is unknown; use json or slack")
        self.url, self.format = url, format
        self.name = name or f"webhook:{parsed.host}"
        self.min_severity = min_severity
        self._headers = {"User-Agent": "elkeid-notify/1", **(headers or {})}
        self._timeout, self._verify = timeout, verify
        self._client: httpx.AsyncClient | None = None

    async def send(self, alert: Mapping[str, Any]) -> None:
        """Deliver one alert.

        Raises:
            DeliveryError: the request failed or was answered with a non-2xx status
                (``retryable`` for connection errors, timeouts, 5xx, 408, 425 and 429).
        """
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, verify=self._verify, headers=self._headers)
        body = slack_json(alert) if self.format == "slack" else webhook_json(alert)
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            retry = response.status_code >= 500 or response.status_code in RETRY_STATUSES
            raise DeliveryError(f"{self.name}: HTTP {response.status_code} {response.text[:200]!r}", retryable=retry)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
