"""The rule engine (the HUB's role): rules in YAML or Sigma, compiled, indexed by data_type.

Stages (STYLE.md, "Rules in stages"): :func:`load_rules` reads sources into a
:class:`LoadResult` (rules plus coded errors and warnings with file:line) ->
:meth:`RuleEngine.apply` compiles them into per-data_type matchers and makes
them the running set -> :meth:`RuleEngine.process` returns :class:`Detection`
s. Alerts built from detections (:class:`Alert`) are de-duplicated by
:class:`AlertDeduplicator`, carry a process chain from
:func:`build_process_chain`, and can be silenced by a whitelist from
:func:`whitelist_from_alert`.
"""

from ._alert import STATUSES, TRANSITIONS, Alert
from ._chain import ProcessLink, build_process_chain, parse_pid_tree
from ._dedup import AlertDeduplicator, Occurrence
from ._detection import Detection
from ._engine import RuleEngine
from ._explain import evaluate, explain
from ._frequency import FrequencyHit
from ._model import SEVERITIES, Frequency, Rule
from ._reader import RULE_ID_RE
from ._result import Issue, LoadResult
from ._ruleset import CompiledRuleSet
from ._sources import DEFAULT_PREFIX, RULE_SUFFIXES, Source, default_sources, file_kind, load_rules, load_sources
from ._whitelist import whitelist_from_alert, whitelist_yaml
from .errors import EngineError, ReloadRefused, RuleLoadError, StatusChangeError, WhitelistError

__all__ = [
    "DEFAULT_PREFIX",
    "RULE_ID_RE",
    "RULE_SUFFIXES",
    "SEVERITIES",
    "STATUSES",
    "TRANSITIONS",
    "Alert",
    "AlertDeduplicator",
    "CompiledRuleSet",
    "Detection",
    "EngineError",
    "Frequency",
    "FrequencyHit",
    "Issue",
    "LoadResult",
    "Occurrence",
    "ProcessLink",
    "ReloadRefused",
    "Rule",
    "RuleEngine",
    "RuleLoadError",
    "Source",
    "StatusChangeError",
    "WhitelistError",
    "build_process_chain",
    "default_sources",
    "evaluate",
    "explain",
    "file_kind",
    "load_rules",
    "load_sources",
    "parse_pid_tree",
    "whitelist_from_alert",
    "whitelist_yaml",
]
