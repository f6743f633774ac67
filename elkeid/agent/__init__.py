"""``elkeid agent``: the core that enrolls, streams records to the server and hosts plugins.

Layering: ``core`` wires the parts; ``transport`` (+ ``_spool``, ``_wire``,
``_discovery``) moves records; ``_plugin_host`` / ``_plugin`` run plugins;
``_config_sync`` / ``_packages`` decide which; ``_tasks`` answers tasks;
``_limits`` applies self-limits; ``heartbeat`` / ``_procstats`` measure.
"""

from ._limits import LimitsStatus, apply_limits
from ._packages import signed_message
from ._plugin import PluginSpec
from ._spool import Spool, SpoolStats
from ._wire import make_record, record_from_frame
from .core import Agent, load_or_enroll, run_agent
from .enrollment import Credentials, enroll
from .errors import (
    AgentError,
    EnrollmentError,
    NotEnrolled,
    PackageRejected,
    PluginError,
    RecordError,
    SpoolError,
    TaskError,
)
from .identity import agent_id

__all__ = ["Agent", "AgentError", "Credentials", "EnrollmentError", "LimitsStatus", "NotEnrolled", "PackageRejected",
           "PluginError", "PluginSpec", "RecordError", "Spool", "SpoolError", "SpoolStats", "TaskError", "agent_id",
           "apply_limits", "enroll", "load_or_enroll", "make_record", "record_from_frame", "run_agent",
           "signed_message"]  # fmt: skip
