"""A Cognito endpoint that cannot be reached answers 503 with Retry-After, and returns.

Three ways to be unreachable on loopback: nothing listens (connection refused), a socket
listens but never answers (read timeout), and a server hangs up on every request. The
time bound only proves there is no hang; it is far above what the timeouts allow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services import Services
from app.settings import Settings
from tests.support.jwks_server import JwksServer
from tests.support.jwt import SigningKey, cognito_claims
from tests.support.moto import AWS_ENV
from tests.support.net import free_port
from tests.support.server import REPO
from tests.support.users import PASSWORD

NO_HANG_SECONDS = 25


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def _hang_up_on_everyone(sock: socket.socket) -> None:
    while True:
        try:
            connection, _ = sock.accept()
        except OSError:
            return
        connection.recv(65536)
        connection.close()


@pytest.fixture(params=["refused", "silent", "hangs_up"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "refused":
        yield f"http://127.0.0.1:{free_port()}"  # bound once, released: nothing listens
        return
    sock = _listening()
    if request.param == "hangs_up":
        threading.Thread(target=_hang_up_on_everyone, args=(sock,), daemon=True).start()
    # "silent": the kernel completes the handshake, nobody ever reads or answers.
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


POOL = "us-east-1_Unreachable"


@pytest.fixture
def unreachable_client(
    endpoint: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., TestClient]:
    """Clients of the app on the cognito backend, whose Cognito is `endpoint`."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)

    def make(**overrides: Any) -> TestClient:
        settings = make_settings(
            auth_backend="cognito", cognito_region="us-east-1", cognito_user_pool_id=POOL,
            cognito_client_id="client", cognito_endpoint_url=endpoint,
            cognito_timeout_seconds=1, **overrides,
        )
        return TestClient(create_app(settings), base_url="https://testserver")

    return make


@pytest.mark.parametrize(("path", "body"), [
    ("/auth/signin", {"username": "alice", "password": PASSWORD}),
    # These ask Cognito with calls whose "user unknown" answer is expected (a decoy
    # delivery), which read timeouts used to turn into a 500.
    ("/auth/resend_code", {"username": "alice"}),
    ("/auth/forgot_password", {"username": "alice"}),
])
def test_auth_routes_answer_service_unavailable(
    unreachable_client: Callable[..., TestClient], path: str, body: dict[str, str]
) -> None:
    with unreachable_client() as client:
        started = time.monotonic()
        response = client.post(path, json=body)
        elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "ServiceUnavailable"
    assert set(response.json()) == {"error", "message"}
    assert int(response.headers["retry-after"]) > 0
    assert "127.0.0.1" not in response.text, "no endpoint or botocore text reaches the client"
    assert elapsed < NO_HANG_SECONDS


def test_a_sign_out_in_an_outage_still_clears_the_browser(
    unreachable_client: Callable[..., TestClient],
) -> None:
    """Cognito cannot revoke the session: 503 says so, and the cookies go all the same,
    or a shared computer would stay signed in."""
    with unreachable_client() as client:
        response = client.post("/auth/signout", headers={
            "Cookie": "refresh_token=a-refresh-token; csrf_token=c5rf", "X-CSRF-Token": "c5rf",
        })

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "ServiceUnavailable"
    assert "signed out" in response.json()["message"]
    assert int(response.headers["retry-after"]) > 0
    cleared = {header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")}
    assert cleared == {"token", "access_token", "refresh_token", "csrf_token"}
    assert all("Max-Age=0" in header for header in response.headers.get_list("set-cookie"))


def test_a_token_answers_service_unavailable_while_the_jwks_cannot_be_fetched(
    endpoint: str, unreachable_client: Callable[..., TestClient]
) -> None:
    """No key is held yet and the pool's JWKS is out of reach: an outage, not a bad token."""
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
    token = SigningKey().sign(cognito_claims(issuer=issuer, client_id="client"))
    with unreachable_client(cognito_jwks_url=f"{endpoint}/.well-known/jwks.json") as client:
        started = time.monotonic()
        response = client.get("/protected", headers={"Authorization": f"Bearer {token}"})
        elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "ServiceUnavailable"
    assert int(response.headers["retry-after"]) > 0
    assert "127.0.0.1" not in response.text
    assert elapsed < NO_HANG_SECONDS


def test_a_call_makes_two_attempts_in_all(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two attempts, not botocore's one plus `max_attempts` retries: what a request's time
    budget on Lambda (infra's function timeout) is reckoned from."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    sock = _listening()
    attempts = 0

    def hang_up_and_count() -> None:
        nonlocal attempts
        while True:
            try:
                connection, _ = sock.accept()
            except OSError:
                return
            attempts += 1
            connection.close()

    threading.Thread(target=hang_up_and_count, daemon=True).start()
    settings = make_settings(
        auth_backend="cognito", cognito_region="us-east-1",
        cognito_user_pool_id="us-east-1_Unreachable", cognito_client_id="client",
        cognito_endpoint_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        cognito_timeout_seconds=1,
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = client.post("/auth/signin", json={"username": "alice", "password": PASSWORD})
    sock.close()
    assert response.status_code == 503, response.text
    assert attempts == 2


@pytest.mark.parametrize("keys", ["reachable", "out of reach"])
def test_the_authorizer_raises_rather_than_denies_in_an_outage(
    endpoint: str, keys: str, make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Deny would be cached by API Gateway (per Cookie header, for the authorizer's TTL)
    and lock a signed-in user out after the outage; an error is answered 500, not cached."""
    import app.authorizer as authorizer

    for name, value in {**AWS_ENV, "COGNITO_TIMEOUT_SECONDS": "1"}.items():
        monkeypatch.setenv(name, value)
    pool = "us-east-1_Unreachable"
    key = SigningKey()
    jwks = JwksServer(key.jwks)
    if keys == "out of reach":
        jwks.stop()
    settings = make_settings(
        auth_backend="cognito", cognito_region="us-east-1", cognito_user_pool_id=pool,
        cognito_client_id="client", cognito_endpoint_url=endpoint,
        cognito_jwks_url=jwks.url, cognito_timeout_seconds=1,
    )
    token = key.sign(cognito_claims(
        issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool}", client_id="client"))
    event = json.loads((REPO / "tests/fixtures/events/request_authorizer.json").read_text())
    event["headers"]["Cookie"] = f"token={token}"
    monkeypatch.setattr(authorizer, "_services", Services(settings))
    try:
        with pytest.raises(authorizer.AuthorizerUnavailableError):
            authorizer.handler(event, None)
    finally:
        if keys == "reachable":
            jwks.stop()
