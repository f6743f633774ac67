"""Console errors: each becomes an HTML error page with its status.

    ConsoleError
    ├── BadForm (400)          a form field is missing, too long or inconsistent
    ├── NotLoggedIn (401)      no session, or it expired (pages redirect to the login form)
    ├── Forbidden (403)        the user's role does not allow this
    │   └── CsrfRejected (403) a mutating request without the session's CSRF token
    ├── PageNotFound (404)     no such host (or page)
    ├── TooManyAttempts (429)  login throttling
    ├── FeatureUnavailable (501)  the server has no data for this page yet
    ├── StoreUnavailable (503) the database failed while serving a page
    ├── LiveFeedBusy (503)     too many live-feed listeners; the browser retries
    ├── ActionRefused (4xx)    the manager refused an action (bad value, role, not found, conflict)
    └── SecretFileError        the console's signing secret cannot be read or written safely
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Root of every console error; ``status`` and ``title`` shape the error page."""

    status = 500
    title = "Internal error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadForm(ConsoleError):
    status, title = 400, "Bad request"


class NotLoggedIn(ConsoleError):
    status, title = 401, "Not logged in"


class Forbidden(ConsoleError):
    status, title = 403, "Not allowed"


class CsrfRejected(Forbidden):
    title = "Request refused (CSRF check)"


class PageNotFound(ConsoleError):
    status, title = 404, "Not found"


class TooManyAttempts(ConsoleError):
    status, title = 429, "Too many attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FeatureUnavailable(ConsoleError):
    status, title = 501, "Not available yet"


class StoreUnavailable(ConsoleError):
    status, title = 503, "Database unavailable"


class LiveFeedBusy(ConsoleError):
    status, title = 503, "Live feed busy"


class ActionRefused(ConsoleError):
    """The manager's route refused what a console form asked (its status and message)."""

    TITLES = {400: "Bad request", 401: "Not logged in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
              413: "Too large", 429: "Too many attempts"}  # fmt: skip

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
        self.title = self.TITLES.get(status, "Request refused" if status < 500 else "Internal error")


class SecretFileError(ConsoleError):
    """The console secret file is unusable (wrong owner, mode or content)."""
