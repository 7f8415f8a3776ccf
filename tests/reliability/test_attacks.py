"""The attack catalogue, against a real server where the wire matters.

Covered elsewhere, and listed in docs/reliability.md: token forgery
(tests/tokens/test_verifier.py, tests/auth/test_forged_tokens.py), CSRF on every write
(tests/contract/test_account.py, tests/test_server.py), duplicate cookies
(tests/test_server.py), brute force against the lockout and code guessing against the
try limits (tests/identity/local/test_provider.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.identity.local.passwords import PasswordHashing
from app.main import create_app
from app.settings import Settings
from tests.support.server import LiveServer
from tests.support.users import PASSWORD, AuthFlow, unique_username

ALLOWED = "https://app.example"
FOREIGN = "https://evil.example"


@pytest.fixture
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server(CORS_ALLOW_ORIGINS=ALLOWED, COOKIE_SECURE="false")


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as client:
        yield client


class TestCors:
    def test_a_foreign_origin_gets_no_cors_headers(self, http: httpx.Client) -> None:
        preflight = http.options("/auth/change_password", headers={
            "Origin": FOREIGN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-csrf-token"})
        assert preflight.status_code == 400
        assert preflight.json() == {
            "error": "InvalidParameter",
            "message": "Not allowed by this API's CORS settings: origin."}
        assert "access-control-allow-origin" not in preflight.headers
        simple = http.get("/auth/csrf", headers={"Origin": FOREIGN})
        # Without Access-Control-Allow-Origin a browser hands the answer to no script
        # (Starlette's stray Allow-Credentials on it changes nothing).
        assert "access-control-allow-origin" not in simple.headers

    def test_an_allowed_origin_gets_credentials_and_never_a_wildcard(
        self, http: httpx.Client
    ) -> None:
        preflight = http.options("/auth/signin", headers={
            "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        assert preflight.headers["access-control-allow-credentials"] == "true"
        answer = http.get("/public", headers={"Origin": ALLOWED})
        assert answer.headers["access-control-allow-origin"] == ALLOWED != "*"

    def test_the_csrf_token_is_read_only_by_allowed_origins(
        self, http: httpx.Client, server: LiveServer, tmp_path: Path
    ) -> None:
        from tests.support.outbox import Outbox

        flow = AuthFlow(http, Outbox(tmp_path / "outbox"))
        flow.signed_in_user()
        answer = http.get("/auth/csrf", headers={"Origin": ALLOWED})
        assert answer.json() == {"csrf_token": http.cookies["csrf_token"]}
        assert answer.headers["access-control-allow-origin"] == ALLOWED
        assert answer.headers["cache-control"] == "no-store"
        with httpx.Client(base_url=server.url) as anonymous:
            assert anonymous.get("/auth/csrf").json() == {"csrf_token": None}


class TestCsrfFromAnotherSite:
    def test_a_form_post_cannot_reach_a_route(self, http: httpx.Client, tmp_path: Path) -> None:
        """What a cross-site <form> can send: a simple content type and the cookies."""
        from tests.support.outbox import Outbox

        flow = AuthFlow(http, Outbox(tmp_path / "outbox"))
        flow.signed_in_user()
        for content_type in ("application/x-www-form-urlencoded", "text/plain",
                             "multipart/form-data; boundary=x"):
            answer = http.post("/auth/change_password", content=b"old_password=a",
                               headers={"Content-Type": content_type, "Origin": FOREIGN})
            assert answer.status_code == 415, content_type
        json_without_token = http.post("/auth/mfa/totp/setup", headers={"Origin": FOREIGN})
        assert json_without_token.json()["error"] == "CsrfFailed"


class TestEnumeration:
    def test_answers_do_not_tell_who_exists(self, http: httpx.Client, tmp_path: Path) -> None:
        from tests.support.outbox import Outbox

        flow = AuthFlow(http, Outbox(tmp_path / "outbox"))
        user = flow.confirmed_user()
        ghost = unique_username("ghost")
        for route in ("/auth/forgot_password", "/auth/resend_code"):
            real = http.post(route, json={"username": user.username})
            fake = http.post(route, json={"username": ghost})
            assert real.status_code == fake.status_code == 200, route
            assert set(real.json()["delivery"]) == set(fake.json()["delivery"])
            assert json.dumps(fake.json()).count("***") == 2  # masked like a real address
        wrong = http.post("/auth/signin", json={"username": user.username, "password": "Nope-1!x"})
        unknown = http.post("/auth/signin", json={"username": ghost, "password": "Nope-1!x"})
        assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())

    def test_an_unknown_user_costs_one_password_hash(
        self, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Timing, shown without a clock: the work done is the same, one Argon2 verify."""
        verified: list[str | None] = []
        original = PasswordHashing.verify

        def counting(self: PasswordHashing, password_hash: str | None, password: str) -> bool:
            verified.append(password_hash)
            return original(self, password_hash, password)

        monkeypatch.setattr(PasswordHashing, "verify", counting)
        with TestClient(create_app(make_settings()), base_url="https://testserver") as client:
            from tests.support.outbox import Outbox

            flow = AuthFlow(client, Outbox(make_settings().resolved_outbox_dir))
            user = flow.confirmed_user()
            for name in (user.username, unique_username("ghost"), user.email):
                verified.clear()
                client.post("/auth/signin", json={"username": name, "password": "Nope-1!x"})
                assert len(verified) == 1, name
            assert verified == [verified[0]] and verified[0] is not None
        # The unknown user's hash is the decoy: same algorithm and parameters as real ones.


class TestApiKeyBypass:
    @pytest.mark.parametrize(("method", "path"), [
        ("GET", "/protected/"), ("GET", "//protected"), ("GET", "/PROTECTED"),
        ("GET", "/%70rotected"), ("GET", "/public%2F"), ("HEAD", "/public"),
        ("GET", "/./public"), ("GET", "/public?x-api-key=whatever"),
    ])
    def test_path_tricks_meet_the_key_check(
        self, start_server: Callable[..., LiveServer], method: str, path: str
    ) -> None:
        server = start_server(USAGE_PLANS="local")
        raw = httpx.Request(method, server.url)
        raw.url = raw.url.copy_with(raw_path=path.encode())
        with httpx.Client() as client:
            answer = client.send(raw)
        # Refused, or a route that does not exist: never an open door to the resource.
        assert answer.status_code in (403, 404, 405, 307), (path, answer.status_code)
        if answer.status_code == 307:  # Starlette's slash redirect: follow it once
            again = httpx.get(server.url + answer.headers["location"].split(server.url)[-1])
            assert again.status_code == 403
        assert answer.status_code != 200


def test_nothing_here_leaks_a_stack_trace(http: httpx.Client) -> None:
    for answer in (
        http.post("/auth/signin", content=b"\xff\xfe",
                  headers={"Content-Type": "application/json"}),
        http.get("/protected", headers={"Authorization": "Bearer " + "a" * 20000}),
        http.get("/protected", headers={"Cookie": "token=" + "%" * 4000}),
        http.post("/auth/signup", json={"username": "x" * 10_000, "password": PASSWORD,
                                        "email": "a@b"}),
    ):
        assert answer.status_code < 500, answer.text
        assert "Traceback" not in answer.text and "File \"" not in answer.text
