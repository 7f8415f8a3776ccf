"""The auth API (SPEC §2): sign-up, sign-in, tokens, and the signed-in user's account.

Path operations that call a backend are plain `def`: backends block (Argon2, SQLite,
boto3), so FastAPI runs them in its thread pool and the event loop stays free. Those
that only read the checked caller are `async`.
"""


from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.auth import schemas
from app.auth.cookies import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    DuplicateCookieError,
    clear_auth_cookies,
    read_cookie,
    set_sign_in_cookies,
)
from app.auth.csrf import csrf_token_matches, is_cross_site, require_csrf_token
from app.auth.dependencies import (
    AccountCaller,
    CookiePolicyDep,
    CurrentUser,
    IdentityDep,
    IdTokenCaller,
    ServicesDep,
    SettingsDep,
    read_credential,
    verify_caller,
)
from app.auth.totp import qr_svg_data_uri, totp_uri
from app.errors import (
    AppError,
    CsrfFailedError,
    NotAuthorizedError,
    error_body,
)
from app.identity.provider import AuthOutcome, Caller, Challenge, UserAttributes
from app.openapi import error_responses
from app.tokens.claims import username_of

router = APIRouter(prefix="/auth", tags=["auth"])


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
    response_model=schemas.SignUpResponse, openapi_extra=error_responses(400, 409, 429),
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
    response_model=schemas.ConfirmSignUpResponse, openapi_extra=error_responses(400, 401, 409, 429),
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
    response_model=schemas.DeliveryResponse, openapi_extra=error_responses(429),
)
def resend_code(body: schemas.UsernameRequest, identity: IdentityDep) -> schemas.DeliveryResponse:
    """Send a new sign-up code (the same answer whether or not the user exists)."""
    delivery = identity.resend_confirmation_code(body.username)
    return schemas.DeliveryResponse(delivery=schemas.Delivery.of(delivery))


