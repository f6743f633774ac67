"""Manager: the REST API (/api/v1), enrollment, and the HTTPS listener.

``Manager`` holds the long-lived parts (task rollout and results, plugin config
pushes, login throttling) and runs in the server's task group.
"""

from ._app import create_app, serve_https
from ._configs import package_message, sign_package
from ._openapi import build_openapi
from ._passwords import WeakPassword, generate_password, hash_password, verify_password
from ._service import BUILTIN_PLUGINS, Manager
from .errors import ApiError

__all__ = ["BUILTIN_PLUGINS", "ApiError", "Manager", "WeakPassword", "build_openapi", "create_app",
           "generate_password", "hash_password", "package_message", "serve_https", "sign_package",
           "verify_password"]  # fmt: skip
