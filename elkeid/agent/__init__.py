"""``elkeid agent``: the core that enrolls, streams records to the server and hosts plugins.

Layering: ``core`` wires the parts; ``transport`` (+ ``_spool``, ``_wire``,
``_discovery`` with ``_discovery_answer`` and ``_discovery_memory``) moves
records; ``_plugin_host`` / ``_plugin`` run plugins; ``_config_sync`` /
``_packages`` decide which; ``_tasks`` answers tasks; ``_limits`` applies
self-limits; ``heartbeat`` / ``_procstats`` measure.

The names below are imported on first use (PEP 562): every built-in plugin
process imports ``elkeid.agent.plugins``, which runs this file, and must not pay
for gRPC, httpx and SQLite it never uses (about 40 MiB of RSS per plugin).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Agent": ".core", "load_or_enroll": ".core", "run_agent": ".core",
    "Credentials": ".enrollment", "enroll": ".enrollment",
    "AgentError": ".errors", "DiscoveryMemoryError": ".errors", "EnrollmentError": ".errors", "NotEnrolled": ".errors",
    "PackageRejected": ".errors", "PluginError": ".errors", "RecordError": ".errors", "SpoolError": ".errors",
    "TaskError": ".errors",
    "agent_id": ".identity",
    "LimitsStatus": "._limits", "apply_limits": "._limits",
    "signed_message": "._packages",
    "PluginSpec": "._plugin",
    "Spool": "._spool", "SpoolStats": "._spool",
    "make_record": "._wire", "record_from_frame": "._wire",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
