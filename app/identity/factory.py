"""The one place that turns settings into an identity backend and its token verifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.identity.provider import IdentityProvider
from app.settings import Settings

if TYPE_CHECKING:
    from app.identity.local.mailer import Mailer
    from app.identity.local.passwords import PasswordPolicy
    from app.tokens.verifier import TokenVerifier


def build_password_policy(settings: Settings) -> PasswordPolicy:
    from app.identity.local.passwords import PasswordPolicy

    return PasswordPolicy(
        min_length=settings.password_min_length,
        require_uppercase=settings.password_require_uppercase,
        require_lowercase=settings.password_require_lowercase,
        require_numbers=settings.password_require_numbers,
        require_symbols=settings.password_require_symbols,
    )


def build_mailer(settings: Settings) -> Mailer:
    from app.identity.local.mailer import ConsoleMailer, OutboxMailer, SmtpMailer

    console = ConsoleMailer()
    if settings.mail_backend == "console":
        return console
    outbox = OutboxMailer(settings.resolved_outbox_dir, echo=console)
    if settings.mail_backend == "outbox":
        return outbox
    assert settings.smtp_host is not None  # checked by Settings
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
        sms_fallback=outbox,
    )


def build_identity_provider(settings: Settings) -> IdentityProvider:
    """The backend named by AUTH_BACKEND; boto3 is imported only for `cognito`."""
    if settings.auth_backend == "cognito":
        from app.identity.cognito import CognitoIdentityProvider

        assert settings.cognito_region and settings.cognito_user_pool_id
        assert settings.cognito_client_id
        return CognitoIdentityProvider(
            region=settings.cognito_region,
            user_pool_id=settings.cognito_user_pool_id,
            client_id=settings.cognito_client_id,
            client_secret=(
                settings.cognito_client_secret.get_secret_value()
                if settings.cognito_client_secret else None
            ),
            endpoint_url=settings.cognito_endpoint_url,
            identity_pool_id=settings.cognito_identity_pool_id,
            timeout_seconds=settings.cognito_timeout_seconds,
            user_check_ttl_seconds=settings.user_check_ttl_seconds,
        )
    from app.identity.local.provider import LocalIdentityProvider

    return LocalIdentityProvider(
        settings.local_pool_dir,
        issuer=settings.local_pool_issuer.rstrip("/"),
        mailer=build_mailer(settings),
        policy=build_password_policy(settings),
        user_check_ttl_seconds=settings.user_check_ttl_seconds,
        federated_providers=settings.federated_providers,
    )


def build_token_verifier(settings: Settings, provider: IdentityProvider) -> TokenVerifier:
    """A verifier pinned to the backend's issuer and app client."""
    from app.tokens.claims import cognito_issuers
    from app.tokens.jwks import JwksCache, http_fetcher
    from app.tokens.verifier import TokenVerifier

    if settings.auth_backend == "cognito":
        assert settings.cognito_region and settings.cognito_user_pool_id
        issuers = list(cognito_issuers(settings.cognito_region, settings.cognito_user_pool_id))
        if settings.cognito_endpoint_url:
            # An emulator (moto) names itself as the issuer, or keeps AWS's form.
            issuers.append(
                f"{settings.cognito_endpoint_url.rstrip('/')}/{settings.cognito_user_pool_id}"
            )
        jwks_url = settings.cognito_jwks_url or f"{issuers[0]}/.well-known/jwks.json"
        jwks = JwksCache(
            http_fetcher(jwks_url, timeout=settings.cognito_timeout_seconds),
            cooldown_seconds=settings.jwks_refetch_cooldown_seconds,
        )
        return TokenVerifier(issuers=issuers, client_id=provider.client_id, jwks=jwks)
    from app.identity.local.provider import LocalIdentityProvider

    assert isinstance(provider, LocalIdentityProvider)
    # The pool's own key, read from its file: no fetch, and every process agrees.
    return TokenVerifier(
        issuers=[provider.issuer],
        client_id=provider.client_id,
        jwks=JwksCache(preload=provider.jwks),
    )
