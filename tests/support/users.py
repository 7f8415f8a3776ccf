"""Walking a user through the auth API, for tests that need one signed in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.outbox import Outbox

PASSWORD = "Correct-Horse-7-Battery"


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class TestUser:
    __test__ = False  # not a test class, despite the name

    username: str
    email: str
    password: str = PASSWORD


class AuthFlow:
    """Sign-up, confirmation and sign-in through a client (TestClient or httpx.Client).

    `confirmation_code` plays the user reading their mail: the outbox for the local pool.
    """

    def __init__(
        self, client: httpx.Client, confirmation_code: Callable[[TestUser], str] | Outbox
    ) -> None:
        self.client = client
        if isinstance(confirmation_code, Outbox):
            outbox = confirmation_code
            self.outbox: Outbox | None = outbox
            self.confirmation_code: Callable[[TestUser], str] = (
                lambda user: outbox.latest_code(user.email)
            )
        else:
            self.outbox = None
            self.confirmation_code = confirmation_code

    def sign_up(self, prefix: str = "user", **extra: Any) -> TestUser:
        username = unique_username(prefix)
        user = TestUser(username=username, email=f"{username}@example.com")
        response = self.client.post(
            "/auth/signup",
            json={"username": user.username, "password": user.password, "email": user.email,
                  **extra},
        )
        assert response.status_code == 201, response.text
        return user

    def confirm(self, user: TestUser) -> None:
        code = self.confirmation_code(user)
        response = self.client.post(
            "/auth/confirm_signup", json={"username": user.username, "code": code}
        )
        assert response.status_code == 200, response.text

    def confirmed_user(self, prefix: str = "user") -> TestUser:
        user = self.sign_up(prefix)
        self.confirm(user)
        return user

    def sign_in(self, user: TestUser) -> httpx.Response:
        response = self.client.post(
            "/auth/signin", json={"username": user.username, "password": user.password}
        )
        assert response.status_code == 200, response.text
        return response

    def signed_in_user(self, prefix: str = "user") -> TestUser:
        user = self.confirmed_user(prefix)
        self.sign_in(user)
        return user

    def csrf(self) -> dict[str, str]:
        token = self.client.cookies.get("csrf_token")
        assert token, "signed in with cookies, so a csrf_token cookie is expected"
        return {"X-CSRF-Token": token}
