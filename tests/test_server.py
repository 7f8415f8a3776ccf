"""The app as a real process, spoken to over HTTP: the whole flow and its failures."""

from __future__ import annotations

import concurrent.futures
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.outbox import Outbox
from tests.support.server import LiveServer
from tests.support.smtp import SmtpServer
from tests.support.users import PASSWORD, AuthFlow, unique_username


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Plain http on loopback: Secure cookies would not come back from httpx's cookie jar,
    # so this server sets them without Secure. `TestCookieAttributes` checks the default.
    from tests.conftest import server_env

    directory = tmp_path_factory.mktemp("server")
    live = LiveServer(server_env(directory, COOKIE_SECURE="false"), log_path=directory / "log")
    yield live.start()
    live.stop()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def server_flow(http: httpx.Client, server: LiveServer) -> AuthFlow:
    return AuthFlow(http, Outbox(Path(server.env["OUTBOX_DIR"])))


class TestWholeFlow:
    def test_sign_up_confirm_sign_in_call_and_sign_out(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        username = unique_username("flow")
        email = f"{username}@example.com"
        signed_up = http.post(
            "/auth/signup", json={"username": username, "password": PASSWORD, "email": email}
        )
        assert signed_up.status_code == 201
        body = signed_up.json()
        assert body["username"] == username and body["confirmed"] is False
        assert body["delivery"] == {"medium": "EMAIL", "destination": f"{username[0]}***@e***",
                                    "attribute": "email"}
        assert len(body["user_sub"]) == 36

        code = server_flow.outbox.latest_code(email)
        assert len(code) == 6 and code.isdigit()
        confirmed = http.post("/auth/confirm_signup", json={"username": username, "code": code})
        assert confirmed.json() == {"message": f"User {username} successfully confirmed",
                                    "confirmed": True}

        signed_in = http.post("/auth/signin", json={"username": username, "password": PASSWORD})
        assert signed_in.status_code == 200
        tokens = signed_in.json()
        assert tokens["message"] == "Auth successful" and tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 3600
        assert http.cookies.get("token") == tokens["token"]

        protected = http.get("/protected")
        assert protected.status_code == 200
        assert protected.json()["username"] == username
        assert username in protected.json()["message"]

        me = http.get("/auth/current_user").json()
        assert me["username"] == username and me["email"] == email and me["email_verified"]
        assert me["mfa_enabled"] is False and me["groups"] == []

        assert http.post("/auth/signout").json()["error"] == "CsrfFailed"
        signed_out = http.post("/auth/signout", headers=server_flow.csrf())
        assert signed_out.json() == {"message": "Signed out"}
        assert "token" not in http.cookies

        # Revoked at once, even presented again by a client that kept it.
        again = http.get("/protected", headers={"Authorization": f"Bearer {tokens['token']}"})
        assert again.status_code == 401
        assert again.json()["error"] == "NotAuthorized"

    def test_sign_in_with_the_verified_email_and_any_case(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        for name in (user.email.upper(), user.username.upper()):
            response = http.post("/auth/signin", json={"username": name, "password": PASSWORD})
            assert response.status_code == 200, response.text

    def test_bearer_tokens_work_without_cookies(
        self, server: LiveServer, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        token = server_flow.sign_in(user).json()["token"]
        with httpx.Client(base_url=server.url) as fresh:
            response = fresh.get("/protected", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            # A Bearer write needs no CSRF token: nothing ambient was sent.
            assert fresh.post(
                "/auth/signout", headers={"Authorization": f"Bearer {token}"}
            ).status_code == 200
            assert fresh.get(
                "/protected", headers={"Authorization": f"Bearer {token}"}
            ).status_code == 401

    def test_refresh_gives_a_new_token_and_needs_csrf(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        first = server_flow.sign_in(user).json()["token"]
        refused = http.post("/auth/refresh")
        assert refused.status_code == 403 and refused.json()["error"] == "CsrfFailed"
        refreshed = http.post("/auth/refresh", headers=server_flow.csrf())
        assert refreshed.status_code == 200
        assert refreshed.json()["token"] != first
        assert http.cookies.get("token") == refreshed.json()["token"]
        assert http.get("/protected").status_code == 200

    def test_refresh_after_sign_out_is_refused(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        server_flow.sign_in(user)
        refresh_cookie = http.cookies.get("refresh_token")
        csrf = server_flow.csrf()
        http.post("/auth/signout", headers=csrf)
        http.cookies.set("refresh_token", refresh_cookie or "", path="/auth")
        http.cookies.set("csrf_token", csrf["X-CSRF-Token"])
        response = http.post("/auth/refresh", headers=csrf)
        assert response.status_code == 401


class TestErrors:
    def test_each_sign_up_error(self, http: httpx.Client, server_flow: AuthFlow) -> None:
        user = server_flow.sign_up()
        taken = http.post("/auth/signup", json={
            "username": user.username.upper(), "password": PASSWORD, "email": "x@example.com"})
        assert (taken.status_code, taken.json()["error"]) == (409, "UsernameExists")

        weak = http.post("/auth/signup", json={
            "username": unique_username(), "password": "alllowercase1!", "email": "w@example.com"})
        assert (weak.status_code, weak.json()["error"]) == (400, "InvalidPassword")
        assert "uppercase" in weak.json()["message"]

        common = http.post("/auth/signup", json={
            "username": unique_username(), "password": "P@ssw0rd", "email": "c@example.com"})
        assert (common.status_code, common.json()["error"]) == (400, "InvalidPassword")
        assert "common" in common.json()["message"]

        invalid = http.post("/auth/signup", json={"username": "x", "password": PASSWORD})
        assert (invalid.status_code, invalid.json()["error"]) == (422, "ValidationError")
        assert invalid.json()["details"][0]["loc"] == ["body", "email"]
        assert PASSWORD not in invalid.text, "a validation error must not echo the password"

    def test_confirmation_errors(self, http: httpx.Client, server_flow: AuthFlow) -> None:
        user = server_flow.sign_up()
        code = server_flow.outbox.latest_code(user.email)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        mismatch = http.post("/auth/confirm_signup",
                             json={"username": user.username, "code": wrong})
        assert (mismatch.status_code, mismatch.json()["error"]) == (400, "CodeMismatch")

        unconfirmed = http.post("/auth/signin", json={"username": user.username,
                                                      "password": PASSWORD})
        assert (unconfirmed.status_code, unconfirmed.json()["error"]) == (403, "UserNotConfirmed")

        server_flow.confirm(user)
        replay = http.post("/auth/confirm_signup", json={"username": user.username, "code": code})
        assert replay.status_code in (400, 401)

    def test_unknown_users_get_the_same_answers(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        ghost = unique_username("ghost")
        wrong = http.post("/auth/signin",
                          json={"username": user.username, "password": "Wr0ng!pass"})
        unknown = http.post("/auth/signin", json={"username": ghost, "password": "Wr0ng!pass"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json() == {
            "error": "NotAuthorized", "message": "Incorrect username or password."}

        resent = http.post("/auth/resend_code", json={"username": ghost})
        assert resent.status_code == 200
        assert set(resent.json()["delivery"]) == {"medium", "destination", "attribute"}
        # Stable, so asking twice does not reveal a made-up answer.
        assert http.post("/auth/resend_code", json={"username": ghost}).json() == resent.json()

        code = http.post("/auth/confirm_signup", json={"username": ghost, "code": "123456"})
        assert (code.status_code, code.json()["error"]) == (400, "CodeMismatch")

    def test_lockout_after_five_failures_for_known_and_unknown_users(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        for name, password in ((user.username, PASSWORD), (unique_username("ghost"), PASSWORD)):
            answers = [
                http.post("/auth/signin", json={"username": name, "password": "Wr0ng!pass"})
                for _ in range(6)
            ]
            assert [a.status_code for a in answers] == [401] * 6
            locked_at = time.monotonic()
            blocked = http.post("/auth/signin", json={"username": name, "password": password})
            # The sixth failure locks for 1 s (then 2, 4, ... as the in-process tests show);
            # only a machine slower than that could see the lock already over.
            if time.monotonic() - locked_at < 0.9:
                assert blocked.status_code == 429, blocked.text
                assert blocked.json()["error"] == "TooManyFailedAttempts"
                assert blocked.headers["Retry-After"] == "1"

    def test_bad_bodies_get_clear_4xx(self, http: httpx.Client) -> None:
        malformed = http.post("/auth/signin", content=b"{not json",
                              headers={"Content-Type": "application/json"})
        assert (malformed.status_code, malformed.json()["error"]) == (422, "ValidationError")

        form = http.post("/auth/signin", content=b"username=a&password=b",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (form.status_code, form.json()["error"]) == (415, "UnsupportedMediaType")

        no_type = http.post("/auth/signin", content=b'{"username": "a"}')
        assert no_type.status_code == 415

        huge = http.post("/auth/signin", content=b"x" * (1 << 20),
                         headers={"Content-Type": "application/json"})
        assert (huge.status_code, huge.json()["error"]) == (413, "PayloadTooLarge")

        def chunks() -> Iterator[bytes]:
            for _ in range(32):
                yield b" " * 4096

        chunked = http.post("/auth/signin", content=chunks(),
                            headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413

        array = http.post("/auth/signin", json=[1, 2, 3])
        assert array.status_code == 422

        # Two Content-Types, in either order: the body's type is not known, so not JSON.
        for types in (["text/plain", "application/json"], ["application/json", "text/plain"]):
            two_types = http.post("/auth/signin", content=b'{"username": "a"}',
                                  headers=[("Content-Type", value) for value in types])
            assert (two_types.status_code, two_types.json()["error"]) == (
                415, "UnsupportedMediaType"), types

    @pytest.mark.parametrize("cookie", [
        "x" * 16 * 1024,
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "a.b.c.d.e",
        "\u00e9t\u00e9",
        '""',
    ])
    def test_garbage_cookies_get_401(self, http: httpx.Client, cookie: str) -> None:
        response = http.get("/protected", headers={"Cookie": f"token={cookie}".encode()})
        assert response.status_code == 401
        assert response.json()["error"] == "NotAuthorized"

    def test_duplicate_token_cookies_are_refused(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        user = server_flow.confirmed_user()
        token = server_flow.sign_in(user).json()["token"]
        http.cookies.clear()
        response = http.get("/protected", headers={"Cookie": f"token={token}; token={token}"})
        assert response.status_code == 401

    def test_unknown_route_and_method(self, http: httpx.Client) -> None:
        assert http.get("/nope").json()["error"] == "NotFound"
        assert http.delete("/public").json()["error"] == "MethodNotAllowed"

    def test_head_answers_as_get_without_a_body(self, http: httpx.Client) -> None:
        for path in ("/health", "/public", "/"):
            get, head = http.get(path), http.head(path)
            assert (head.status_code, head.content) == (200, b""), path
            assert head.headers["content-length"] == get.headers["content-length"], path
            assert head.headers["content-type"] == get.headers["content-type"], path
        assert http.head("/protected").status_code == 401
        # Under /auth, the GET routes that only read take HEAD too ...
        assert http.head("/auth/current_user").status_code == 401
        assert http.head("/auth/csrf").status_code == 200
        # ... and those that act or start a flow do not: a HEAD does neither.
        for path in ("/auth/signout", "/auth/oauth/x/authorize", "/auth/oauth/callback",
                     "/auth/aws_credentials"):
            assert http.head(path).status_code == 405, path


class TestCsrf:
    def test_cross_site_get_sign_out_is_refused(
        self, http: httpx.Client, server_flow: AuthFlow
    ) -> None:
        server_flow.signed_in_user()
        refused = http.get("/auth/signout", headers={"Sec-Fetch-Site": "cross-site"})
        assert (refused.status_code, refused.json()["error"]) == (403, "CsrfFailed")
        assert http.get("/protected").status_code == 200, "the refused sign-out changed nothing"
        allowed = http.get("/auth/signout", headers={"Sec-Fetch-Site": "same-origin"})
        assert allowed.status_code == 200
        assert http.get("/protected").status_code == 401

    def test_a_wrong_csrf_token_is_refused(self, http: httpx.Client, server_flow: AuthFlow) -> None:
        server_flow.signed_in_user()
        response = http.post("/auth/refresh", headers={"X-CSRF-Token": "forged"})
        assert response.status_code == 403

    def test_sign_out_without_cookies_is_idempotent(self, server: LiveServer) -> None:
        with httpx.Client(base_url=server.url) as anonymous:
            for _ in range(2):
                assert anonymous.post("/auth/signout").json() == {"message": "Signed out"}


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {
        header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")
    }


class TestCookieAttributes:
    def test_sign_in_and_sign_out_cookies(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        live = start_server()  # the defaults: Secure, SameSite=lax
        with httpx.Client(base_url=live.url) as client:
            self._check(AuthFlow(client, Outbox(tmp_path / "outbox")))

    def _check(self, flow: AuthFlow) -> None:
        user = flow.confirmed_user()
        cookies = _set_cookies(flow.sign_in(user))

        def attributes(header: str) -> set[str]:
            return {part.strip().lower() for part in header.split(";")[1:]}

        token = attributes(cookies["token"])
        assert {"httponly", "secure", "path=/", "max-age=3600", "samesite=lax"} <= token
        for name in ("access_token", "refresh_token"):
            assert {"httponly", "secure", "path=/auth"} <= attributes(cookies[name])
        csrf = attributes(cookies["csrf_token"])
        assert "httponly" not in csrf and {"secure", "path=/"} <= csrf

        signed_out = _set_cookies(flow.client.post(
            "/auth/signout",
            headers={"X-CSRF-Token": cookies["csrf_token"].split(";")[0].split("=", 1)[1],
                     "Cookie": "; ".join(c.split(";")[0] for c in cookies.values())},
        ))
        assert set(signed_out) == set(cookies)
        for name, header in signed_out.items():
            set_with = attributes(cookies[name]) - {"max-age=3600", "max-age=2592000"}
            cleared = attributes(header)
            assert "max-age=0" in cleared
            kept = ("path", "samesite", "secure", "httponly")
            assert {a for a in set_with if a.startswith(kept)} <= cleared


class TestDurability:
    def test_kill_9_keeps_confirmed_users_and_the_signing_key(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        live = start_server(COOKIE_SECURE="false")
        with httpx.Client(base_url=live.url) as client:
            flow = AuthFlow(client, Outbox(tmp_path / "outbox"))
            users = [flow.confirmed_user("durable") for _ in range(3)]
            token = flow.sign_in(users[0]).json()["token"]
        key_before = (tmp_path / "pool" / "signing-key.pem").read_bytes()
        live.kill()

        restarted = start_server(COOKIE_SECURE="false")
        assert (tmp_path / "pool" / "signing-key.pem").read_bytes() == key_before
        with httpx.Client(base_url=restarted.url) as client:
            for user in users:
                response = client.post(
                    "/auth/signin", json={"username": user.username, "password": PASSWORD})
                assert response.status_code == 200, response.text
            still = client.get("/protected", headers={"Authorization": f"Bearer {token}"})
            assert still.status_code == 200
        with sqlite3.connect(tmp_path / "pool" / "pool.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def test_twenty_concurrent_sign_ups_of_one_name_make_one_user(
        self, server: LiveServer
    ) -> None:
        username = unique_username("race")

        def attempt(i: int) -> int:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                return client.post("/auth/signup", json={
                    "username": username, "password": PASSWORD, "email": f"r{i}@example.com",
                }).status_code

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(attempt, range(20)))
        assert statuses.count(201) == 1
        assert statuses.count(409) == 19


class TestSmtpDelivery:
    def test_the_code_arrives_by_smtp(
        self, start_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        live = start_server(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                            SMTP_PORT=str(smtp_server.port), SMTP_STARTTLS="false",
                            MAIL_FROM="auth@example.com")
        username = unique_username("mail")
        email = f"{username}@example.com"
        with httpx.Client(base_url=live.url) as client:
            client.post("/auth/signup",
                        json={"username": username, "password": PASSWORD, "email": email})
            message = smtp_server.wait_for(email)
            assert message["From"] == "auth@example.com"
            code = SmtpServer.code_in(message)
            confirmed = client.post("/auth/confirm_signup",
                                    json={"username": username, "code": code})
            assert confirmed.status_code == 200
        logs = live.logs()
        assert code not in logs, "the code must not be logged"
        assert all(json.loads(line) for line in logs.splitlines() if line.startswith("{"))


    def test_addresses_mail_software_would_misread_are_refused(
        self, start_server: Callable[..., LiveServer], smtp_server: SmtpServer
    ) -> None:
        live = start_server(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                            SMTP_PORT=str(smtp_server.port), SMTP_STARTTLS="false")
        with httpx.Client(base_url=live.url) as client:
            # The header parser fails on the first (IndexError: it was a 500); smtplib
            # sends the others' mail to "victim@example.com", "a" and "a@example.com".
            for odd in ("=?x?b?!!!?=@b.example", "a<victim@example.com", 'a"b@example.com',
                        "a(b)@example.com", "\x1b[2Jred@example.com"):
                refused = client.post("/auth/signup", json={
                    "username": unique_username("odd"), "password": PASSWORD, "email": odd})
                assert (refused.status_code, refused.json()["error"]) == (
                    422, "ValidationError"), odd
            plain = f"{unique_username('plain')}@example.com"
            created = client.post("/auth/signup", json={
                "username": plain.partition("@")[0], "password": PASSWORD, "email": plain})
            assert created.status_code == 201
            smtp_server.wait_for(plain)
        assert smtp_server.recipients == [plain]


class TestBehindAPathPrefix:
    def test_a_proxy_that_strips_a_prefix(
        self, start_server: Callable[..., LiveServer], tmp_path: Path
    ) -> None:
        """Behind a proxy serving the app under /api (uvicorn --root-path /api), every
        route answers, and what the browser is sent back carries the prefix."""
        live = start_server(app=("app.main:app", "--root-path", "/api"),
                            COOKIE_SECURE="false")
        with httpx.Client(base_url=live.url, timeout=10) as http:
            flow = AuthFlow(http, Outbox(tmp_path / "outbox"))
            signed_in = flow.sign_in(flow.confirmed_user())
            assert signed_in.status_code == 200, signed_in.text
            assert "Path=/api;" in signed_in.headers["set-cookie"]
            assert http.get("/auth/current_user",
                            headers={"Authorization": f"Bearer {signed_in.json()['token']}"}
                            ).status_code == 200
            assert "/api/openapi.json" in http.get("/docs").text
