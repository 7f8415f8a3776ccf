"""Every claim is checked and every forgery refused, each by a named check."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.identity.provider import TokenSubject
from app.tokens.errors import (
    TokenAlgorithmError,
    TokenClaimError,
    TokenError,
    TokenExpiredError,
    TokenMalformedError,
    TokenSignatureError,
    UnknownKeyError,
)
from app.tokens.jwks import JwksCache
from app.tokens.verifier import CachingVerifier, TokenVerifier, VerifiedTokenCache
from tests.support.jwt import SigningKey, b64json, b64url, cognito_claims, hs256

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
NEW_ISSUER = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
CLIENT = "client123"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey()


@pytest.fixture
def verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier(
        issuers=[ISSUER, NEW_ISSUER], client_id=CLIENT, jwks=JwksCache(preload=key.jwks)
    )


def claims(**overrides: Any) -> dict[str, Any]:
    return cognito_claims(issuer=ISSUER, client_id=CLIENT) | overrides


class TestValidTokens:
    def test_id_and_access_tokens(self, key: SigningKey, verifier: TokenVerifier) -> None:
        id_claims = verifier.verify(key.sign(claims()), ["id"])
        assert id_claims["cognito:username"] == "alice"
        access = cognito_claims(issuer=ISSUER, client_id=CLIENT, token_use="access")
        assert verifier.verify(key.sign(access), ["access"])["username"] == "alice"

    def test_both_issuer_forms(self, key: SigningKey, verifier: TokenVerifier) -> None:
        assert verifier.verify(key.sign(claims(iss=NEW_ISSUER)), ["id"])["iss"] == NEW_ISSUER

    def test_small_clock_skew_is_tolerated(self, key: SigningKey, verifier: TokenVerifier) -> None:
        now = int(time.time())
        verifier.verify(key.sign(claims(exp=now - 2, iat=now - 100)), ["id"])
        verifier.verify(key.sign(claims(iat=now + 2)), ["id"])


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _five_part(key: SigningKey) -> str:
    return ".".join([b64json({"alg": "RSA-OAEP", "enc": "A256GCM"}), "a", "b", "c", "d"])


FORGERIES = {
    "alg none": (lambda k: f"{b64json({'alg': 'none', 'kid': k.kid})}.{b64json(claims())}.",
                 TokenAlgorithmError),
    "HS256 with the public key as secret": (lambda k: hs256(claims(), k.public_pem, k.kid),
                                            TokenAlgorithmError),
    "a foreign key reusing the kid": (lambda k: SigningKey(kid=k.kid).sign(claims()),
                                      TokenSignatureError),
    "a foreign key and kid": (lambda k: SigningKey().sign(claims()), UnknownKeyError),
    "a tampered payload": (
        lambda k: (lambda t: f"{t.split('.')[0]}.{b64json(claims(**{'cognito:username': 'root'}))}"
                   f".{t.split('.')[2]}")(k.sign(claims())),
        TokenSignatureError),
    "a stripped signature": (lambda k: k.sign(claims()).rsplit(".", 1)[0] + ".",
                             TokenSignatureError),
    "expired": (lambda k: k.sign(claims(exp=int(time.time()) - 60)), TokenExpiredError),
    "issued in the future": (lambda k: k.sign(claims(iat=int(time.time()) + 600)), TokenClaimError),
    "not valid yet": (lambda k: k.sign(claims(nbf=int(time.time()) + 600)), TokenClaimError),
    "no exp": (lambda k: k.sign({x: y for x, y in claims().items() if x != "exp"}),
               TokenClaimError),
    "exp as text": (lambda k: k.sign(claims(exp="9999999999")), TokenClaimError),
    "the wrong iss": (lambda k: k.sign(claims(iss="https://evil.example/pool")), TokenClaimError),
    "the wrong aud": (lambda k: k.sign(claims(aud="someone-else")), TokenClaimError),
    "aud as a list": (lambda k: k.sign(claims(aud=[CLIENT, "other"])), TokenClaimError),
    "the wrong token_use": (lambda k: k.sign(claims(token_use="refresh")), TokenClaimError),
    "an access token where an ID token is needed": (
        lambda k: k.sign(cognito_claims(issuer=ISSUER, client_id=CLIENT, token_use="access")),
        TokenClaimError),
    "a five-part JWE": (_five_part, TokenMalformedError),
    "16 KB of garbage": (lambda k: "x" * 16384, TokenMalformedError),
    "an oversized header": (
        lambda k: k.sign(claims(), {"alg": "RS256", "kid": k.kid, "x": "y" * 9000}),
        TokenMalformedError),
    "kid injection": (
        lambda k: k.sign(claims(), {"alg": "RS256", "kid": "../../etc/passwd' OR 1=1"}),
        UnknownKeyError),
    "an oversized kid": (lambda k: k.sign(claims(), {"alg": "RS256", "kid": "k" * 500}),
                         TokenMalformedError),
    "no kid": (lambda k: k.sign(claims(), {"alg": "RS256"}), TokenMalformedError),
    "a critical extension": (
        lambda k: k.sign(claims(), {"alg": "RS256", "kid": k.kid, "crit": ["exp"]}),
        TokenMalformedError),
    "a header that is not JSON": (lambda k: f"{b64url(b'nope')}.{b64json(claims())}.sig",
                                  TokenMalformedError),
    "a payload that is a list": (lambda k: k.sign([1, 2]), TokenMalformedError),  # type: ignore[arg-type]
    "non-ASCII": (lambda k: "\u00e9." * 2 + "x", TokenMalformedError),
    "base64 padding": (lambda k: k.sign(claims()) + "==", TokenMalformedError),
    # 256 bytes are 342 characters: the last one's low 4 bits are unused.
    "unused bits set": (lambda k: (lambda t: t[:-1] + _B64URL[_B64URL.index(t[-1]) ^ 1])(
        k.sign(claims())), TokenMalformedError),
    "standard base64": (lambda k: k.sign(claims()).replace("-", "+").replace("_", "/")
                        + "+/", TokenMalformedError),
}


@pytest.mark.parametrize("name", FORGERIES)
def test_forgeries_are_refused_by_the_right_check(
    name: str, key: SigningKey, verifier: TokenVerifier
) -> None:
    make, expected = FORGERIES[name]
    with pytest.raises(expected):
        verifier.verify(make(key), ["id"])
    assert issubclass(expected, TokenError)


def subject(exp: int) -> TokenSubject:
    return TokenSubject("alice", "sub", "id", 0, None, {"exp": exp})


class TestVerifiedTokenCache:
    def test_a_token_is_verified_once(self, key: SigningKey, verifier: TokenVerifier) -> None:
        calls = []
        original = verifier.verify

        def counting(token: str, uses: Any) -> Any:
            calls.append(token)
            return original(token, uses)

        verifier.verify = counting  # type: ignore[method-assign]
        cached = CachingVerifier(verifier)
        token = key.sign(claims())
        for _ in range(5):
            cached.verify(token, ("id",))
        assert len(calls) == 1

    def test_a_given_cache_is_used_even_while_empty(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        cache = VerifiedTokenCache()
        cached = CachingVerifier(verifier, cache)
        cached.verify(key.sign(claims()), ("id",))
        assert len(cache) == 1

    def test_an_entry_ends_at_exp(self, key: SigningKey) -> None:
        now = [1000.0]
        cache = VerifiedTokenCache(clock=lambda: now[0], leeway_seconds=0)
        cache.put("t", ("id",), subject(exp=1010))
        assert cache.get("t", ("id",)) == subject(exp=1010)
        now[0] = 1011
        assert cache.get("t", ("id",)) is None

    def test_the_cache_is_bounded(self) -> None:
        cache = VerifiedTokenCache(maxsize=3)
        for i in range(10):
            cache.put(f"t{i}", ("id",), subject(exp=2**40))
        assert len(cache) == 3
        assert cache.get("t9", ("id",)) is not None and cache.get("t0", ("id",)) is None

    def test_uses_are_part_of_the_key(self, key: SigningKey, verifier: TokenVerifier) -> None:
        cached = CachingVerifier(verifier)
        token = key.sign(claims())
        cached.verify(token, ("id",))
        with pytest.raises(TokenClaimError):
            cached.verify(token, ("access",))
