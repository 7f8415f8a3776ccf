"""An OpenID Connect provider's metadata (`<issuer>/.well-known/openid-configuration`),
fetched on first use and kept in memory for a while (OpenID Connect Discovery 1.0)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import httpx

from app.errors import ServiceUnavailableError
from app.http_fetch import fetch
from app.urls import http_url

log = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600.0
# After a failed refresh the old document serves this long before the next attempt, so a
# provider that is down is not asked again on every request.
STALE_RETRY_SECONDS = 60.0


class ProviderMetadata(NamedTuple):
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods_supported: list[str] | None


def _endpoint(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is missing")
    try:
        return http_url(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def parse_metadata(document: Any, issuer: str) -> ProviderMetadata:
    """The fields the app uses, checked.

    Raises:
        ValueError: a field is missing, or the document names another issuer (§4.3: an
            impostor's document must not redirect this provider's flows).
    """
    if not isinstance(document, dict):
        raise ValueError("the document is not a JSON object")
    if document.get("issuer") != issuer:
        raise ValueError("the document's issuer is not the configured issuer")
    algorithms = document.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list) and "RS256" not in algorithms:
        raise ValueError("the provider does not sign ID tokens with RS256")
    methods = document.get("token_endpoint_auth_methods_supported")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint"),
        token_endpoint=_endpoint(document, "token_endpoint"),
        jwks_uri=_endpoint(document, "jwks_uri"),
        token_endpoint_auth_methods_supported=(
            [str(method) for method in methods] if isinstance(methods, list) else None
        ),
    )


class DiscoveryCache:
    """One provider's metadata, refetched once it is older than `ttl_seconds`.

    Args:
        issuer: the configured issuer; the document is at its well-known path.
        provider: the provider's name, for messages and logs.
        timeout: of the whole fetch, in seconds.
        clock: monotonic seconds; tests step it over the TTL.
    """

    def __init__(
        self, issuer: str, *, provider: str, timeout: float,
        ttl_seconds: float = DISCOVERY_TTL_SECONDS, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.provider = provider
        self._timeout = timeout
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._fresh_until = 0.0

    def get(self) -> ProviderMetadata:
        """The metadata, from memory while fresh.

        Raises:
            ServiceUnavailableError: no usable document could be fetched, and none is held.
        """
        if self._metadata is not None and self._clock() < self._fresh_until:
            return self._metadata
        with self._lock:
            now = self._clock()
            if self._metadata is not None and now < self._fresh_until:
                return self._metadata
            try:
                self._metadata = self._fetch()
                self._fresh_until = now + self._ttl
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                log.warning("OpenID configuration unavailable", extra={
                    "provider": self.provider, "reason": f"{type(exc).__name__}: {exc}"[:200],
                })
                if self._metadata is None:
                    raise ServiceUnavailableError(
                        f"{self.provider} cannot be reached. Try again shortly."
                    ) from None
                self._fresh_until = now + STALE_RETRY_SECONDS
            return self._metadata

    def _fetch(self) -> ProviderMetadata:
        response = fetch("GET", self.url, timeout=self._timeout)
        if response.status_code != 200:
            raise ValueError(f"the document's URL answered {response.status_code}")
        return parse_metadata(response.json(), self.issuer)
