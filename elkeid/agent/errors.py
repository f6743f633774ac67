"""Agent errors.

    AgentError
    ├── EnrollmentError      the server refused us, or the CA pin does not match
    ├── NotEnrolled          no credentials in the data directory and no token given
    ├── SpoolError           the on-disk spool cannot be opened or written
    ├── PluginError          a plugin cannot be started or spoke garbage on its pipe
    │   └── RecordError      one record frame is not a valid bridge.Record
    ├── PackageRejected      a plugin package failed download, hash or signature checks
    ├── TaskError            a core task (1050/1051/1060) cannot be carried out
    └── DiscoveryMemoryError the remembered discovery answer on disk is not one the agent wrote
"""


class AgentError(Exception):
    """Root of every agent error."""


class EnrollmentError(AgentError):
    """Enrollment failed; the message says why and what to check."""


class NotEnrolled(AgentError):
    """The data directory holds no credentials and no enrollment token was given."""


class SpoolError(AgentError):
    """The spool database cannot be used (disk full, unreadable, damaged beyond repair)."""


class PluginError(AgentError):
    """A plugin cannot be started, or broke the pipe protocol."""


class RecordError(PluginError):
    """A record frame from a plugin is not a well-formed bridge.Record; it is skipped."""


class PackageRejected(AgentError):
    """A plugin package was refused: download failed, wrong SHA-256, or bad signature."""


class TaskError(AgentError):
    """A core task has bad data or failed; the message goes back to the server with the token."""


class DiscoveryMemoryError(AgentError):
    """The remembered service-discovery answer is damaged or hostile; it is ignored, the message names the file."""
