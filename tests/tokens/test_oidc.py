"""A federated provider's ID token: every OIDC check, each refusal by a named check."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from jose.utils import calculate_at_hash

from app.tokens.errors import (
    TokenAlgorithmError,
    TokenClaimError,
    TokenError,
    TokenExpiredError,
    TokenSignatureError,
    UnknownKeyError,
)
from app.tokens.jwks import JwksCache
from app.tokens.oidc import OidcIdTokenVerifier, check_at_hash, check_nonce
from tests.support.jwt import SigningKey, hs256

ISSUER = "https://idp.example.com"
CLIENT = "client-123"
NONCE = "n-0S6_WzA2Mj"
ACCESS = "an-access-token"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture
def verifier(key: SigningKey) -> OidcIdTokenVerifier:
    return OidcIdTokenVerifier(issuer=ISSUER, client_id=CLIENT, jwks=JwksCache(preload=key.jwks))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "iat": now, "exp": now + 600,
        "nonce": NONCE, "at_hash": calculate_at_hash(ACCESS, hashlib.sha256),
    }
    return {**base, **overrides}


class TestAccepted:
    def test_a_valid_token(self, key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
        found = verifier.verify(key.sign(claims()), nonce=NONCE, access_token=ACCESS)
        assert found["sub"] == "248289761001"

    def test_aud_as_a_list_with_azp(self, key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
        token = key.sign(claims(aud=[CLIENT, "other"], azp=CLIENT))
        assert verifier.verify(token, nonce=NONCE, access_token=ACCESS)

    @pytest.mark.parametrize("published_kid", [True, False])
    def test_no_kid_with_a_single_key(self, key: SigningKey, published_kid: bool) -> None:
        """OpenID Connect needs a kid only when the provider publishes several keys."""
        jwk = key.jwk if published_kid else {k: v for k, v in key.jwk.items() if k != "kid"}
        verifier = OidcIdTokenVerifier(issuer=ISSUER, client_id=CLIENT,
                                       jwks=JwksCache(preload={"keys": [jwk]}))
        token = key.sign(claims(), header={"alg": "RS256"})
        assert verifier.verify(token, nonce=NONCE, access_token=ACCESS)["sub"] == "248289761001"

    def test_no_at_hash_is_allowed(self, key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
        token = key.sign({k: v for k, v in claims().items() if k != "at_hash"})
        assert verifier.verify(token, nonce=NONCE, access_token=None)

    def test_googles_issuer_without_scheme(self, key: SigningKey) -> None:
        google = OidcIdTokenVerifier(
            issuer="https://accounts.google.com", client_id=CLIENT,
            jwks=JwksCache(preload=key.jwks),
        )
        token = key.sign(claims(iss="accounts.google.com"))
        assert google.verify(token, nonce=NONCE, access_token=ACCESS)


REFUSED: dict[str, tuple[dict[str, Any], type[TokenError]]] = {
    "another issuer": ({"iss": "https://evil.example.com"}, TokenClaimError),
    "another audience": ({"aud": "someone-else"}, TokenClaimError),
    "several audiences, no azp": ({"aud": [CLIENT, "other"]}, TokenClaimError),
    "azp of another client": ({"azp": "other"}, TokenClaimError),
    "another nonce": ({"nonce": "replayed"}, TokenClaimError),
    "no nonce": ({"nonce": None}, TokenClaimError),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
                TokenExpiredError),
    "issued in the future": ({"iat": int(time.time()) + 3600}, TokenClaimError),
    "at_hash of another token": ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, TokenClaimError),
    "no sub": ({"sub": None}, TokenClaimError),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str, key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
    overrides, error = REFUSED[case]
    token = key.sign({k: v for k, v in claims(**overrides).items() if v is not None})
    with pytest.raises(error):
        verifier.verify(token, nonce=NONCE, access_token=ACCESS)


def test_another_key_with_the_same_kid(key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
    with pytest.raises(TokenSignatureError):
        verifier.verify(SigningKey(kid=key.kid).sign(claims()), nonce=NONCE, access_token=ACCESS)


def test_no_kid_among_several_keys(key: SigningKey) -> None:
    two = JwksCache(preload={"keys": [key.jwk, SigningKey().jwk]})
    verifier = OidcIdTokenVerifier(issuer=ISSUER, client_id=CLIENT, jwks=two)
    with pytest.raises(UnknownKeyError, match="not exactly one key"):
        verifier.verify(key.sign(claims(), header={"alg": "RS256"}), nonce=NONCE,
                        access_token=ACCESS)


def test_no_kid_and_a_single_key_of_another_signer(key: SigningKey) -> None:
    verifier = OidcIdTokenVerifier(issuer=ISSUER, client_id=CLIENT,
                                   jwks=JwksCache(preload=key.jwks))
    with pytest.raises(TokenSignatureError):
        verifier.verify(SigningKey().sign(claims(), header={"alg": "RS256"}), nonce=NONCE,
                        access_token=ACCESS)


def test_hs256_with_the_public_key(key: SigningKey, verifier: OidcIdTokenVerifier) -> None:
    with pytest.raises(TokenAlgorithmError):
        verifier.verify(hs256(claims(), key.public_pem, key.kid), nonce=NONCE, access_token=ACCESS)


def test_nonce_and_at_hash_helpers() -> None:
    check_nonce({"nonce": NONCE}, NONCE)
    check_at_hash({}, None)
    with pytest.raises(TokenClaimError):
        check_at_hash({"at_hash": "x"}, None)
