"""The browser console: server-rendered pages (Quart + Jinja) served by the server's HTTPS app.

Layering: pure parts first (``_format``, ``_charts``, ``_hosts``, ``_health``,
``_ingest``, ``_signals``, ``_feed``, ``_throttle``, ``_sessions``, ``_nav``,
``_paging``, ``_taskform``, ``_results``, ``_assetspec``, ``_alertquery``, ``_alertview``,
``_proctree``, ``_rulesource``, ``_overview``), then the watchers (``_monitor``, ``_taskwatch``,
``_alertwatch``), then the Quart blueprint (``_console``), the bridge to the
manager's routes (``_actions``: the console's actions are the API's, audited as
theirs) and the views (``_pages``, ``_account``, ``_live``, ``_hostactions``,
``_tasks``, ``_components``, ``_admin``, ``_assets``, ``_alerts``, ``_rules``, ``_rulefiles``).
Templates and static files are package
data read through importlib.resources. The manager's ``create_app`` calls
:func:`install_console`; its ``serve_https`` runs the watchers beside the app.
"""

from ._charts import Series, bar_list, line_chart, stacked_bars
from ._console import Console, install_console
from ._feed import LiveFeed, sse
from ._sessions import ConsoleSettings
from .errors import ConsoleError, SecretFileError

__all__ = [
    "Console",
    "ConsoleError",
    "ConsoleSettings",
    "LiveFeed",
    "SecretFileError",
    "Series",
    "bar_list",
    "install_console",
    "line_chart",
    "sse",
    "stacked_bars",
]
