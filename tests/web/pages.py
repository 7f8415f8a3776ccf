"""Driving the frontend as a person would: by label and by role, reading what it shows.

Labels are matched exactly (`exact=True`): "Password" would otherwise also find
"New password". The page keeps at most one input per label in the document, so no lookup
here needs scoping; the region names are there for tests (and people) that want them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass

import pyotp
from playwright.sync_api import Locator, Page, expect

from tests.support.server import REPO, LiveServer
from tests.support.smtp import SmtpServer
from tests.support.users import PASSWORD, unique_username

TOTP_STEP = 30


@dataclass
class Person:
    username: str
    email: str
    password: str = PASSWORD

    @classmethod
    def new(cls, prefix: str = "web") -> Person:
        username = unique_username(prefix)
        return cls(username, f"{username}@example.com")


def open_page(page: Page, server: LiveServer, query: str = "") -> None:
    page.goto(f"{server.url}/{query}")
    # app.js marks the page ready once it knows the config and whether someone is signed in.
    expect(page.locator("html")).to_have_attribute("data-ready", "true")


def field(page: Page, label: str) -> Locator:
    return page.get_by_label(label, exact=True)


def button(page: Page, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def status(page: Page) -> Locator:
    return page.get_by_role("status")


def api_answer(page: Page) -> Locator:
    return page.get_by_role("region", name="API answer")


def mail_code(smtp: SmtpServer, to: str, nth: int = 1, timeout: float = 10.0) -> str:
    """The code in the nth message (1-based) to `to`, waiting for it to arrive."""
    deadline = time.monotonic() + timeout
    while True:
        messages = [m for m in smtp.inbox if m["To"] == to]
        if len(messages) >= nth:
            return SmtpServer.code_in(messages[nth - 1])
        assert time.monotonic() < deadline, f"no message #{nth} to {to} within {timeout}s"
        time.sleep(0.05)


def sign_up(page: Page, person: Person) -> None:
    field(page, "Username").fill(person.username)
    field(page, "Email").fill(person.email)
    field(page, "Password").fill(person.password)
    button(page, "Sign up").click()
    expect(status(page)).to_contain_text(f"Signed up as {person.username}")


def confirm(page: Page, smtp: SmtpServer, person: Person) -> None:
    field(page, "Code").fill(mail_code(smtp, person.email))
    button(page, "Confirm").click()
    expect(status(page)).to_contain_text("Your account is confirmed")


def sign_in(page: Page, person: Person) -> None:
    field(page, "Username").fill(person.username)
    field(page, "Password").fill(person.password)
    button(page, "Sign in").click()


def expect_signed_in(page: Page, person: Person) -> None:
    expect(status(page)).to_have_text(f"Signed in as {person.username}.")
    current = page.get_by_role("region", name="Current user")
    expect(current).to_contain_text(person.username)
    expect(current).to_contain_text(person.email)


def signed_up_and_confirmed(page: Page, smtp: SmtpServer, person: Person) -> None:
    sign_up(page, person)
    confirm(page, smtp, person)


def sign_up_to_signed_in(page: Page, smtp: SmtpServer, person: Person) -> None:
    """Sign up, confirm with the mailed code, sign in, and see the signed-in view."""
    signed_up_and_confirmed(page, smtp, person)
    sign_in(page, person)
    expect_signed_in(page, person)


def totp_code(secret: str, step: int) -> str:
    """The code of one 30 s time step; the server takes the previous, current and next."""
    return pyotp.TOTP(secret, interval=TOTP_STEP).at(step * TOTP_STEP)


def current_step(margin: float = 3.0) -> int:
    """The current TOTP step, waiting for the next one when fewer than `margin` s are left.

    Codes of the previous, current and next step are accepted, each once per user: a test
    that needs three codes uses step-1, step, step+1 and never waits for time to pass,
    provided the first is used before this step ends.
    """
    into = time.time() % TOTP_STEP
    if into > TOTP_STEP - margin:
        time.sleep(TOTP_STEP - into + 0.05)
    return int(time.time() // TOTP_STEP)


def create_api_key(server: LiveServer, plan: str = "Basic") -> str:
    """A new key, by the command line an operator uses, on the server's pool."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "--name", "browser", "--plan", plan,
         "--json"],
        cwd=REPO, env=server.env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["value"])
