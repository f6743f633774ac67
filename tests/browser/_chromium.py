"""Debian's Chromium, headless, driven by Playwright; a screenshot of every page a test visits."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
# This machine has no internet: without these Chromium floods refused connections.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT_ENV = "ELKEID_SCREENSHOT_DIR"
REPO = Path(__file__).resolve().parents[2]


def screenshot_root() -> Path:
    """Where screenshots go: $ELKEID_SCREENSHOT_DIR, else test-artifacts/screenshots in the repository."""
    return Path(os.environ.get(SCREENSHOT_ENV) or REPO / "test-artifacts" / "screenshots")


def spki_pin(cert_pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate, as Chromium's pin list wants it."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def launch(playwright: Playwright, server_cert_pem: bytes) -> Browser:
    """Chromium that trusts exactly this server certificate (pinned by key), nothing else extra."""
    pin = "--ignore-certificate-errors-spki-list=" + spki_pin(server_cert_pem)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, pin], headless=True)


class ConsolePage:
    """A tab on the console that screenshots every page it lands on and records what would
    mean a script ran or was blocked: dialogs, page errors, console errors (CSP reports)."""

    def __init__(self, context: BrowserContext, base_url: str, shots: Path, name: str = "") -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.shots = shots
        self.name = name
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def snap(self, label: str = "") -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        n = len(list(self.shots.glob("*.png"))) + 1
        slug = re.sub(r"[^a-z0-9]+", "-", (label or self.page.url.split("//", 1)[-1].split("/", 1)[-1] or "root").lower())
        path = self.shots / f"{n:02d}-{self.name + '-' if self.name else ''}{slug.strip('-')[:60] or 'root'}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def goto(self, path: str, label: str = ""):
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        self.snap(label or path)
        return response

    def follow(self, selector: str, label: str = "") -> None:
        """Click a link or submit button, wait for the page it leads to, and screenshot it."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.page.wait_for_load_state("load")
        self.snap(label)

    def login(self, username: str, password: str) -> None:
        self.goto("/login", "login form")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.follow("form[action='/login'] button[type=submit]", f"login submitted as {username}")

    def assert_clean(self) -> None:
        """No dialog opened, no script error, no CSP violation on any page so far."""
        assert self.dialogs == [], f"a script ran: {self.dialogs}"
        assert self.errors == [], self.errors
