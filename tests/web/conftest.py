"""Real Chromium (Debian's, never a downloaded one) driving the page of a real server.

One browser per session, a fresh context (cookies, storage) per test. Each test starts its
own server process (`start_server`), its mail going to a real SMTP server, and uses one
host name throughout, http://127.0.0.1:<port>: Chromium keeps Secure cookies there, and
would not share them with `localhost`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.support.server import REPO, LiveServer
from tests.support.smtp import SmtpServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Playwright's default is 30 s; a page of this app answers in well under a second, and a
# failing test should say so quickly.
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and REQUIRE_BROWSER=1 says the browser tests must run")
    pytest.skip(f"{reason}: install it (apt-get install chromium) to run the browser tests")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"Debian's Chromium is missing at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page; the test fails if the page's Content-Security-Policy refused anything."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    assert not refused, f"the page broke its own Content-Security-Policy: {refused}"


@pytest.fixture
def web_server(
    start_server: Callable[..., LiveServer], smtp_server: SmtpServer
) -> Callable[..., LiveServer]:
    """Start the app with its mail going to the SMTP server; `env` adds settings."""

    def start(**env: str) -> LiveServer:
        return start_server(
            MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port),
            SMTP_STARTTLS="false", **env,
        )

    return start


@pytest.fixture
def shots() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot under SCREENSHOT_DIR as `<name>.png`."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or REPO / "test-artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str) -> Path:
        path = folder / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
