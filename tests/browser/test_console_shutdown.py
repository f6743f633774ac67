"""A browser holding the live feed open does not hold up the server's shutdown."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import sync_playwright

from ._chromium import ConsolePage, launch

pytestmark = pytest.mark.browser


def test_server_stops_promptly_with_a_live_page_open(fresh_server, shots):
    fresh_server.start()
    with sync_playwright() as playwright:
        browser = launch(playwright, (fresh_server.data_dir / "pki" / "server.crt").read_bytes())
        try:
            tab = ConsolePage(browser.new_context(), fresh_server.url, shots)
            tab.login("admin", fresh_server.admin_password)
            tab.page.wait_for_selector("[data-live-state]:text('live')")
            started = time.monotonic()
            assert fresh_server.stop(timeout=15) == 0
            assert time.monotonic() - started < 10
            # The page notices and keeps trying, as EventSource does.
            tab.page.wait_for_selector("[data-live-state]:text('reconnecting…')", timeout=15_000)
            tab.snap("server gone, page reconnecting")
        finally:
            browser.close()
