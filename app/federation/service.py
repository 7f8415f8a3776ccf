"""The two `FederatedSignIn` backends, one per identity backend.

`LocalFederation`: the app is the OIDC client of each provider and signs the user into the
embedded pool as `<name>_<sub>`. `CognitoFederation`: the user pool's domain is the OIDC
client; the app trades the code for the pool's own tokens and checks them as any other.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from app.errors import NotAuthorizedError, ServiceUnavailableError
from app.federation.cognito import CognitoHostedUi
from app.federation.flow import FlowState
from app.federation.oidc import OidcClient
from app.federation.provider import AuthorizationRequest
from app.identity.provider import TokenSet
from app.tokens.claims import Claims
from app.tokens.errors import KeysUnavailableError, TokenError
from app.tokens.oidc import check_at_hash, check_nonce

log = logging.getLogger(__name__)

# A user pool's identity provider name as Cognito spells them (Google, Facebook,
# SignInWithApple, LoginWithAmazon, or an OIDC or SAML provider's chosen name).
PROVIDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


class ExternalUserLinker(Protocol):
    """The embedded pool's part (`LocalIdentityProvider.link_external_user`)."""

    def link_external_user(
        self, provider: str, provider_sub: str, email: str | None, email_verified: bool
    ) -> TokenSet:
        ...


def _unknown(provider: str) -> NotAuthorizedError:
    # The flow was started for a provider the configuration no longer has.
    log.warning("federated flow for an unconfigured provider", extra={"provider": provider})
    return NotAuthorizedError("That identity provider is no longer offered. Sign in again.")


class LocalFederation:
    """OIDC providers of LOCAL_OIDC_PROVIDERS, into the embedded pool."""

    def __init__(self, clients: Mapping[str, OidcClient], pool: ExternalUserLinker) -> None:
        self._clients = dict(clients)
        self._pool = pool

    def has_provider(self, provider: str) -> bool:
        return provider in self._clients

    def authorization_url(self, provider: str, request: AuthorizationRequest) -> str:
        return self._clients[provider].authorization_url(request)

    def complete(self, flow: FlowState, *, code: str, redirect_uri: str) -> TokenSet:
        client = self._clients.get(flow.provider)
        if client is None:
            raise _unknown(flow.provider)
        who = client.sign_in(
            code=code, redirect_uri=redirect_uri, code_verifier=flow.code_verifier,
            nonce=flow.nonce,
        )
        return self._pool.link_external_user(
            flow.provider, who.sub, who.email, who.email_verified and who.email is not None
        )


class CognitoFederation:
    """The identity providers of the user pool, through its domain.

    Args:
        hosted_ui: the pool's domain.
        providers: the names the pool's app client offers: COGNITO_IDENTITY_PROVIDERS, or
            Cognito's answer (`AppClientProviders.current`). None means Cognito could not
            tell: any well-formed name then goes on to the managed login, which itself
            refuses a provider the client does not offer.
        verify_id_token: the app's Cognito verifier for ID tokens (same issuer, client and
            keys as every other Cognito token the app accepts).
        record_sign_in: tells the backend a session started, so an earlier sign-out made by
            this process does not refuse it.
    """

    def __init__(
        self, hosted_ui: CognitoHostedUi, providers: Callable[[], Collection[str] | None], *,
        verify_id_token: Callable[[str], Claims],
        record_sign_in: Callable[[TokenSet], object],
    ) -> None:
        self._hosted_ui = hosted_ui
        self._providers = providers
        self._verify_id_token = verify_id_token
        self._record_sign_in = record_sign_in

    def has_provider(self, provider: str) -> bool:
        names = self._providers()
        if names is None:
            return PROVIDER_NAME.fullmatch(provider) is not None
        return provider in names

    def authorization_url(self, provider: str, request: AuthorizationRequest) -> str:
        return self._hosted_ui.authorization_url(provider, request)

    def complete(self, flow: FlowState, *, code: str, redirect_uri: str) -> TokenSet:
        if not self.has_provider(flow.provider):
            raise _unknown(flow.provider)
        answer = self._hosted_ui.exchange(
            code=code, redirect_uri=redirect_uri, code_verifier=flow.code_verifier
        )
        try:
            claims = self._verify_id_token(answer.id_token)
            check_nonce(claims, flow.nonce)
            check_at_hash(claims, answer.access_token)
        except KeysUnavailableError:
            raise ServiceUnavailableError(
                "Cognito cannot be reached to check the sign-in. Try again shortly."
            ) from None
        except TokenError as exc:
            log.warning("Cognito ID token refused", extra={
                "provider": flow.provider, "check": type(exc).__name__, "detail": exc.message,
            })
            raise NotAuthorizedError(
                "The sign-in could not be verified. Sign in again."
            ) from None
        tokens = TokenSet(
            answer.id_token, answer.access_token, answer.refresh_token, answer.expires_in
        )
        self._record_sign_in(tokens)
        return tokens
