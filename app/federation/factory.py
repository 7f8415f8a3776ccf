"""The one place that turns settings into the federated sign-in and its flow-cookie key."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from app.federation.flow import FlowSealer, derive_flow_key
from app.federation.provider import FederatedSignIn
from app.federation.service import CognitoFederation, LocalFederation
from app.settings import Settings
from app.tokens.claims import ID_TOKEN_ONLY

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from app.identity.cognito import CognitoIdentityProvider
    from app.services import Services

log = logging.getLogger(__name__)


def flow_key(settings: Settings, services: Services) -> bytes:
    """The key that seals flow cookies.

    SESSION_SECRET when set (every process and Lambda container agrees); else the local
    pool's secret file (every process on the pool agrees, and restarts keep it); else, on
    the cognito backend, a random key of this process: a flow then fails if its callback
    reaches another process (a restart, another Lambda container).
    """
    if settings.session_secret is not None:
        return derive_flow_key(settings.session_secret.get_secret_value().encode())
    if settings.auth_backend == "local":
        from app.identity.local.provider import LocalIdentityProvider

        identity = services.identity
        assert isinstance(identity, LocalIdentityProvider)
        return derive_flow_key(identity.keys.secret)
    if settings.cognito_domain:
        log.warning(
            "SESSION_SECRET is not set: federated sign-ins use a key of this process only, "
            "so a sign-in fails when its callback reaches another Lambda container or a "
            "restarted process. Set SESSION_SECRET (32 characters or more) to share one."
        )
    return secrets.token_bytes(32)


def build_flow_sealer(settings: Settings, services: Services) -> FlowSealer:
    return FlowSealer(flow_key(settings, services))


def _cognito_provider_names(
    settings: Settings, identity: CognitoIdentityProvider
) -> Callable[[], Collection[str] | None]:
    """COGNITO_IDENTITY_PROVIDERS (none without a domain), else the app client's own list."""
    if settings.cognito_identity_providers or not settings.cognito_domain:
        names = frozenset(settings.federated_providers)
        return lambda: names
    from app.federation.client_providers import AppClientProviders

    return AppClientProviders(identity.app_client_providers).current


def build_federation(settings: Settings, services: Services) -> FederatedSignIn:
    """The providers of LOCAL_OIDC_PROVIDERS (local) or of the user pool (cognito)."""
    if settings.auth_backend == "cognito":
        from app.federation.cognito import CognitoHostedUi
        from app.identity.cognito import CognitoIdentityProvider

        assert settings.cognito_client_id is not None  # checked by Settings
        identity = services.identity
        assert isinstance(identity, CognitoIdentityProvider)
        hosted_ui = CognitoHostedUi(
            domain=settings.cognito_domain or "",
            client_id=settings.cognito_client_id,
            client_secret=(
                settings.cognito_client_secret.get_secret_value()
                if settings.cognito_client_secret else None
            ),
            timeout=settings.cognito_timeout_seconds,
        )
        return CognitoFederation(
            hosted_ui, _cognito_provider_names(settings, identity),
            verify_id_token=lambda token: services.verifier.verify(token, ID_TOKEN_ONLY),
            record_sign_in=identity.record_sign_in,
        )
    from app.federation.oidc import OidcClient
    from app.identity.local.provider import LocalIdentityProvider

    pool = services.identity
    assert isinstance(pool, LocalIdentityProvider)
    clients = {
        provider.name: OidcClient(
            name=provider.name,
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=(
                provider.client_secret.get_secret_value() if provider.client_secret else None
            ),
            scopes=provider.scopes,
            timeout=settings.oidc_timeout_seconds,
            jwks_cooldown_seconds=settings.jwks_refetch_cooldown_seconds,
        )
        for provider in settings.local_oidc_providers
    }
    return LocalFederation(clients, pool)
