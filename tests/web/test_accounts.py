"""The page's other account paths: password reset, a set-for-you password, and how
failures read (wrong password, lockout, missing fields), with the busy state between;
and the text-message step of two-step sign-in."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.outbox import Outbox
from tests.support.server import REPO, LiveServer
from tests.support.smtp import SmtpServer
from tests.web.pages import (
    Person,
    button,
    expect_signed_in,
    field,
    mail_code,
    open_page,
    sign_in,
    sign_up,
    signed_up_and_confirmed,
    status,
)

pytestmark = pytest.mark.browser


class TestPasswordReset:
    def test_forgot_password_then_sign_in_with_the_new_one(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        server = web_server()
        person = Person.new("reset")
        open_page(page, server)
        signed_up_and_confirmed(page, smtp_server, person)

        button(page, "Send reset code").click()
        expect(page.get_by_role("form", name="Reset your password")).to_be_visible()
        expect(status(page)).to_contain_text("We sent a reset code")
        field(page, "Code").fill(mail_code(smtp_server, person.email, nth=2))
        field(page, "New password").fill("Another-Horse-8-Staple")
        button(page, "Reset password").click()
        expect(status(page)).to_contain_text("Your password has been reset")

        person.password = "Another-Horse-8-Staple"
        sign_in(page, person)
        expect_signed_in(page, person)


class TestSmsMfa:
    def test_sign_in_through_the_text_message_step(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        server = web_server()
        sms = Outbox(Path(server.env["OUTBOX_DIR"]))  # SMS goes to the outbox, not SMTP
        person = Person.new("sms")
        phone = "+15555550123"
        # The page has no phone settings: the phone is verified and SMS MFA turned on
        # through the API, as a mobile client would, with a Bearer token.
        with httpx.Client(base_url=server.url) as api:
            api.post("/auth/signup", json={"username": person.username, "email": person.email,
                                           "password": person.password,
                                           "phone_number": phone}).raise_for_status()
            api.post("/auth/confirm_signup", json={
                "username": person.username, "code": mail_code(smtp_server, person.email),
            }).raise_for_status()
            token = api.post("/auth/signin", json={"username": person.username,
                                                   "password": person.password}).json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            api.post("/auth/verify_attribute", json={"attribute": "phone_number"},
                     headers=bearer).raise_for_status()
            api.post("/auth/confirm_attribute", headers=bearer, json={
                "attribute": "phone_number", "code": sms.latest_code(phone, channel="sms"),
            }).raise_for_status()
            api.post("/auth/mfa/sms", json={"enabled": True}, headers=bearer).raise_for_status()
            sent_before = len(sms.messages(phone))

        open_page(page, server)
        sign_in(page, person)
        expect(page.get_by_role("form", name="Two-step sign-in")).to_contain_text(
            "we sent by text message to"
        )
        expect(status(page)).to_contain_text("Two-step sign-in: we sent a code by text message")
        assert len(sms.messages(phone)) == sent_before + 1
        field(page, "Code").fill(sms.latest_code(phone, channel="sms"))
        with page.expect_request("**/auth/signin/challenge") as sent:
            button(page, "Verify code").click()
        assert json.loads(sent.value.post_data or "{}")["challenge"] == "SMS_MFA"
        expect_signed_in(page, person)


class TestNewPasswordRequired:
    def test_a_user_created_by_an_operator_chooses_a_password_at_first_sign_in(
        self, page: Page, web_server: Callable[..., LiveServer]
    ) -> None:
        server = web_server()
        person = Person.new("admin")
        created = subprocess.run(
            [sys.executable, "-m", "app", "users", "create", person.username, "--email",
             person.email, "--temporary-password", "Temporary-Pass-1!", "--json"],
            cwd=REPO, env=server.env, capture_output=True, text=True, check=False,
        )
        assert created.returncode == 0, created.stderr

        open_page(page, server)
        field(page, "Username").fill(person.username)
        field(page, "Password").fill("Temporary-Pass-1!")
        button(page, "Sign in").click()
        expect(page.get_by_role("form", name="Choose a new password")).to_be_visible()
        expect(field(page, "New password")).to_be_focused()
        field(page, "New password").fill(person.password)
        button(page, "Set new password").click()
        expect(status(page)).to_have_text(f"Signed in as {person.username}.")


class TestMessages:
    def test_failures_read_as_a_person_would_want(
        self, page: Page, web_server: Callable[..., LiveServer]
    ) -> None:
        server = web_server()
        open_page(page, server)

        # A missing field is named, marked and focused before anything is sent.
        field(page, "Username").fill("nobody")
        field(page, "Password").fill("Wrong-Password-1")
        button(page, "Sign up").click()
        expect(status(page)).to_have_text("Enter your Email to sign up.")
        expect(field(page, "Email")).to_be_focused()
        expect(field(page, "Email")).to_have_attribute("aria-invalid", "true")

        # Unknown user and wrong password: the API's own words.
        button(page, "Sign in").click()
        expect(status(page)).to_have_text("Incorrect username or password.")

        # While a request runs: buttons disabled, <main> busy; then a lockout's Retry-After.
        held: list[Route] = []
        page.route("**/auth/signin", lambda route: held.append(route))
        button(page, "Sign in").click()
        expect(page.locator("main")).to_have_attribute("aria-busy", "true")
        expect(button(page, "Sign in")).to_be_disabled()
        expect(button(page, "Call /protected")).to_be_disabled()
        for _ in range(100):  # the handler runs when Playwright next reads its events
            if held:
                break
            page.wait_for_timeout(20)
        assert len(held) == 1
        held[0].fulfill(
            status=429, headers={"Retry-After": "7"}, content_type="application/json",
            body=json.dumps({"error": "TooManyFailedAttempts",
                             "message": "Too many failed sign-in attempts."}),
        )
        expect(status(page)).to_have_text("Too many attempts: try again in 7 s")
        expect(page.locator("main")).to_have_attribute("aria-busy", "false")
        expect(button(page, "Sign in")).to_be_enabled()

        # A server that cannot be reached says so, not "Failed to fetch".
        page.unroute("**/auth/signin")
        page.route("**/auth/signin", lambda route: route.abort())
        button(page, "Sign in").click()
        expect(status(page)).to_have_text(
            "Cannot reach the server. Check your connection and try again."
        )

    def test_an_unconfirmed_account_is_offered_its_code_again(
        self, page: Page, web_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        server = web_server()
        person = Person.new("later")
        open_page(page, server)
        sign_up(page, person)
        open_page(page, server)  # the person comes back later, with the code
        field(page, "Username").fill(person.username)
        button(page, "Enter your code").click()
        expect(field(page, "Code")).to_be_focused()
        button(page, "Cancel").click()
        expect(field(page, "Code")).to_have_count(0)

        sign_in(page, person)
        expect(status(page)).to_contain_text("User is not confirmed")
        expect(page.get_by_role("form", name="Confirm your email")).to_be_visible()
        button(page, "Resend code").click()
        expect(status(page)).to_contain_text("We sent a new code")
        field(page, "Code").fill(mail_code(smtp_server, person.email, nth=2))
        button(page, "Confirm").click()
        expect(status(page)).to_contain_text("Your account is confirmed")
        button(page, "Sign in").click()
        expect_signed_in(page, person)
