"""Manager: the REST API (/api/v1), enrollment, and the HTTPS listener."""

from ._app import create_app, serve_https
from ._passwords import WeakPassword, generate_password, hash_password, verify_password
from .errors import ApiError

__all__ = ["ApiError", "WeakPassword", "create_app", "generate_password", "hash_password", "serve_https",
           "verify_password"]  # fmt: skip
