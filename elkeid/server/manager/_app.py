"""The Quart application and its Hypercorn listener (HTTPS, server certificate)."""

from __future__ import annotations

import logging
import socket
import ssl

import anyio
from anyio.abc import TaskStatus
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart, Request, jsonify
from werkzeug.exceptions import HTTPException

from elkeid.config import HostPort
from elkeid.server.store import Conflict, NotFound

from . import _agents, _alerts, _api, _assets, _audit, _components, _enroll, _events, _notifications, _rules, _tasks, _users
from .errors import ApiError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024


class _Request(Request):
    """Quart's request with a per-route body limit (plugin packages may be larger than JSON bodies).

    The limit must be known when the request object is made: Quart starts
    buffering the body before the route runs.
    """

    def __init__(self, method: str, scheme: str, path: str, *args, **kwargs) -> None:
        larger = _components.max_body_for(method, path)
        if larger is not None:
            kwargs["max_content_length"] = larger
        super().__init__(method, scheme, path, *args, **kwargs)
        if larger is not None:
            self.max_content_length = larger


def create_app(ctx, *, console: bool = True) -> Quart:
    """The Quart app: API, enrollment and (unless ``console`` is False) the browser console."""
    app = Quart("elkeid")
    app.request_class = _Request
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["elkeid"] = ctx
    for blueprint in (_api.bp, _enroll.bp, _events.bp, _agents.bp, _users.bp, _tasks.bp, _components.bp, _audit.bp,
                      _assets.bp, _alerts.bp, _rules.bp, _notifications.bp):
        app.register_blueprint(blueprint)
    app.after_request(_audit.record)

    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError):
        return jsonify(exc.body()), exc.status, exc.headers()

    # The store's errors are translated here, once, for every route.
    @app.errorhandler(NotFound)
    async def _not_found(exc: NotFound):
        return jsonify({"error": {"code": "not_found", "message": str(exc)}}), 404

    @app.errorhandler(Conflict)
    async def _conflict(exc: Conflict):
        return jsonify({"error": {"code": "conflict", "message": str(exc)}}), 409

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException):
        return jsonify({"error": {"code": exc.name.lower().replace(" ", "_"), "message": exc.description}}), exc.code

    @app.get("/healthz")
    async def healthz():
        return {"ok": True, "agents_connected": len(ctx.hub)}

    if console:
        from elkeid.ui import install_console  # late: elkeid.ui imports this package's password helpers

        install_console(app, ctx)
    return app


async def serve_https(
    app: Quart, ctx, listen: HostPort, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Serve ``app`` over HTTPS on ``listen`` until cancelled; reports the bound port."""
    config = HypercornConfig()
    if listen.port == 0:
        # Bind here so the real port is known; Hypercorn takes over the socket.
        sock = _bound_socket(listen.host)
        port = sock.getsockname()[1]
        config.bind = [f"fd://{sock.detach()}"]
    else:
        port = listen.port
        config.bind = [str(listen)]
    config.certfile = str(ctx.pki.server_cert_path)
    config.keyfile = str(ctx.pki.server_key_path)
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 1.0
    config.include_server_header = False
    stop, stopped = anyio.Event(), anyio.Event()

    async def _serve() -> None:
        # Hypercorn must be stopped through its shutdown trigger: cancelling it
        # with requests in flight leaves its internal futures in a broken state.
        try:
            with anyio.CancelScope(shield=True):
                await serve(app, config, shutdown_trigger=stop.wait, mode="asgi")
        finally:
            stopped.set()

    async with anyio.create_task_group() as tg:
        # Parts that live beside the app (the console's monitor), started before it serves.
        for service in app.extensions.get("elkeid.services", []):
            await tg.start(service)
        tg.start_soon(_serve)
        await _wait_listening(listen.host, port)
        log.info("HTTPS (console, API, enrollment) listening on %s:%d", listen.host, port)
        task_status.started(port)
        try:
            await anyio.sleep_forever()
        finally:
            stop.set()
            with anyio.CancelScope(shield=True):
                await stopped.wait()


def _bound_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _wait_listening(host: str, port: int) -> None:
    """Return once the listener accepts connections (Hypercorn has no started callback)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    with anyio.fail_after(10):
        while True:
            try:
                stream = await anyio.connect_tcp(target, port)
            except OSError:
                await anyio.sleep(0.02)
                continue
            await stream.aclose()
            return


def ssl_context_for(ctx) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ctx.pki.server_cert_path, ctx.pki.server_key_path)
    return context
