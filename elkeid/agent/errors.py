"""Agent errors.

    AgentError
    ├── EnrollmentError      the server refused us, or the CA pin does not match
    └── NotEnrolled          no credentials in the data directory and no token given
"""


class AgentError(Exception):
    """Root of every agent error."""


class EnrollmentError(AgentError):
    """Enrollment failed; the message says why and what to check."""


class NotEnrolled(AgentError):
    """The data directory holds no credentials and no enrollment token was given."""
