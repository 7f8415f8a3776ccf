"""`OidcClient`: this app as the client of one OpenID Connect provider, for the local pool.

It builds the authorization request, trades the code for tokens at the provider's token
endpoint, and verifies the ID token that comes back (`app.tokens.oidc`), with endpoints and
keys from the provider's discovery document.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, NamedTuple

from app.errors import NotAuthorizedError, ServiceUnavailableError
from app.federation.discovery import DiscoveryCache
from app.federation.oauth2 import (
    OAuthClient,
    authorization_url,
    choose_auth_method,
    exchange_code,
    request_params,
)
from app.federation.provider import AuthorizationRequest
from app.identity.addresses import is_mailbox
from app.tokens.errors import KeysUnavailableError, TokenError
from app.tokens.jwks import JwksCache, http_fetcher
from app.tokens.oidc import OidcIdTokenVerifier

log = logging.getLogger(__name__)


class ExternalIdentity(NamedTuple):
    """Who the provider says signed in."""

    sub: str
    email: str | None
    email_verified: bool


def _email_verified(value: Any) -> bool:
    # A boolean in the spec; some providers send the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


class OidcClient:
    """One configured provider.

    Args:
        name: the provider's name as configured (the `<name>_<sub>` usernames' prefix).
        issuer: its issuer; discovery is at `<issuer>/.well-known/openid-configuration`.
        client_id, client_secret: this app's client at the provider (no secret: public).
        scopes: requested scopes; `openid` is added when missing.
        timeout: of each request to the provider, in seconds.
        jwks_cooldown_seconds: least time between two fetches of its keys.
    """

    def __init__(
        self, *, name: str, issuer: str, client_id: str, client_secret: str | None,
        scopes: list[str], timeout: float, jwks_cooldown_seconds: float,
    ) -> None:
        self.name = name
        self.issuer = issuer
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes if "openid" in scopes else ["openid", *scopes]
        self._timeout = timeout
        self._jwks_cooldown = jwks_cooldown_seconds
        self.discovery = DiscoveryCache(issuer, provider=name, timeout=timeout)
        self._lock = threading.Lock()
        self._verifier: OidcIdTokenVerifier | None = None

    def authorization_url(self, request: AuthorizationRequest) -> str:
        """Where the browser goes to sign in at the provider.

        Raises:
            ServiceUnavailableError: the provider's discovery document cannot be had.
        """
        endpoint = self.discovery.get().authorization_endpoint
        return authorization_url(endpoint, request_params(self.client_id, self.scopes, request))

    def _id_token_verifier(self) -> OidcIdTokenVerifier:
        # Made once, so the JWKS cache (and its refetch cooldown) outlives a request.
        with self._lock:
            if self._verifier is None:
                jwks_uri = self.discovery.get().jwks_uri
                self._verifier = OidcIdTokenVerifier(
                    issuer=self.issuer, client_id=self.client_id,
                    jwks=JwksCache(
                        http_fetcher(jwks_uri, timeout=self._timeout),
                        cooldown_seconds=self._jwks_cooldown,
                    ),
                )
            return self._verifier

    def sign_in(
        self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ExternalIdentity:
        """Trade the code for tokens and verify the ID token against this flow.

        Raises:
            ServiceUnavailableError: the provider cannot be reached.
            NotAuthorizedError: the code is refused or the ID token fails a check.
        """
        metadata = self.discovery.get()
        client = OAuthClient(
            self.client_id, self._client_secret,
            choose_auth_method(self._client_secret, metadata.token_endpoint_auth_methods_supported),
        )
        tokens = exchange_code(
            metadata.token_endpoint, client=client, code=code, redirect_uri=redirect_uri,
            code_verifier=code_verifier, provider=self.name, timeout=self._timeout,
        )
        try:
            claims = self._id_token_verifier().verify(
                tokens.id_token, nonce=nonce, access_token=tokens.access_token
            )
        except KeysUnavailableError:
            raise ServiceUnavailableError(
                f"{self.name} cannot be reached to check the sign-in. Try again shortly."
            ) from None
        except TokenError as exc:
            log.warning("ID token refused", extra={
                "provider": self.name, "check": type(exc).__name__, "detail": exc.message,
            })
            raise NotAuthorizedError(
                f"The sign-in from {self.name} could not be verified. Sign in again."
            ) from None
        email = claims.get("email")
        return ExternalIdentity(
            sub=claims["sub"],
            email=email if isinstance(email, str) and "@" in email and is_mailbox(email)
            else None,
            email_verified=_email_verified(claims.get("email_verified")),
        )
