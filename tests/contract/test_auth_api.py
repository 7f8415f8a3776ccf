"""What SPEC §2 promises once, every backend does."""

from __future__ import annotations

import pytest

from tests.contract.conftest import Backend
from tests.support.users import PASSWORD, AuthFlow, unique_username


class TestSignUp:
    def test_answer_shape(self, backend: Backend) -> None:
        username = unique_username()
        response = backend.client.post("/auth/signup", json={
            "username": username, "password": PASSWORD, "email": f"{username}@example.com"})
        assert response.status_code == 201
        body = response.json()
        assert body["username"] == username
        assert body["confirmed"] is False
        assert body["user_sub"]
        assert body["delivery"]["medium"] == "EMAIL"
        assert body["delivery"]["attribute"] == "email"
        assert "***" in body["delivery"]["destination"]

    def test_a_taken_username(self, backend: Backend, user_flow: AuthFlow) -> None:
        user = user_flow.sign_up()
        again = backend.client.post("/auth/signup", json={
            "username": user.username, "password": PASSWORD, "email": "other@example.com"})
        assert (again.status_code, again.json()["error"]) == (409, "UsernameExists")

    @pytest.mark.parametrize("username", ["two words", "x\u001b[2Jy", "a\u0000b", "new\nline",
                                          "zero\u200bwidth", "x" * 129])
    def test_a_username_outside_cognitos_pattern(self, backend: Backend, username: str) -> None:
        response = backend.client.post("/auth/signup", json={
            "username": username, "password": PASSWORD, "email": "p@example.com"})
        assert (response.status_code, response.json()["error"]) in (
            (400, "InvalidParameter"), (422, "ValidationError")), response.text

    def test_a_password_that_breaks_the_policy(self, backend: Backend) -> None:
        response = backend.client.post("/auth/signup", json={
            "username": unique_username(), "password": "short", "email": "p@example.com"})
        assert (response.status_code, response.json()["error"]) == (400, "InvalidPassword")


class TestConfirm:
    def test_confirm_then_sign_in(self, backend: Backend, user_flow: AuthFlow) -> None:
        user = user_flow.sign_up()
        response = backend.client.post("/auth/confirm_signup", json={
            "username": user.username, "code": backend.confirmation_code(user)})
        assert response.json() == {
            "message": f"User {user.username} successfully confirmed", "confirmed": True}
        assert user_flow.sign_in(user).json()["message"] == "Auth successful"

    def test_a_wrong_code(self, backend: Backend, user_flow: AuthFlow) -> None:
        backend.requires("checks_codes")
        user = user_flow.sign_up()
        code = backend.confirmation_code(user)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        response = backend.client.post(
            "/auth/confirm_signup", json={"username": user.username, "code": wrong})
        assert (response.status_code, response.json()["error"]) == (400, "CodeMismatch")

    def test_resend_answers_alike_for_unknown_users(self, backend: Backend) -> None:
        backend.requires("resends_codes")
        response = backend.client.post("/auth/resend_code", json={"username": unique_username()})
        assert response.status_code == 200
        assert response.json()["delivery"]["medium"] == "EMAIL"


class TestSignIn:
    def test_unconfirmed(self, backend: Backend, user_flow: AuthFlow) -> None:
        user = user_flow.sign_up()
        response = backend.client.post(
            "/auth/signin", json={"username": user.username, "password": user.password})
        assert (response.status_code, response.json()["error"]) == (403, "UserNotConfirmed")

    def test_wrong_password_and_unknown_user_alike(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        user = user_flow.confirmed_user()
        wrong = backend.client.post(
            "/auth/signin", json={"username": user.username, "password": "Wr0ng!pass"})
        unknown = backend.client.post(
            "/auth/signin", json={"username": unique_username(), "password": "Wr0ng!pass"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json() == {"error": "NotAuthorized",
                                "message": "Incorrect username or password."}

    def test_sets_the_cookies(self, backend: Backend, user_flow: AuthFlow) -> None:
        user = user_flow.confirmed_user()
        response = user_flow.sign_in(user)
        names = {h.split("=", 1)[0] for h in response.headers.get_list("set-cookie")}
        assert names == {"token", "access_token", "refresh_token", "csrf_token"}
        assert backend.client.cookies.get("token") == response.json()["token"]


class TestSession:
    def test_protected_current_user_refresh_sign_out(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        user = user_flow.signed_in_user()
        client = backend.client
        assert client.get("/protected").json()["username"] == user.username
        me = client.get("/auth/current_user").json()
        assert (me["username"], me["email"]) == (user.username, user.email)

        refreshed = client.post("/auth/refresh", headers=user_flow.csrf())
        assert refreshed.status_code == 200, refreshed.text
        assert client.get("/protected").status_code == 200

        token = client.cookies.get("token")
        assert client.post("/auth/signout", headers=user_flow.csrf()).status_code == 200
        assert client.get("/protected").status_code == 401
        bearer = client.get("/protected", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 401, "a signed-out ID token is refused at once"

    def test_a_browser_signed_out_from_elsewhere_can_still_sign_out(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        """Idempotent (SPEC §2): the second browser's tokens were revoked by the first
        browser's global sign-out, and its own sign-out still answers 200 and clears."""
        client = backend.client
        user = user_flow.confirmed_user()
        browsers = []
        for _ in range(2):
            client.cookies.clear()
            user_flow.sign_in(user)
            browsers.append(dict(client.cookies))
        for cookies in browsers:
            client.cookies.clear()
            client.cookies.update(cookies)
            response = client.post("/auth/signout", headers=user_flow.csrf())
            assert response.status_code == 200, response.text
            cleared = {header.split("=", 1)[0]
                       for header in response.headers.get_list("set-cookie")}
            assert {"token", "access_token", "refresh_token", "csrf_token"} <= cleared
            assert client.get("/protected").status_code == 401

    def test_each_place_takes_its_own_kind_of_token(
        self, backend: Backend, user_flow: AuthFlow
    ) -> None:
        """SPEC §5: the `token` cookie carries the ID token, the access cookie the access
        token, and a Bearer header either."""
        user_flow.signed_in_user()
        client = backend.client
        id_token, access_token = client.cookies.get("token"), client.cookies.get("access_token")
        csrf = client.cookies.get("csrf_token")
        client.cookies.clear()
        for path in ("/protected", "/auth/current_user"):
            swapped = client.get(path, headers={"Cookie": f"token={access_token}"})
            assert swapped.status_code == 401, f"{path} took an access token as `token`"
            for token in (id_token, access_token):
                bearer = client.get(path, headers={"Authorization": f"Bearer {token}"})
                assert bearer.status_code == 200, bearer.text
        setup = client.post("/auth/mfa/totp/setup", headers={
            "Cookie": f"access_token={id_token}; csrf_token={csrf}", "X-CSRF-Token": str(csrf),
        })
        assert setup.status_code == 401, "an ID token in the access cookie was taken"

    def test_no_token(self, backend: Backend) -> None:
        backend.client.cookies.clear()
        for path in ("/protected", "/auth/current_user"):
            response = backend.client.get(path)
            assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")

    def test_csrf_on_cookie_writes(self, backend: Backend, user_flow: AuthFlow) -> None:
        user_flow.signed_in_user()
        for path in ("/auth/refresh", "/auth/signout"):
            response = backend.client.post(path)
            assert (response.status_code, response.json()["error"]) == (403, "CsrfFailed")
        assert backend.client.get("/protected").status_code == 200
