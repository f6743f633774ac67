"""``elkeid agent``: the core that enrolls, streams records to the server and hosts plugins."""

from .core import Agent, load_or_enroll, run_agent
from .enrollment import Credentials, enroll
from .errors import AgentError, EnrollmentError, NotEnrolled
from .identity import agent_id

__all__ = ["Agent", "AgentError", "Credentials", "EnrollmentError", "NotEnrolled", "agent_id", "enroll",
           "load_or_enroll", "run_agent"]  # fmt: skip
