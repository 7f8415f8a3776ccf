"""Calling the API from the page: API keys under usage plans, a phone-sized screen, and
the page served from another origin (data-api-base, CORS, credentials)."""

from __future__ import annotations

import functools
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.web.router import STATIC_DIR
from tests.support.net import free_port
from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer
from tests.web.pages import (
    Person,
    api_answer,
    button,
    confirm,
    create_api_key,
    expect_signed_in,
    field,
    open_page,
    sign_in,
    sign_up,
    sign_up_to_signed_in,
    status,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


class TestApiKeys:
    def test_the_api_key_field_and_the_usage_plan_refusal(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        server = web_server(USAGE_PLANS="local")
        person = Person.new("keyed")
        open_page(page, server)
        expect(field(page, "API key")).to_be_visible()

        sign_up_to_signed_in(page, smtp_server, person)  # /auth/* needs no key

        button(page, "Call /protected").click()
        expect(api_answer(page)).to_contain_text("GET /protected → 403")
        expect(status(page)).to_have_text(
            "/protected refused: This call needs a valid API key: enter one in API key."
        )

        field(page, "API key").fill(create_api_key(server))
        with page.expect_request(lambda r: r.url.endswith("/protected")) as sent:
            button(page, "Call /protected").click()
        assert sent.value.headers.get("x-api-key")
        expect(api_answer(page)).to_contain_text("GET /protected → 200")
        expect(api_answer(page)).to_contain_text(f"Hello {person.username}")


def assert_fits(page: Page) -> None:
    """No horizontal scroll, and every visible control wholly inside the width."""
    width = page.evaluate("document.documentElement.clientWidth")
    assert width == PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    controls = page.locator("main input, main button, main a, main img, main pre, main code")
    for control in controls.all():
        if not control.is_visible():
            continue
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (
            control.evaluate("e => e.outerHTML.slice(0, 80)"), box)


class TestPhoneWidth:
    def test_the_page_fits_375_pixels(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer,
        shots: Callable[[Page, str], Path],
    ) -> None:
        server = web_server(USAGE_PLANS="local")
        page.set_viewport_size(PHONE)
        person = Person.new("phone")
        open_page(page, server)
        for label in ("Username", "Email", "Password", "API key"):
            expect(field(page, label)).to_be_visible()
        for name in ("Sign in", "Sign up", "Send reset code", "Call /public", "Call /protected"):
            expect(button(page, name)).to_be_visible()
        assert_fits(page)
        shots(page, "08-phone-width")

        sign_up(page, person)
        assert_fits(page)
        confirm(page, smtp_server, person)
        sign_in(page, person)
        expect_signed_in(page, person)
        button(page, "Set up authenticator app").click()
        expect(page.locator("#totp-secret")).not_to_be_empty()
        button(page, "Call /protected").click()  # no key: a long refusal and JSON body
        expect(api_answer(page)).to_contain_text("403")
        assert_fits(page)
        shots(page, "09-phone-width-signed-in")


class StaticSite:
    """A copy of the page on another port of 127.0.0.1: another origin, the same site."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadingHTTPServer | None = None

    def serve(self, api_base: str) -> None:
        """Serve the page as a static host would, told where the API is by data-api-base."""
        shutil.copytree(STATIC_DIR, self.folder / "static")
        page = (STATIC_DIR / "index.html").read_text()
        configured = page.replace('data-api-base=""', f'data-api-base="{api_base}"', 1)
        assert configured != page
        (self.folder / "index.html").write_text(configured)

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

        handler = functools.partial(Quiet, directory=str(self.folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[StaticSite]:
    site = StaticSite(tmp_path / "frontend")
    yield site
    site.stop()


class TestCrossOrigin:
    def test_the_page_on_another_origin_talks_to_the_api_with_credentials(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer,
        static_site: StaticSite,
    ) -> None:
        server = web_server(CORS_ALLOW_ORIGINS=static_site.url)
        static_site.serve(api_base=f"{server.url}/")
        person = Person.new("cors")

        page.goto(f"{static_site.url}/")
        expect(page.locator("html")).to_have_attribute("data-ready", "true")
        with page.expect_request(lambda r: "/auth/signup" in r.url) as sent:
            sign_up(page, person)
        assert sent.value.url == f"{server.url}/auth/signup"
        confirm(page, smtp_server, person)
        sign_in(page, person)
        expect_signed_in(page, person)
        button(page, "Call /protected").click()
        expect(api_answer(page)).to_contain_text(f"Hello {person.username}")
        button(page, "Sign out").click()  # a write: the CSRF token crossed over too
        expect(status(page)).to_have_text("Signed out.")

        # A lockout's Retry-After is readable across origins (CORS exposes it).
        field(page, "Username").fill(Person.new("locked").username)
        field(page, "Password").fill("Wrong-Password-1")
        for _ in range(12):
            with page.expect_response("**/auth/signin") as answered:
                button(page, "Sign in").click()
            if answered.value.status == 429:
                break
        expect(status(page)).to_have_text(re.compile(r"^Too many attempts: try again in \d+ s$"))
