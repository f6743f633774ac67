from __future__ import annotations

import pytest

from elkeid.ui import Console

from ._client import Browser, close_context, make_context


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path / "server")
    yield context
    close_context(context)


@pytest.fixture
def app(ctx):
    from elkeid.server.manager import create_app

    return create_app(ctx)


@pytest.fixture
def console(app) -> Console:
    return app.extensions["elkeid.console"]


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app)


@pytest.fixture
async def rules_ctx(ctx):
    """The test context with the rule engine's rules loaded (no runner: nothing evaluates)."""
    from elkeid.server.detection import DetectionService

    ctx.detection = DetectionService(ctx)
    await ctx.detection.rules.start()
    return ctx
