"""Persistence: SQLAlchemy models, Alembic migrations, and the :class:`Store` API.

Layering: ``_models`` (tables) <- ``_engine`` (URL, pragmas, migrations) <-
``_store`` (the operations the server performs, with the manager's in mixins:
``_users``, ``_agent_filter``, ``_tasks``, ``_components``, ``_audit``; the inventory's ``_assets``;
the rule engine's ``_alerts`` and ``_rules``).
Nothing outside this package imports SQLAlchemy sessions directly.
"""

from ._agent_filter import ONLINE_FRESHNESS, PLATFORM_KEYS, AgentFilter, is_online
from ._assets import AssetPlan, AssetQuery, ChangeFilter, FieldCondition, StoredAsset, label_of
from ._alerts import LIVE_STATUSES, SEVERITY_RANK, SORTS as ALERT_SORTS, AlertFilter
from ._audit import AuditFilter
from ._components import BUILTIN
from ._engine import NUL_STANDIN
from ._events import EventQuery
from ._registry import EVICT_AFTER, UNHEALTHY_AFTER
from ._store import ROLES, Store
from ._tasks import SUBTASK_STATES, result_status
from .errors import Conflict, DatabaseUnavailable, NotFound, StoreError, TokenRejected, UploadRefused

__all__ = ["ALERT_SORTS", "BUILTIN", "EVICT_AFTER", "LIVE_STATUSES", "NUL_STANDIN", "ONLINE_FRESHNESS",
           "PLATFORM_KEYS", "ROLES", "SEVERITY_RANK", "SUBTASK_STATES", "UNHEALTHY_AFTER", "AgentFilter",
           "AlertFilter", "AssetPlan", "AssetQuery", "AuditFilter", "ChangeFilter", "Conflict", "DatabaseUnavailable",
           "EventQuery", "FieldCondition", "NotFound", "Store", "StoreError", "StoredAsset", "TokenRejected",
           "UploadRefused", "is_online", "label_of", "result_status"]  # fmt: skip