@router.post(
    "/signin", name="auth:sign_in",
    response_model=schemas.SignInResponse | schemas.ChallengeResponse,
    response_model_exclude_none=True,  # a challenge without a delivery has no such field
    openapi_extra=error_responses(401, 403, 429, 503),
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
    response_model_exclude_none=True,  # a challenge without a delivery has no such field
    openapi_extra=error_responses(400, 401, 429),
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
    response_model=schemas.SignInResponse, openapi_extra=error_responses(401, 403),
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
    except (DuplicateCookieError, JOSEError, ValueError, RecursionError):
        return None


SIGNED_OUT_HERE_ONLY = (
    "This browser is signed out, but the identity service could not end your sessions "
    "elsewhere just now. Sign in and out again later to end them."
)


async def _sign_out(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse | Response:
    _no_store(response)
    caller: Caller | None = None
    try:
        credential = read_credential(request, cookies.token_name, prefer_access=True)
        # The token, not its user: a sign-out is recorded even when the user cannot be
        # looked up just now, or is gone.
        caller = await verify_caller(request, services, credential) if credential else None
    except CsrfFailedError:
        raise
    except AppError:
        caller = None  # A stale or bad token still gets signed out of the browser.
    try:
        refresh_token = read_cookie(request, REFRESH_COOKIE)
    except DuplicateCookieError:
        refresh_token = None
    try:
        await run_in_threadpool(services.identity.global_sign_out, caller, refresh_token)
    except AppError as exc:  # Cognito out of reach, throttling, a fault
        # The browser forgets its tokens all the same: left signed in, a shared computer
        # would stay signed in for the next person. The answer says what did not happen.
        unreachable = JSONResponse(
            error_body(exc.code, SIGNED_OUT_HERE_ONLY), status_code=exc.status_code,
            headers=exc.headers,
        )
        _no_store(unreachable)
        clear_auth_cookies(unreachable, request, cookies)
        return unreachable
    clear_auth_cookies(response, request, cookies)
    return schemas.MessageResponse(message="Signed out")


def _has_auth_cookies(request: Request, cookies: CookiePolicyDep) -> bool:
    names = {cookies.token_name, "access_token", REFRESH_COOKIE}
    return any(name in request.cookies for name in names)


@router.post(
    "/signout", name="auth:sign_out",
    response_model=schemas.MessageResponse, openapi_extra=error_responses(403),
)
async def sign_out(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse | Response:
    """Sign out everywhere: tokens revoked, every auth cookie cleared. Idempotent."""
    if _has_auth_cookies(request, cookies) and "authorization" not in request.headers:
        require_csrf_token(request)
    return await _sign_out(request, response, services, cookies)


@router.get(
    "/signout", name="auth:sign_out_get",
    response_model=schemas.MessageResponse, openapi_extra=error_responses(403),
)
async def sign_out_get(
    request: Request, response: Response, services: ServicesDep, cookies: CookiePolicyDep
) -> schemas.MessageResponse | Response:
    """Sign out with GET, for the original design's clients; refused when cross-site."""
    if is_cross_site(request) and not csrf_token_matches(request):
        raise CsrfFailedError("A sign-out from another site needs the X-CSRF-Token header.")
    return await _sign_out(request, response, services, cookies)


@router.get("/csrf", name="auth:read_csrf_token", response_model=schemas.CsrfTokenResponse)
async def read_csrf_token(request: Request, response: Response) -> schemas.CsrfTokenResponse:
    """The CSRF token of this browser's session, for a page served from another site.

    Such a page cannot read this site's `csrf_token` cookie; CORS lets only the configured
    origins read this answer, so it tells nothing to any other site.
    """
    _no_store(response)
    try:
        token = read_cookie(request, CSRF_COOKIE)
    except DuplicateCookieError:
        token = None
    return schemas.CsrfTokenResponse(csrf_token=token)


@router.get(
    "/current_user", name="auth:read_current_user",
    response_model=schemas.CurrentUserResponse, openapi_extra=error_responses(401, signed_in=True),
)
async def read_current_user(user: CurrentUser, response: Response) -> schemas.CurrentUserResponse:
    """The signed-in user's attributes."""
    _no_store(response)
    return schemas.CurrentUserResponse.of(user)


# ---------------------------------------------------------------- passwords


@router.post(
    "/forgot_password", name="auth:forgot_password",
    response_model=schemas.DeliveryResponse, openapi_extra=error_responses(429, 503),
)
def forgot_password(
    body: schemas.ForgotPasswordRequest, identity: IdentityDep
) -> schemas.DeliveryResponse:
    """Send a password reset code (the same answer whether or not the user exists)."""
    delivery = identity.forgot_password(body.username)
    return schemas.DeliveryResponse(delivery=schemas.Delivery.of(delivery))


@router.post(
    "/confirm_forgot_password", name="auth:confirm_forgot_password",
    response_model=schemas.MessageResponse, openapi_extra=error_responses(400, 429, 503),
)
def confirm_forgot_password(
    body: schemas.ConfirmForgotPasswordRequest, identity: IdentityDep
) -> schemas.MessageResponse:
    """Set a new password with the reset code; every existing session ends."""
    identity.confirm_forgot_password(body.username, body.code, body.password)
    return schemas.MessageResponse(message="Password has been reset")


@router.post(
    "/change_password", name="auth:change_password",
    response_model=schemas.MessageResponse,
    openapi_extra=error_responses(400, 401, 403, 429, signed_in=True),
)
def change_password(
    body: schemas.ChangePasswordRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.MessageResponse:
    """Change the password; the user's other sessions end, this one goes on."""
    identity.change_password(caller, body.old_password, body.new_password)
    return schemas.MessageResponse(message="Password changed")


# ---------------------------------------------------------------- attributes


@router.post(
    "/update_attributes", name="auth:update_attributes",
    response_model=schemas.DeliveriesResponse,
    openapi_extra=error_responses(400, 401, 403, 409, signed_in=True),
)
def update_attributes(
    body: schemas.UpdateAttributesRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.DeliveriesResponse:
    """Change the email or phone number; a changed one is unverified until confirmed."""
    deliveries = identity.update_user_attributes(
        caller, UserAttributes(email=body.email, phone_number=body.phone_number)
    )
    return schemas.DeliveriesResponse(deliveries=[schemas.Delivery.of(d) for d in deliveries])


@router.post(
    "/verify_attribute", name="auth:verify_attribute",
    response_model=schemas.DeliveryResponse,
    openapi_extra=error_responses(400, 401, 403, 429, signed_in=True),
)
def verify_attribute(
    body: schemas.VerifyAttributeRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.DeliveryResponse:
    """Send a code to the email (by email) or the phone number (by SMS)."""
    delivery = identity.get_user_attribute_verification_code(caller, body.attribute)
    return schemas.DeliveryResponse(delivery=schemas.Delivery.of(delivery))


@router.post(
    "/confirm_attribute", name="auth:confirm_attribute",
    response_model=schemas.MessageResponse,
    openapi_extra=error_responses(400, 401, 403, 409, 429, signed_in=True),
)
def confirm_attribute(
    body: schemas.ConfirmAttributeRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.MessageResponse:
    """Confirm the email or phone number with its code."""
    identity.verify_user_attribute(caller, body.attribute, body.code)
    return schemas.MessageResponse(message=f"{body.attribute} verified")


# ---------------------------------------------------------------- MFA


@router.post(
    "/mfa/totp/setup", name="auth:set_up_totp",
    response_model=schemas.TotpSetupResponse,
    openapi_extra=error_responses(400, 401, 403, signed_in=True),
)
def set_up_totp(
    caller: AccountCaller, identity: IdentityDep, settings: SettingsDep, response: Response
) -> schemas.TotpSetupResponse:
    """Start TOTP enrolment: the secret, its otpauth:// URI and a QR code of it."""
    _no_store(response)
    secret = identity.associate_software_token(caller)
    uri = totp_uri(secret, caller.subject.username, issuer=settings.app_name)
    return schemas.TotpSetupResponse(secret=secret, otpauth_uri=uri, qr_svg=qr_svg_data_uri(uri))


@router.post(
    "/mfa/totp/verify", name="auth:verify_totp",
    response_model=schemas.MfaStatusResponse,
    openapi_extra=error_responses(400, 401, 403, signed_in=True),
)
def verify_totp(
    body: schemas.CodeRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.MfaStatusResponse:
    """Finish enrolment with a current code; sign-in then asks for SOFTWARE_TOKEN_MFA."""
    identity.verify_software_token(caller, body.code)
    return schemas.MfaStatusResponse(mfa_enabled=True)


@router.post(
    "/mfa/disable", name="auth:disable_mfa",
    response_model=schemas.MfaStatusResponse,
    openapi_extra=error_responses(400, 401, 403, signed_in=True),
)
def disable_mfa(
    body: schemas.CodeRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.MfaStatusResponse:
    """Turn TOTP MFA off, with a current code."""
    identity.disable_software_token(caller, body.code)
    return schemas.MfaStatusResponse(mfa_enabled=False)


@router.post(
    "/mfa/sms", name="auth:set_sms_mfa",
    response_model=schemas.MfaStatusResponse,
    openapi_extra=error_responses(400, 401, 403, signed_in=True),
)
def set_sms_mfa(
    body: schemas.SmsMfaRequest, caller: AccountCaller, identity: IdentityDep
) -> schemas.MfaStatusResponse:
    """Turn SMS MFA on (a verified phone number is needed) or off."""
    identity.set_sms_mfa(caller, body.enabled)
    return schemas.MfaStatusResponse(mfa_enabled=body.enabled)


@router.get(
    "/aws_credentials", name="auth:read_aws_credentials",
    response_model=schemas.AwsCredentialsResponse,
    openapi_extra=error_responses(401, 501, 503, signed_in=True),
)
def read_aws_credentials(
    caller: IdTokenCaller, identity: IdentityDep, response: Response
) -> schemas.AwsCredentialsResponse:
    """Temporary AWS credentials for the signed-in user, from the identity pool."""
    _no_store(response)
    credentials = identity.get_aws_credentials(caller.token)
    return schemas.AwsCredentialsResponse(**credentials._asdict())
