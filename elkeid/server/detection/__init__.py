"""Detection in the server: the rules in force, the engine runner, alerts and notifications.

Layering: ``_watch`` (rules directory fingerprint) and ``_chains`` (process
chains from the recent-event store) <- ``_rules`` (:class:`RuleManager`: loading,
hot reload, API changes), ``_runner`` (:class:`EngineRunner`: batches in, alerts
stored), ``_notifications`` (:class:`NotificationService`) <- ``_service``
(:class:`DetectionService`, one task in the server's task group). The rule
engine itself (``elkeid.server.engine``) knows nothing of the server.
"""

from ._chains import chain_for
from ._notifications import NotificationService, build_sinks
from ._rules import API_PREFIX, FILE_NAME_HINT, FILE_NAME_RE, ReloadReport, RuleManager, check_name
from ._runner import EngineRunner, RunnerStats
from ._service import DetectionService
from ._watch import fingerprint
from .errors import DetectionError, RuleFileError, RulesRefused

__all__ = [
    "API_PREFIX",
    "FILE_NAME_HINT",
    "FILE_NAME_RE",
    "DetectionError",
    "DetectionService",
    "EngineRunner",
    "NotificationService",
    "ReloadReport",
    "RuleFileError",
    "RuleManager",
    "RulesRefused",
    "RunnerStats",
    "build_sinks",
    "chain_for",
    "check_name",
    "fingerprint",
]
