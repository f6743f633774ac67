"""API errors: each becomes a JSON body ``{"error": {"code", "message"}}`` with its status.

    ApiError
    ├── BadRequest (400)       malformed JSON, wrong types, missing fields
    │   └── RulesInvalid (400) a rule change refused: ``errors`` lists each with file and line
    ├── Unauthorized (401)     no or expired bearer token, bad credentials
    ├── Forbidden (403)        the role does not allow this
    ├── NotFoundError (404)
    ├── ConflictError (409)
    └── TooManyRequests (429)  login throttling
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class RulesInvalid(BadRequest):
    """A rule file (or a change to the rules) that would bring errors; nothing changed."""

    code = "rules_invalid"

    def __init__(self, message: str, errors: list[dict]) -> None:
        super().__init__(message)
        self.errors = errors

    def body(self) -> dict:
        return {**super().body(), "errors": self.errors}


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFoundError(ApiError):
    status, code = 404, "not_found"


class ConflictError(ApiError):
    status, code = 409, "conflict"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
