"""Alert notifications: webhooks (JSON or Slack-compatible) and syslog (RFC 5424, UDP/TCP).

:class:`Notifier` never blocks its caller: alerts wait in a bounded queue per
sink, are retried with back-off, and overflow is counted, not waited for.
"""

from ._config import sink_from_url
from ._format import slack_json, summary, syslog_message, webhook_json
from ._notifier import Notifier, Sink, SinkStats
from ._syslog import SyslogSink
from ._webhook import WebhookSink
from .errors import DeliveryError, NotifyConfigError, NotifyError

__all__ = [
    "DeliveryError",
    "Notifier",
    "NotifyConfigError",
    "NotifyError",
    "Sink",
    "SinkStats",
    "SyslogSink",
    "WebhookSink",
    "sink_from_url",
    "slack_json",
    "summary",
    "syslog_message",
    "webhook_json",
]
