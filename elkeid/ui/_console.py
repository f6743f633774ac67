"""The console's state, its blueprint, and how it is installed into the server's Quart app.

Every console request passes :func:`_authenticate`: it resolves the session
cookie and, for any method but GET/HEAD, checks the session's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``), so no mutating route can
forget it. The login form, which has no session yet, checks its own token.
Refusals of the manager's routes, which views call in process (``_actions``),
become error pages here like the console's own errors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import anyio
from jinja2 import Environment
from quart import Blueprint, Quart, Response, current_app, g, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from elkeid import __version__
from elkeid.server.manager import ApiError, accept_packages_at, role_allows
from elkeid.server.store import Conflict, NotFound, StoreError

from ._alertwatch import AlertWatch
from ._feed import LiveFeed
from ._monitor import ConsoleMonitor
from ._nav import NAV, visible
from ._secret import SECRET_FILE, load_or_create_secret
from ._sessions import MISSING, SESSION_COOKIE, ConsoleSettings, Session, Sessions
from ._static import StaticFile, load_static
from ._templates import make_environment
from ._throttle import LoginThrottle
from ._taskwatch import TaskWatch
from .errors import ActionRefused, ConsoleError, CsrfRejected, NotLoggedIn, StoreUnavailable, TooManyAttempts

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__)

EXTENSION = "elkeid.console"
#: Long-lived tasks the HTTPS listener runs beside the app (see manager._app.serve_https).
SERVICES = "elkeid.services"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Endpoints served without a session (the login form checks its own CSRF token).
PUBLIC_ENDPOINTS = frozenset({"console.login", "console.login_submit", "console.static"})
#: A fetch by the page's own script (a live refresh), not a person: it does not count as activity.
BACKGROUND_HEADER = "X-Elkeid-Background"
#: The components page's upload form takes plugin packages (a larger body than other requests).
UPLOAD_PATH = "/components/upload"
#: No script or style but our own files; nothing may frame the console.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")  # fmt: skip


@dataclass
class Console:
    ctx: object
    settings: ConsoleSettings
    sessions: Sessions
    feed: LiveFeed
    monitor: ConsoleMonitor
    tasks: TaskWatch
    alerts: AlertWatch
    env: Environment
    static: dict[str, StaticFile]
    user_throttle: LoginThrottle
    address_throttle: LoginThrottle


def install_console(app: Quart, ctx, settings: ConsoleSettings | None = None) -> Console:
    """Serve the console at ``/`` from ``app``; its monitor joins ``app.extensions["elkeid.services"]``.

    Raises:
        elkeid.ui.SecretFileError: the session secret under the data directory is unusable.
    """
    from . import _account, _actions, _admin, _alerts, _components, _hostactions, _live, _pages, _rulefiles, _rules, _tasks  # noqa: F401

    settings = settings or ConsoleSettings()
    secret = load_or_create_secret(ctx.config.data_dir / SECRET_FILE)
    feed = LiveFeed()
    console = Console(
        ctx=ctx,
        settings=settings,
        sessions=Sessions(ctx.store, secret, settings),
        feed=feed,
        monitor=ConsoleMonitor(ctx, feed),
        tasks=TaskWatch(ctx, feed),
        alerts=AlertWatch(ctx, feed),
        env=make_environment(),
        static=load_static(),
        user_throttle=LoginThrottle(settings.login_failures_per_user, settings.login_window),
        address_throttle=LoginThrottle(settings.login_failures_per_address, settings.login_window),
    )
    app.extensions[EXTENSION] = console
    app.extensions.setdefault(SERVICES, []).extend((console.monitor.run, console.tasks.run, console.alerts.run))
    app.register_blueprint(bp)
    _actions.check_actions(app)
    accept_packages_at("POST", UPLOAD_PATH)
    return console


def console() -> Console:
    return current_app.extensions[EXTENSION]


def session() -> Session:
    return g.console_session


def may(endpoint: str) -> bool:
    """Whether the session's user may call the API's ``endpoint`` (the route's own role check),
    so pages show only the controls the server would accept."""
    s = g.get("console_session")
    return s is not None and role_allows(s.role, endpoint)


def set_session_cookie(response: Response, value: str) -> None:
    response.set_cookie(SESSION_COOKIE, value, secure=True, httponly=True, samesite="Strict", path="/")
    g.console_cookie_set = True


def clear_cookie(response: Response, name: str = SESSION_COOKIE) -> None:
    response.delete_cookie(name, secure=True, httponly=True, samesite="Strict", path="/")
    if name == SESSION_COOKIE:
        g.console_cookie_set = True


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or len(target) > 2048:
        return default
    # Browsers drop tabs and newlines from URLs and read "\" as "/": "/\t/evil" would be "//evil".
    if any(ch == "\\" or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return default
    return target


def login_redirect(why: str) -> Response:
    path = request.full_path.rstrip("?") if request.query_string else request.path
    args = {"next": path} if path != "/" else {}
    if why != MISSING:
        args["why"] = why
    response = redirect(url_for("console.login") + ("?" + urlencode(args) if args else ""))
    if why != MISSING:
        clear_cookie(response)
    return response


def render(template: str, http_status: int = 200, **values) -> Response:
    """A page from ``template`` with the layout's values (user, navigation, CSRF token)."""
    c = console()
    s = g.get("console_session")
    values.setdefault("active", "")
    html = c.env.get_template(template).render(
        user=s,
        nav=visible(s.role) if s else [],
        all_pages=NAV,
        csrf_token=s.csrf_token if s else "",
        may=may,
        url_for=url_for,
        static=lambda name: url_for("console.static", name=name, v=c.static[name].digest),
        version=__version__,
        now=time.time(),
        **values,
    )
    return Response(html, http_status, content_type="text/html; charset=utf-8")


@bp.before_request
async def _authenticate():
    g.console_session = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    c = console()
    s, why = await anyio.to_thread.run_sync(c.sessions.resolve, request.cookies.get(SESSION_COOKIE))
    if s is None:
        if request.method in SAFE_METHODS and request.endpoint != "console.live":
            return login_redirect(why)
        raise NotLoggedIn("you are not logged in, or your session has ended; log in again")
    g.console_session = s
    if request.method not in SAFE_METHODS:
        supplied = request.headers.get("X-CSRF-Token")
        if supplied is None:
            supplied = (await request.form).get("csrf_token")
        if not c.sessions.csrf_matches(s.csrf_token, supplied):
            log.warning("console: %s %s by %s refused: missing or wrong CSRF token", request.method, request.path,
                        s.username)  # fmt: skip
            raise CsrfRejected("this request did not carry the page's CSRF token; reload the page and try again")
    return None


@bp.after_request
async def _finish(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    s = g.get("console_session")
    if (s is not None and not g.get("console_cookie_set") and request.endpoint != "console.live"
            and BACKGROUND_HEADER not in request.headers):  # fmt: skip
        if console().sessions.needs_refresh(s):
            set_session_cookie(response, console().sessions.cookie_value(s))
    return response


@bp.errorhandler(ConsoleError)
async def _console_error(exc: ConsoleError):
    if request.endpoint == "console.live" or request.headers.get("X-CSRF-Token") is not None:
        response = Response(exc.message, exc.status, content_type="text/plain; charset=utf-8")
    else:
        response = render("error.html", exc.status, error=exc)
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(ApiError)
async def _api_error(exc: ApiError):
    return await _console_error(ActionRefused(exc.message, exc.status))


@bp.errorhandler(NotFound)
async def _not_found(exc: NotFound):
    return await _console_error(ActionRefused(str(exc), 404))


@bp.errorhandler(Conflict)
async def _conflict(exc: Conflict):
    return await _console_error(ActionRefused(str(exc), 409))


@bp.errorhandler(HTTPException)
async def _http_error(exc: HTTPException):
    return await _console_error(ActionRefused(exc.description or exc.name, exc.code or 500))


@bp.errorhandler(StoreError)
async def _store_error(exc: StoreError):
    log.error("console: the store failed: %s", exc)
    error = StoreUnavailable(f"the database could not be read or written ({exc}); try again shortly")
    return render("error.html", error.status, error=error)
