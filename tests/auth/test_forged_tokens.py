"""Forged and malformed tokens against the app on the local pool: always 401, never 5xx."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from app.identity.local.provider import LocalIdentityProvider
from tests.support.jwt import SigningKey, b64json, cognito_claims, hs256
from tests.support.users import AuthFlow


@pytest.fixture
def pool(client: TestClient) -> LocalIdentityProvider:
    provider = client.app.state.services.identity  # type: ignore[attr-defined]
    assert isinstance(provider, LocalIdentityProvider)
    return provider


@pytest.fixture
def pool_key(pool: LocalIdentityProvider) -> SigningKey:
    """The pool's own private key, as an attacker who stole it would hold it."""
    kid = pool.keys.kid  # created on first use
    private = serialization.load_pem_private_key(
        (pool.directory / "signing-key.pem").read_bytes(), password=None
    )
    return SigningKey(private=private, kid=kid)  # type: ignore[arg-type]


def _claims(pool: LocalIdentityProvider, **overrides: Any) -> dict[str, Any]:
    return cognito_claims(issuer=pool.issuer, client_id=pool.client_id) | overrides


# "[[[[..." as base64url: json.loads gives up with a RecursionError, not a ValueError.
DEEP = base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")

Forge = Callable[[LocalIdentityProvider, SigningKey, str], str]
FORGERIES: dict[str, Forge] = {
    "alg none": lambda p, k, real: (
        f"{b64json({'alg': 'none', 'kid': k.kid})}.{b64json(_claims(p))}."),
    "HS256 with the public key": lambda p, k, real: hs256(_claims(p), k.public_pem, k.kid),
    "a foreign key reusing the kid": lambda p, k, real: SigningKey(kid=k.kid).sign(_claims(p)),
    # The pool has one key, yet its tokens must name it: only providers may go without.
    "no kid": lambda p, k, real: k.sign(_claims(p), header={"alg": "RS256"}),
    "a tampered payload": lambda p, k, real: ".".join(
        [real.split(".")[0], b64json(_claims(p)), real.split(".")[2]]),
    "expired": lambda p, k, real: k.sign(_claims(p, exp=int(time.time()) - 60)),
    "the wrong iss": lambda p, k, real: k.sign(_claims(p, iss="https://evil.example")),
    "the wrong aud": lambda p, k, real: k.sign(_claims(p, aud="other-client")),
    "the wrong token_use": lambda p, k, real: k.sign(_claims(p, token_use="refresh")),
    "a session that never existed": lambda p, k, real: k.sign(_claims(p)),
    "a five-part JWE": lambda p, k, real: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
    "a header nested 5,000 deep": lambda p, k, real: f"{DEEP}.e30.c2ln",
    "16 KB of garbage": lambda p, k, real: "A" * 16384,
}


@pytest.mark.parametrize("name", FORGERIES)
@pytest.mark.parametrize("carrier", ["cookie", "bearer"])
def test_forged_tokens_get_401(
    name: str, carrier: str, client: TestClient, flow: AuthFlow,
    pool: LocalIdentityProvider, pool_key: SigningKey,
) -> None:
    user = flow.confirmed_user()
    real = flow.sign_in(user).json()["token"]
    client.cookies.clear()
    forged = FORGERIES[name](pool, pool_key, real)
    headers = (
        {"Cookie": f"token={forged}"} if carrier == "cookie"
        else {"Authorization": f"Bearer {forged}"}
    )
    for path in ("/protected", "/auth/current_user"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json() == {
            "error": "NotAuthorized",
            "message": "The token is missing, invalid or expired. Sign in again.",
        }


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer    ", "token abc"])
def test_malformed_authorization_headers(client: TestClient, header: str) -> None:
    response = client.get("/protected", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"] == "NotAuthorized"


def test_a_refresh_with_a_nested_token_cookie_is_refused_not_a_crash(client: TestClient) -> None:
    """The refresh reads the (maybe expired) token cookie unverified, for Cognito's hash."""
    response = client.post("/auth/refresh", headers={
        "Cookie": f"token={b64json({'alg': 'RS256'})}.{DEEP}.c2ln; refresh_token=stale; "
                  "csrf_token=c",
        "X-CSRF-Token": "c",
    })
    assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")
