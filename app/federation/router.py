"""Federated sign-in (SPEC §2): `/auth/oauth/{provider}/authorize` and `/auth/oauth/callback`.

Only orchestration lives here: the flow cookie (`flow`), the redirect rules (`redirects`)
and the backend (`provider`, built by `factory`). Both routes are plain `def`: discovery,
the token request and the pool's writes block, so FastAPI runs them in its thread pool.

A browser reaches both by navigation, not by script, so a failure is never a JSON error
page: it is a redirect to the frontend with `auth_error` and `message` (only an unknown
provider, a mistake in a link, is a 404).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from app.auth.cookies import DuplicateCookieError, public_prefix, read_cookie, set_sign_in_cookies
from app.auth.dependencies import CookiePolicyDep, ServicesDep, SettingsDep
from app.errors import (
    AppError,
    ExpiredCodeError,
    InvalidParameterError,
    NotAuthorizedError,
    NotFoundError,
    ServiceUnavailableError,
)
from app.federation.flow import FLOW_COOKIE, FlowSealer, FlowState
from app.federation.provider import AuthorizationRequest, FederatedSignIn
from app.federation.redirects import error_location, safe_redirect_path
from app.identity.provider import TokenSet
from app.openapi import error_responses
from app.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth/oauth", tags=["auth"])

CALLBACK_PATH = "/auth/oauth/callback"


def get_federation(services: ServicesDep) -> FederatedSignIn:
    # Plain def: the first call builds the providers' clients (and imports httpx).
    return services.federation


FederationDep = Annotated[FederatedSignIn, Depends(get_federation)]


def get_flow_sealer(services: ServicesDep) -> FlowSealer:
    # Plain def: the first call may read (or create) the pool's secret file.
    return services.flow_sealer


FlowSealerDep = Annotated[FlowSealer, Depends(get_flow_sealer)]


def _redirect_documentation(description: str, *, not_found: bool) -> dict[str, Any]:
    extra = error_responses(404) if not_found else {"responses": {}}
    extra["responses"]["302"] = {
        "description": description,
        "headers": {"Location": {"schema": {"type": "string"}}},
    }
    return extra


def callback_uri(request: Request, settings: Settings) -> str:
    """The redirect_uri: PUBLIC_BASE_URL's, else this request's origin and stage prefix.

    Providers compare it with the registered one as a string, so set PUBLIC_BASE_URL
    wherever the Host a request carries is not the one browsers use.
    """
    base = settings.public_base_url or (
        f"{request.url.scheme}://{request.url.netloc}{public_prefix(request)}"
    )
    return base + CALLBACK_PATH


def _flow_cookie_path(request: Request) -> str:
    return f"{public_prefix(request)}/auth/oauth"


def _clear_flow_cookie(response: RedirectResponse, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        FLOW_COOKIE, path=_flow_cookie_path(request), secure=settings.cookie_secure,
        httponly=True, samesite="lax",
    )


def _redirect(location: str) -> RedirectResponse:
    response = RedirectResponse(location, status_code=302)
    # It may set sign-in cookies, and it answers a URL holding a code: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _failure(
    request: Request, settings: Settings, error: AppError, *, ends_flow: bool = True
) -> RedirectResponse:
    """Back to the frontend with the error and no sign-in cookie; the flow is over unless
    the answer was not this flow's."""
    log.info("federated sign-in failed", extra={"error": error.code, "reason": error.message})
    response = _redirect(error_location(public_prefix(request), error.code, error.message))
    if ends_flow:
        _clear_flow_cookie(response, request, settings)
    return response


