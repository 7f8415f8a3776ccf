"""The JWKS cache against a real loopback HTTP server whose key set the test controls.

A new `kid` is picked up after the cooldown, a flood of made-up `kid`s costs at most one
fetch per cooldown (counted at the server), and keys already held keep working when the
JWKS endpoint goes down. The cooldown is stepped with an injected clock, not slept.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from jose import jws

from app.identity.local.keys import PoolKeys
from app.tokens.errors import KeysUnavailableError, UnknownKeyError
from app.tokens.jwks import RETRY_AFTER_FAILURE_SECONDS, JwksCache, http_fetcher
from app.tokens.verifier import TokenVerifier
from tests.support.clock import Clock
from tests.support.jwks_server import JwksServer

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Jwks"
CLIENT_ID = "jwksclient"
COOLDOWN = 30.0


def sign(keys: PoolKeys, kid: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "sub": "sub-1",
              "cognito:username": "alice", "iat": now, "exp": now + 600}
    return jws.sign(claims, keys.signing_key, headers={"kid": kid or keys.kid},
                    algorithm="RS256")


@pytest.fixture
def old_key(tmp_path: Path) -> PoolKeys:
    return PoolKeys(tmp_path / "old")


@pytest.fixture
def new_key(tmp_path: Path) -> PoolKeys:
    return PoolKeys(tmp_path / "new")


@pytest.fixture
def server(old_key: PoolKeys) -> Iterator[JwksServer]:
    jwks = JwksServer(old_key.jwks)
    yield jwks
    jwks.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(server: JwksServer, clock: Clock) -> TokenVerifier:
    cache = JwksCache(http_fetcher(server.url), cooldown_seconds=COOLDOWN, clock=clock)
    return TokenVerifier(issuers=[ISSUER], client_id=CLIENT_ID, jwks=cache)


class TestRotation:
    def test_a_new_kid_is_picked_up_and_a_withdrawn_one_dropped(
        self, verifier: TokenVerifier, server: JwksServer, clock: Clock,
        old_key: PoolKeys, new_key: PoolKeys,
    ) -> None:
        old_token = sign(old_key)
        assert verifier.verify(old_token, ("id",))["sub"] == "sub-1"
        assert server.fetches == 1

        server.document = new_key.jwks  # the issuer rotates: only the new key is published
        clock.now += COOLDOWN
        assert verifier.verify(sign(new_key), ("id",))["sub"] == "sub-1"
        assert server.fetches == 2
        with pytest.raises(UnknownKeyError):
            verifier.verify(old_token, ("id",))

    def test_a_new_kid_within_the_cooldown_waits_for_it(
        self, verifier: TokenVerifier, server: JwksServer, clock: Clock,
        old_key: PoolKeys, new_key: PoolKeys,
    ) -> None:
        verifier.verify(sign(old_key), ("id",))
        server.document = {"keys": [old_key.public_jwk, new_key.public_jwk]}
        with pytest.raises(UnknownKeyError):
            verifier.verify(sign(new_key), ("id",))
        clock.now += COOLDOWN
        verifier.verify(sign(new_key), ("id",))
        assert server.fetches == 2


class TestFlood:
    def test_random_kids_cost_at_most_one_fetch_per_cooldown(
        self, verifier: TokenVerifier, server: JwksServer, clock: Clock, old_key: PoolKeys
    ) -> None:
        verifier.verify(sign(old_key), ("id",))
        assert server.fetches == 1

        def flood() -> int:
            refused = 0
            for _ in range(100):
                try:
                    verifier.verify(sign(old_key, kid=uuid.uuid4().hex), ("id",))
                except UnknownKeyError:
                    refused += 1
            return refused

        for window in range(1, 4):
            clock.now += COOLDOWN
            with ThreadPoolExecutor(max_workers=4) as pool:
                refused = sum(pool.map(lambda _: flood(), range(4)))
            assert refused == 400
            assert server.fetches == 1 + window, "one refetch per cooldown window"
        # The real key still verifies after all that.
        verifier.verify(sign(old_key), ("id",))
        assert server.fetches == 4


class TestEndpointDown:
    def test_cached_keys_keep_working(
        self, verifier: TokenVerifier, server: JwksServer, clock: Clock,
        old_key: PoolKeys, new_key: PoolKeys,
    ) -> None:
        token = sign(old_key)
        verifier.verify(token, ("id",))
        server.stop()

        assert verifier.verify(token, ("id",))["sub"] == "sub-1"
        clock.now += COOLDOWN
        with pytest.raises(UnknownKeyError, match="could not be fetched"):
            verifier.verify(sign(new_key), ("id",))  # tries the endpoint, which is down
        assert verifier.verify(token, ("id",))["sub"] == "sub-1", "a failed fetch keeps the keys"


    def test_down_from_the_start_is_an_outage_retried_soon(
        self, clock: Clock, old_key: PoolKeys
    ) -> None:
        """With no key held, a failed fetch is an outage (not an unknown key), and the next
        attempt comes after a short pause rather than a whole cooldown."""
        answers: list[Mapping[str, Any] | None] = [None, old_key.jwks]

        def flaky() -> Mapping[str, Any]:
            document = answers.pop(0) if answers else old_key.jwks
            if document is None:
                raise OSError("connection refused")
            return document

        cache = JwksCache(flaky, cooldown_seconds=COOLDOWN, clock=clock)
        verifier = TokenVerifier(issuers=[ISSUER], client_id=CLIENT_ID, jwks=cache)
        token = sign(old_key)
        with pytest.raises(KeysUnavailableError):
            verifier.verify(token, ("id",))
        with pytest.raises(KeysUnavailableError):
            verifier.verify(token, ("id",))  # within the pause: no second fetch
        assert cache.fetch_count == 1
        clock.now += RETRY_AFTER_FAILURE_SECONDS
        assert verifier.verify(token, ("id",))["sub"] == "sub-1"
        assert cache.fetch_count == 2
