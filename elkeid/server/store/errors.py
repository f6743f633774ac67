"""Store errors.

    StoreError
    ├── DatabaseUnavailable   cannot connect / the URL is wrong
    ├── NotFound              the named row does not exist
    ├── Conflict              a unique name is already taken
    ├── TokenRejected         an enrollment token is unknown, used or expired
    └── UploadRefused         an upload token is unknown, another agent's, expired or used
"""


class StoreError(Exception):
    """Root of every store error."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached or its URL is invalid."""


class NotFound(StoreError):
    """The requested row does not exist."""


class Conflict(StoreError):
    """A row with that key already exists."""


class TokenRejected(StoreError):
    """An enrollment token is unknown, already used, or expired."""


class UploadRefused(StoreError):
    """An upload token is unknown, belongs to another agent, expired, or was used."""
