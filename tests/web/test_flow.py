"""The page's main flow in real Chromium: sign-up to sign-out, with TOTP, by mouse and by
keyboard, and the cookies it leaves in the browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer
from tests.web.pages import (
    Person,
    api_answer,
    button,
    confirm,
    current_step,
    expect_signed_in,
    field,
    mail_code,
    open_page,
    sign_in,
    sign_up,
    sign_up_to_signed_in,
    status,
    totp_code,
)

pytestmark = pytest.mark.browser


class TestWholeFlow:
    def test_sign_up_to_sign_out_with_an_authenticator_app(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer,
        shots: Callable[[Page, str], Path],
    ) -> None:
        server = web_server()
        person = Person.new()
        open_page(page, server)
        expect(page.get_by_role("heading", name="Sign in or sign up")).to_be_visible()
        expect(field(page, "API key")).to_have_count(0)  # USAGE_PLANS is off
        shots(page, "01-signed-out")

        sign_up(page, person)
        expect(page.get_by_role("form", name="Confirm your email")).to_be_visible()
        expect(field(page, "Code")).to_be_focused()
        shots(page, "02-signed-up")
        confirm(page, smtp_server, person)

        sign_in(page, person)
        expect_signed_in(page, person)
        # The sign-in form and its password are gone from the document once signed in.
        expect(field(page, "Password")).to_have_count(0)
        shots(page, "03-signed-in")

        # Enrolment: the QR code as an image, the key as text, then a code from it.
        button(page, "Set up authenticator app").click()
        qr = page.get_by_role("img", name="QR code of the key for your authenticator app")
        expect(qr).to_be_visible()
        assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
        assert page.evaluate("document.getElementById('totp-qr').naturalWidth") > 0
        secret = page.locator("#totp-secret").inner_text().strip()
        assert len(secret) >= 32  # 160 bits of base32
        shots(page, "04-totp-enrolment")

        # Three codes from three steps (each is accepted once per user): no waiting.
        step = current_step()
        field(page, "Code").fill(totp_code(secret, step - 1))
        button(page, "Turn on two-step sign-in").click()
        expect(status(page)).to_contain_text("Two-step sign-in is on")
        expect(page.get_by_role("region", name="Current user")).to_contain_text("Two-step sign-in")
        expect(button(page, "Turn off two-step sign-in")).to_be_visible()

        button(page, "Sign out").click()
        expect(status(page)).to_have_text("Signed out.")
        expect(page.get_by_role("heading", name="Sign in or sign up")).to_be_focused()

        sign_in(page, person)
        expect(page.get_by_role("form", name="Two-step sign-in")).to_be_visible()
        expect(field(page, "Code")).to_be_focused()
        shots(page, "05-mfa-step")
        field(page, "Code").fill(totp_code(secret, step))
        button(page, "Verify code").click()
        expect_signed_in(page, person)

        button(page, "Call /protected").click()
        expect(api_answer(page)).to_contain_text("GET /protected → 200")
        expect(api_answer(page)).to_contain_text(f"Hello {person.username}")
        expect(status(page)).to_contain_text(f"Hello {person.username}")
        shots(page, "06-protected-call")

        button(page, "Call /public").click()
        expect(api_answer(page)).to_contain_text("GET /public → 200")

        field(page, "Code").fill(totp_code(secret, step + 1))
        button(page, "Turn off two-step sign-in").click()
        expect(status(page)).to_have_text("Two-step sign-in is off.")
        expect(button(page, "Set up authenticator app")).to_be_visible()

        button(page, "Sign out").click()
        expect(status(page)).to_have_text("Signed out.")
        button(page, "Call /protected").click()
        expect(api_answer(page)).to_contain_text("GET /protected → 401")
        expect(status(page)).to_contain_text("/protected refused: you are not signed in")
        shots(page, "07-refused-after-sign-out")

        # Two-step sign-in is off again: the password alone signs in.
        sign_in(page, person)
        expect_signed_in(page, person)

    def test_a_reload_keeps_the_person_signed_in(
        self, page: Page, context: BrowserContext, web_server: Callable[..., LiveServer],
        smtp_server: SmtpServer,
    ) -> None:
        server = web_server()
        person = Person.new()
        open_page(page, server)
        sign_up_to_signed_in(page, smtp_server, person)

        open_page(page, server)
        expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
        expect(page.get_by_role("region", name="Current user")).to_contain_text(person.username)

        # The ID token gone (as when it expires): the page refreshes it with the refresh
        # cookie instead of saying the person is signed out.
        context.clear_cookies(name="token")
        with page.expect_response("**/auth/refresh") as refreshed:
            open_page(page, server)
        assert refreshed.value.status == 200
        expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
        assert any(c["name"] == "token" for c in context.cookies(server.url))


class TestCookies:
    def test_the_token_never_reaches_scripts_and_writes_carry_the_csrf_token(
        self, page: Page, context: BrowserContext, web_server: Callable[..., LiveServer],
        smtp_server: SmtpServer,
    ) -> None:
        server = web_server()
        person = Person.new()
        open_page(page, server)
        sign_up_to_signed_in(page, smtp_server, person)

        visible = {
            part.split("=", 1)[0].strip()
            for part in page.evaluate("document.cookie").split(";") if part.strip()
        }
        assert visible == {"csrf_token"}, visible
        stored = {c["name"]: c for c in context.cookies([server.url, f"{server.url}/auth/"])}
        assert {"token", "access_token", "refresh_token", "csrf_token"} <= set(stored)
        for name in ("token", "access_token", "refresh_token"):
            assert stored[name]["httpOnly"] is True, name
            assert stored[name]["secure"] is True, name
            assert stored[name]["sameSite"] == "Lax", name
        assert stored["csrf_token"]["httpOnly"] is False

        with page.expect_request(lambda r: r.url.endswith("/auth/signout")) as sent:
            button(page, "Sign out").click()
        assert sent.value.method == "POST"
        assert sent.value.headers.get("x-csrf-token") == stored["csrf_token"]["value"]
        expect(status(page)).to_have_text("Signed out.")
        left = {c["name"] for c in context.cookies([server.url, f"{server.url}/auth/"])}
        assert not left & {"token", "access_token", "refresh_token", "csrf_token"}, left


    def test_sign_out_still_works_when_the_csrf_cookie_is_gone(
        self, page: Page, context: BrowserContext, web_server: Callable[..., LiveServer],
        smtp_server: SmtpServer,
    ) -> None:
        """Only csrf_token lost (cleared by hand, or by a cookie limit): the POST is refused,
        and the page signs out through the same-site GET, which needs no token."""
        server = web_server()
        open_page(page, server)
        sign_up_to_signed_in(page, smtp_server, Person.new())
        context.clear_cookies(name="csrf_token")

        with page.expect_request(lambda r: r.url.endswith("/auth/signout")
                                 and r.method == "GET") as fallback:
            button(page, "Sign out").click()
        assert fallback.value.all_headers().get("sec-fetch-site") == "same-origin"
        expect(status(page)).to_have_text("Signed out.")
        left = {c["name"] for c in context.cookies([server.url, f"{server.url}/auth/"])}
        assert not left & {"token", "access_token", "refresh_token"}, left


    def test_a_sign_out_the_server_could_not_complete_still_shows_signed_out(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer,
    ) -> None:
        """Cognito out of reach: the server clears the cookies and answers 503 (see
        tests/identity/test_cognito_unreachable.py); the page must not stay signed in."""
        server = web_server()
        open_page(page, server)
        sign_up_to_signed_in(page, smtp_server, Person.new())
        message = ("This browser is signed out, but the identity service could not end your "
                   "sessions elsewhere just now. Sign in and out again later to end them.")
        page.route("**/auth/signout", lambda route: route.fulfill(
            status=503, content_type="application/json", headers={"Retry-After": "5"},
            body=json.dumps({"error": "ServiceUnavailable", "message": message}),
        ))
        button(page, "Sign out").click()
        expect(status(page)).to_contain_text("This browser is signed out")
        expect(button(page, "Sign in")).to_be_visible()
        expect(button(page, "Sign out")).to_be_hidden()


class TestKeyboard:
    def test_sign_up_confirm_sign_in_and_call_with_the_keyboard_only(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        server = web_server()
        person = Person.new("keys")
        open_page(page, server)
        keyboard = page.keyboard

        keyboard.press("Tab")
        expect(field(page, "Username")).to_be_focused()
        keyboard.type(person.username)
        keyboard.press("Tab")
        expect(field(page, "Email")).to_be_focused()
        keyboard.type(person.email)
        keyboard.press("Tab")
        expect(field(page, "Password")).to_be_focused()
        keyboard.type(person.password)
        keyboard.press("Tab")
        expect(button(page, "Sign in")).to_be_focused()
        keyboard.press("Tab")
        expect(button(page, "Sign up")).to_be_focused()
        # The focused control shows it: an outline of its own, not the browser's faint one.
        outline = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
        )
        assert outline[0] != "none" and outline[1] >= 2, outline
        keyboard.press("Enter")
        expect(status(page)).to_contain_text(f"Signed up as {person.username}")

        # Focus moves to the code; Enter there confirms (that form's default button).
        expect(field(page, "Code")).to_be_focused()
        keyboard.type(mail_code(smtp_server, person.email))
        keyboard.press("Enter")
        expect(status(page)).to_contain_text("Your account is confirmed")

        # Then to the password, still filled in: Enter signs in.
        expect(field(page, "Password")).to_be_focused()
        keyboard.press("Enter")
        expect_signed_in(page, person)
        expect(page.get_by_role("heading", name="Signed in")).to_be_focused()

        protected = button(page, "Call /protected")
        for _ in range(12):
            keyboard.press("Tab")
            if protected.evaluate("element => element === document.activeElement"):
                break
        else:
            pytest.fail("Tab never reached Call /protected")
        keyboard.press("Enter")
        expect(api_answer(page)).to_contain_text("GET /protected → 200")
        expect(api_answer(page)).to_contain_text(f"Hello {person.username}")
        # The button keeps the focus through its busy state, for the next Enter.
        expect(protected).to_be_focused()