class _NotThisFlow(Exception):
    """A callback whose state is not the flow's: a forged or stale link, which must not
    end (or even cancel) the sign-in this browser has in progress."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error


@router.get(
    "/{provider}/authorize", name="auth:authorize_federated", status_code=302,
    summary="Start a federated sign-in",
    response_class=RedirectResponse,
    openapi_extra=_redirect_documentation(
        "To the identity provider (or, when it cannot be reached, to `/?auth_error=...`), "
        "with the flow cookie set", not_found=True,
    ),
)
def authorize_federated(
    provider: str,
    request: Request,
    settings: SettingsDep,
    federation: FederationDep,
    sealer: FlowSealerDep,
    redirect_to: Annotated[str | None, Query(
        description="A path on this site to land on once signed in; anything else is `/`."
    )] = None,
) -> RedirectResponse:
    """Start a sign-in with an identity provider (Google, Facebook, any OpenID Connect)."""
    if not federation.has_provider(provider):
        raise NotFoundError("No identity provider of that name is configured.")
    flow = sealer.start(provider, safe_redirect_path(redirect_to))
    request_values = AuthorizationRequest(
        redirect_uri=callback_uri(request, settings),
        state=flow.state, nonce=flow.nonce, code_challenge=flow.code_challenge,
    )
    try:
        location = federation.authorization_url(provider, request_values)
    except AppError as exc:
        return _failure(request, settings, exc)
    response = _redirect(location)
    response.set_cookie(
        FLOW_COOKIE, sealer.seal(flow), max_age=sealer.max_age_seconds,
        path=_flow_cookie_path(request), secure=settings.cookie_secure, httponly=True,
        # Lax, not Strict: the provider's redirect back is a cross-site navigation, which
        # carries Lax cookies and not Strict ones.
        samesite="lax",
    )
    return response


def _provider_error(error: str) -> AppError:
    """The provider's own `error` (RFC 6749 §4.1.2.1) as one of the app's codes."""
    # Only a well-formed code is repeated: the parameter is whatever a link says.
    shown = error if error.replace("_", "").isalpha() and len(error) <= 40 else "unknown"
    log.info("the provider answered with an error", extra={"oauth_error": shown})
    if error == "access_denied":
        return NotAuthorizedError("The sign-in was cancelled or refused at the provider.")
    if error in ("temporarily_unavailable", "server_error"):
        return ServiceUnavailableError("The provider cannot sign you in right now. Try again.")
    return InvalidParameterError(f"The provider could not sign you in ({shown}).")


def _open_flow(request: Request, sealer: FlowSealer) -> FlowState:
    try:
        value = read_cookie(request, FLOW_COOKIE)
    except DuplicateCookieError:
        raise NotAuthorizedError("The sign-in could not be completed. Try again.") from None
    if not value:
        raise ExpiredCodeError(
            "No sign-in is in progress in this browser, or it has expired. Try again."
        )
    return sealer.open(value)


def _finish(
    request: Request, settings: Settings, federation: FederatedSignIn, sealer: FlowSealer,
    code: str | None, state: str | None, error: str | None,
) -> tuple[FlowState, TokenSet]:
    flow = _open_flow(request, sealer)
    # The state ties the answer, an error included (RFC 6749 §4.1.2.1), to the browser that
    # started the flow: no login CSRF, and no cancelling someone's sign-in with a link.
    if not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise _NotThisFlow(NotAuthorizedError(
            "The sign-in answer does not belong to this browser. Try again."))
    if error:
        raise _provider_error(error)
    if not code:
        raise InvalidParameterError("The provider's answer has no code.")
    tokens = federation.complete(flow, code=code, redirect_uri=callback_uri(request, settings))
    return flow, tokens


@router.get(
    "/callback", name="auth:federated_callback", status_code=302,
    summary="Finish a federated sign-in",
    response_class=RedirectResponse,
    openapi_extra=_redirect_documentation(
        "Signed in: to the flow's `redirect_to`, with the sign-in cookies. Any failure: to "
        "`/?auth_error=CODE&message=TEXT`, with no sign-in cookie.", not_found=False,
    ),
)
def federated_callback(
    request: Request,
    settings: SettingsDep,
    cookies: CookiePolicyDep,
    federation: FederationDep,
    sealer: FlowSealerDep,
    code: Annotated[str | None, Query(description="The authorization code.")] = None,
    state: Annotated[str | None, Query(description="The flow's state.")] = None,
    error: Annotated[str | None, Query(description="The provider's error, if any.")] = None,
) -> RedirectResponse:
    """Finish a federated sign-in: where the identity provider sends the browser back."""
    try:
        flow, tokens = _finish(request, settings, federation, sealer, code, state, error)
    except _NotThisFlow as stray:
        return _failure(request, settings, stray.error, ends_flow=False)
    except AppError as exc:
        return _failure(request, settings, exc)
    except Exception as exc:
        # Never a 500 page in the middle of a sign-in: the frontend shows the incident.
        incident = uuid.uuid4().hex[:12]
        log.error("federated sign-in broke", exc_info=exc, extra={"incident": incident})
        broken = AppError(f"The sign-in failed unexpectedly. Quote incident {incident}.")
        return _failure(request, settings, broken)
    response = _redirect(public_prefix(request) + flow.redirect_to)
    set_sign_in_cookies(response, request, tokens, cookies)
    _clear_flow_cookie(response, request, settings)
    return response
