"""A JSON Web Key Set held in memory, refetched on an unknown `kid` at most once per cooldown.

Modelled on aws-jwt-verify's `SimpleJwksCache`: keys are parsed once into key objects (the
parse costs more than the signature check), a token naming an unknown key triggers one
refetch, and a flood of made-up `kid`s cannot turn into a flood of fetches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jose.backends.base import Key

from app.tokens.errors import KeysUnavailableError, UnknownKeyError

log = logging.getLogger(__name__)

# After a failed fetch the next may come this soon, not a whole cooldown later: an outage
# is often brief, and sign-ins wait on it. Still not once per request.
RETRY_AFTER_FAILURE_SECONDS = 2.0

JwksFetcher = Callable[[], Mapping[str, Any]]


def http_fetcher(url: str, timeout: float = 3.0) -> JwksFetcher:
    """Fetch a JWKS over HTTPS with httpx, failing fast."""

    def fetch_jwks() -> Mapping[str, Any]:
        from app.http_fetch import fetch  # httpx: only for a backend that fetches keys

        response = fetch("GET", url, timeout=timeout)
        if response.status_code != 200:
            raise ValueError(f"the JWKS URL answered {response.status_code}")
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("the JWKS is not a JSON object")
        return document

    return fetch_jwks


class JwksCache:
    """RSA signing keys by `kid`.

    Args:
        fetch: returns the JWKS document; None when the keys are only ever preloaded.
        cooldown_seconds: the least time between two fetches (after a failed one, at most
            RETRY_AFTER_FAILURE_SECONDS).
        preload: a JWKS document to start with (tests, and the embedded pool's own keys).
    """

    def __init__(
        self,
        fetch: JwksFetcher | None = None,
        *,
        cooldown_seconds: float = 30.0,
        preload: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._lock = threading.Lock()
        self._next_fetch = float("-inf")
        self.fetch_count = 0
        if preload is not None:
            self._load(preload)

    def _load(self, document: Mapping[str, Any]) -> None:
        from jose import jwk

        keys: dict[str, Key] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, dict):
                continue
            # A key may go without a kid only in a set of one (OpenID Connect Core §10.1);
            # it is held under "", which no token's kid can be.
            kid = entry.get("kid", "")
            # Only RSA signing keys for RS256 are ever used; anything else is ignored.
            if (
                not isinstance(kid, str)
                or entry.get("kty") != "RSA"
                or entry.get("alg", "RS256") != "RS256"
                or entry.get("use", "sig") != "sig"
            ):
                continue
            try:
                keys[kid] = jwk.construct(entry, "RS256")
            except Exception:
                log.warning("ignoring a JWKS key that cannot be parsed", extra={"kid": kid})
        if not keys:
            raise ValueError("the JWKS holds no RSA signing key")
        # The set is replaced, not merged: a key the issuer withdraws stops being trusted.
        self._keys = keys

    def key(self, kid: str) -> Key:
        """The key for `kid`, refetching the set once per cooldown if it is unknown.

        Raises:
            KeysUnavailableError: no key is held, and the set cannot be fetched.
            UnknownKeyError: not in the set, even after a refetch (or the fetch failed).
        """
        return self._find(lambda: self._keys.get(kid), f"unknown kid {kid[:40]!r}")

    def sole_key(self) -> Key:
        """The set's only key, for a token without a kid (OpenID Connect Core §10.1).

        Raises:
            KeysUnavailableError: no key is held, and the set cannot be fetched.
            UnknownKeyError: the set holds several keys (or none), so a kid is needed.
        """
        def only() -> Key | None:
            keys = list(self._keys.values())
            return keys[0] if len(keys) == 1 else None

        return self._find(only, "a token without a kid, and not exactly one key in the set")

    def _find(self, lookup: Callable[[], Key | None], unknown: str) -> Key:
        found = lookup()
        if found is not None:
            return found
        if self._fetch is None:
            raise UnknownKeyError(unknown)
        with self._lock:
            found = lookup()
            if found is not None:
                return found
            now = self._clock()
            if now < self._next_fetch:
                if not self._keys:
                    raise KeysUnavailableError("the JWKS could not be fetched; retrying soon")
                raise UnknownKeyError(f"{unknown}; refetch is cooling down")
            self.fetch_count += 1
            try:
                self._load(self._fetch())
            except Exception as exc:
                log.warning("the JWKS could not be fetched", extra={"reason": repr(exc)[:200]})
                self._next_fetch = now + min(self._cooldown, RETRY_AFTER_FAILURE_SECONDS)
                if not self._keys:
                    raise KeysUnavailableError("the JWKS could not be fetched") from exc
                raise UnknownKeyError("the JWKS could not be fetched") from exc
            self._next_fetch = now + self._cooldown
        found = lookup()
        if found is None:
            raise UnknownKeyError(unknown)
        return found
