"""The rule engine (the HUB's role): rules in YAML or Sigma, compiled, indexed by data_type.

Stages (STYLE.md, "Rules in stages"): ``load_rules`` reads sources into a
:class:`LoadResult` (rules plus coded errors and warnings with file:line) ->
``RuleEngine.apply`` compiles them into per-data_type matchers and makes them
the running set -> ``RuleEngine.process(event)`` returns :class:`Detection` s.
Alerts built from detections are de-duplicated by :class:`AlertDeduplicator`,
carry a process chain from :func:`build_process_chain`, and can be silenced by
a whitelist from :func:`whitelist_from_alert`.
"""

from ._detection import Detection
from ._engine import RuleEngine
from ._frequency import FrequencyHit
from ._model import SEVERITIES, Frequency, Rule
from ._result import Issue, LoadResult
from ._ruleset import CompiledRuleSet
from ._sources import Source, default_sources, load_rules, load_sources
from .errors import EngineError, ReloadRefused, RuleLoadError, WhitelistError

__all__ = [
    "SEVERITIES",
    "CompiledRuleSet",
    "Detection",
    "EngineError",
    "Frequency",
    "FrequencyHit",
    "Issue",
    "LoadResult",
    "ReloadRefused",
    "Rule",
    "RuleEngine",
    "RuleLoadError",
    "Source",
    "WhitelistError",
    "default_sources",
    "load_rules",
    "load_sources",
]
