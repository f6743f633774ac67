"""Browser fixtures: a headless Chromium per test module, a fresh context (no cookies) per tab.

Module scope, not session: Playwright's sync API keeps an asyncio loop marked as running in
this thread while it lives, and the anyio tests elsewhere in the run need to start their own.
"""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import sync_playwright

from ._chromium import ConsolePage, launch, screenshot_root


@pytest.fixture(scope="module")
def chromium(server):
    with sync_playwright() as playwright:
        browser = launch(playwright, (server.data_dir / "pki" / "server.crt").read_bytes())
        yield browser
        browser.close()


@pytest.fixture
def shots(request):
    """This test's screenshot folder, emptied first."""
    folder = screenshot_root() / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture
def open_tab(chromium, server, shots):
    """``open_tab(name)``: a new browser (own cookies) on the console; all are closed after the test."""
    contexts = []

    def _open(name: str = "") -> ConsolePage:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return ConsolePage(context, server.url, shots, name)

    yield _open
    for context in contexts:
        context.close()
