"""The auth API (SPEC §2): sign-up, sign-in, tokens, and the signed-in user's account.

Path operations are plain `def`: backends block (Argon2, SQLite, boto3), so FastAPI runs
them in its thread pool and the event loop stays free.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response, status

from app.auth import schemas
from app.auth.cookies import (
    REFRESH_COOKIE,
    DuplicateCookieError,
    clear_auth_cookies,
    read_cookie,
    set_sign_in_cookies,
)
from app.auth.csrf import csrf_token_matches, is_cross_site, require_csrf_token
from app.auth.dependencies import (
    CookiePolicyDep,
    CurrentUser,
    IdentityDep,
    IdTokenCaller,
    ServicesDep,
    authenticate,
    read_credential,
)
from app.errors import AppError, CsrfFailedError, NotAuthorizedError
from app.identity.provider import AuthOutcome, Caller, Challenge, UserAttributes
from app.tokens.claims import username_of

router = APIRouter(prefix="/auth", tags=["auth"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {code: {"model": schemas.ErrorResponse} for code in (*codes, 422)}


def _sign_in_answer(
    outcome: AuthOutcome, request: Request, response: Response, cookies: CookiePolicyDep
) -> schemas.SignInResponse | schemas.ChallengeResponse:
    if isinstance(outcome, Challenge):
        return schemas.ChallengeResponse(
            challenge=outcome.name,
            session=outcome.session,
            delivery=schemas.Delivery.of(outcome.delivery) if outcome.delivery else None,
        )
    set_sign_in_cookies(response, request, outcome, cookies)
    return schemas.SignInResponse(token=outcome.id_token, expires_in=outcome.expires_in)


def _no_store(response: Response) -> None:
    # Tokens and codes must not be kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/signup", name="auth:sign_up", status_code=status.HTTP_201_CREATED,
    response_model=schemas.SignUpResponse, responses=_errors(400, 409, 429),
)
def sign_up(body: schemas.SignUpRequest, identity: IdentityDep) -> schemas.SignUpResponse:
    """Create an account; a 6-digit code goes to the email."""
    result = identity.sign_up(
        body.username, body.password,
        UserAttributes(email=body.email, phone_number=body.phone_number),
    )
    return schemas.SignUpResponse(
        username=result.username, user_sub=result.user_sub, confirmed=result.confirmed,
        delivery=schemas.Delivery.of(result.delivery) if result.delivery else None,
    )


@router.post(
    "/confirm_signup", name="auth:confirm_sign_up",
    response_model=schemas.ConfirmSignUpResponse, responses=_errors(400, 401, 409, 429),
)
def confirm_sign_up(
    body: schemas.ConfirmSignUpRequest, identity: IdentityDep
) -> schemas.ConfirmSignUpResponse:
    """Confirm an account with the code from the email."""
    identity.confirm_sign_up(body.username, body.code)
    return schemas.ConfirmSignUpResponse(
        message=f"User {body.username} successfully confirmed", confirmed=True
    )


@router.post(
    "/resend_code", name="auth:resend_code",
    response_model=schemas.DeliveryResponse, responses=_errors(429),
)
def resend_code(body: schemas.UsernameRequest, identity: IdentityDep) -> schemas.DeliveryResponse:
    """Send a new sign-up code (the same answer whether or not the user exists)."""
    delivery = identity.resend_confirmation_code(body.username)
    return schemas.DeliveryResponse(delivery=schemas.Delivery.of(delivery))


@router.post(
    "/signin", name="auth:sign_in",
    response_model=schemas.SignInResponse | schemas.ChallengeResponse,
    responses=_errors(401, 403, 429, 503),
)
def sign_in(
    body: schemas.SignInRequest, request: Request, response: Response,
    identity: IdentityDep, cookies: CookiePolicyDep,
) -> schemas.SignInResponse | schemas.ChallengeResponse:
    """Sign in with the username (or verified email) and password.

    Sets the token cookies, or answers a challenge (MFA, new password) to complete through
    `/auth/signin/challenge`. A wrong password and an unknown user get the same answer.
    """
    _no_store(response)
    outcome = identity.initiate_auth(body.username, body.password)
    return _sign_in_answer(outcome, request, response, cookies)


@router.post(
    "/signin/challenge", name="auth:respond_to_challenge",
    response_model=schemas.SignInResponse | schemas.ChallengeResponse,
    responses=_errors(400, 401, 429),
)
def respond_to_challenge(
    body: schemas.ChallengeRequest, request: Request, response: Response,
    identity: IdentityDep, cookies: CookiePolicyDep,
) -> schemas.SignInResponse | schemas.ChallengeResponse:
    """Answer a sign-in challenge with a code or a new password."""
    _no_store(response)
    answers = {"code": body.code or "", "new_password": body.new_password or ""}
    outcome = identity.respond_to_challenge(body.username, body.challenge, body.session, answers)
    return _sign_in_answer(outcome, request, response, cookies)


@router.post(
    "/refresh", name="auth:refresh",
    response_model=schemas.SignInResponse, responses=_errors(401, 403),
)
def refresh(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.SignInResponse:
    """New ID and access token cookies from the refresh cookie."""
    _no_store(response)
    try:
        refresh_token = read_cookie(request, REFRESH_COOKIE)
    except DuplicateCookieError:
        refresh_token = None
    if not refresh_token:
        raise NotAuthorizedError("No refresh token: sign in again.")
    require_csrf_token(request)
    tokens = services.identity.refresh(refresh_token, _username_hint(request, cookies))
    set_sign_in_cookies(response, request, tokens, cookies)
    return schemas.SignInResponse(
        message="Token refreshed", token=tokens.id_token, expires_in=tokens.expires_in
    )


def _username_hint(request: Request, cookies: CookiePolicyDep) -> str | None:
    """The username in the (maybe expired) ID token cookie, unverified.

    Cognito needs it for SECRET_HASH on a refresh; Cognito checks the refresh token itself.
    """
    from jose import jwt
    from jose.exceptions import JOSEError

    try:
        token = read_cookie(request, cookies.token_name)
        return username_of(jwt.get_unverified_claims(token)) if token else None
    except (DuplicateCookieError, JOSEError, ValueError):
        return None


def _sign_out(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse:
    _no_store(response)
    caller: Caller | None = None
    try:
        credential = read_credential(request, cookies.token_name, prefer_access=True)
        caller = authenticate(request, services, credential)[0] if credential else None
    except CsrfFailedError:
        raise
    except AppError:
        caller = None  # A stale or bad token still gets signed out of the browser.
    try:
        refresh_token = read_cookie(request, REFRESH_COOKIE)
    except DuplicateCookieError:
        refresh_token = None
    services.identity.global_sign_out(caller, refresh_token)
    clear_auth_cookies(response, request, cookies)
    return schemas.MessageResponse(message="Signed out")


def _has_auth_cookies(request: Request, cookies: CookiePolicyDep) -> bool:
    names = {cookies.token_name, "access_token", REFRESH_COOKIE}
    return any(name in request.cookies for name in names)


@router.post(
    "/signout", name="auth:sign_out",
    response_model=schemas.MessageResponse, responses=_errors(403),
)
def sign_out(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse:
    """Sign out everywhere: tokens revoked, every auth cookie cleared. Idempotent."""
    if _has_auth_cookies(request, cookies) and "authorization" not in request.headers:
        require_csrf_token(request)
    return _sign_out(request, response, services, cookies)


@router.get(
    "/signout", name="auth:sign_out_get",
    response_model=schemas.MessageResponse, responses=_errors(403),
)
def sign_out_get(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse:
    """Sign out with GET, for the original design's clients; refused when cross-site."""
    if is_cross_site(request) and not csrf_token_matches(request):
        raise CsrfFailedError("A sign-out from another site needs the X-CSRF-Token header.")
    return _sign_out(request, response, services, cookies)


@router.get(
    "/current_user", name="auth:read_current_user",
    response_model=schemas.CurrentUserResponse, responses=_errors(401),
)
def read_current_user(user: CurrentUser, response: Response) -> schemas.CurrentUserResponse:
    """The signed-in user's attributes."""
    _no_store(response)
    return schemas.CurrentUserResponse.of(user)


@router.get(
    "/aws_credentials", name="auth:read_aws_credentials",
    response_model=schemas.AwsCredentialsResponse, responses=_errors(401, 501, 503),
)
def read_aws_credentials(
    caller: IdTokenCaller, identity: IdentityDep, response: Response
) -> schemas.AwsCredentialsResponse:
    """Temporary AWS credentials for the signed-in user, from the identity pool."""
    _no_store(response)
    return schemas.AwsCredentialsResponse(**asdict(identity.get_aws_credentials(caller.token)))
