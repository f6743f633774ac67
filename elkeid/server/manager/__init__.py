"""Manager: the REST API (/api/v1), enrollment, and the HTTPS listener.

``Manager`` holds the long-lived parts (task rollout and results, plugin config
pushes, login throttling) and runs in the server's task group. Another front end
(the console) runs API routes in process with :func:`call_route` and audits them
with :func:`audit_call`, so it shares their role checks, validation and logic.
"""

from ._alerts import WHITELIST_FIELD
from ._app import create_app, serve_https
from ._audit import audit_call
from ._components import MAX_PACKAGE_BYTES, accept_packages_at
from ._configs import package_message, sign_package
from ._inprocess import ApiRoute, api_route, call_route, role_allows
from ._openapi import build_openapi
from ._passwords import WeakPassword, generate_password, hash_password, verify_password
from ._service import BUILTIN_PLUGINS, Manager
from ._tasks import CORE_OBJECT
from .errors import ApiError

__all__ = ["BUILTIN_PLUGINS", "CORE_OBJECT", "MAX_PACKAGE_BYTES", "WHITELIST_FIELD", "ApiError", "ApiRoute", "Manager",
           "WeakPassword", "accept_packages_at", "api_route", "audit_call", "build_openapi", "call_route", "create_app",
           "generate_password", "hash_password", "package_message", "role_allows", "serve_https", "sign_package",
           "verify_password"]  # fmt: skip
