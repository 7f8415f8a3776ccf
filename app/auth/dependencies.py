"""Who is calling: credentials from the `token` cookie or a Bearer header, verified and checked.

The chain is small steps: `read_credential` finds the token (and which kinds of token
that place may carry), `verify_caller` verifies it and checks CSRF on cookie-authenticated
writes, and `authenticate` then asks the backend whether its user still exists, is enabled
and is signed in. Routes take the `CurrentUser` or `AccountCaller` alias; sign-out needs
only `verify_caller`.

Everything here is `async`: a request whose token and session were checked recently is
answered from memory on the event loop, with no hop to the thread pool; only a first
sight of a token or an expired check goes to a thread, where blocking is allowed.
"""


import logging
from typing import Annotated, Literal, NamedTuple

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPBearer

from app.auth.cookies import ACCESS_COOKIE, CookiePolicy, DuplicateCookieError, read_cookie
from app.auth.csrf import SAFE_METHODS, require_csrf_token
from app.errors import NotAuthorizedError, ServiceUnavailableError
from app.identity.provider import Caller, IdentityProvider, UserRecord
from app.services import Services
from app.settings import Settings
from app.tokens.claims import ACCESS_TOKEN_ONLY, ANY_TOKEN_USE, ID_TOKEN_ONLY, TokenUse
from app.tokens.errors import (
    CLIENT_MESSAGE,
    KEYS_UNAVAILABLE_MESSAGE,
    KeysUnavailableError,
    TokenError,
)

log = logging.getLogger(__name__)

# The schemes the OpenAPI docs show (and their "Authorize" button offers); `app.openapi`
# publishes them. The values are read below from the raw headers, so that duplicates can
# be refused.
token_cookie_scheme = APIKeyCookie(
    name="token", auto_error=False, scheme_name="TokenCookie",
    description="The ID token, set as an HttpOnly cookie by sign-in.",
)
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="BearerToken",
    description="An ID or access token, for clients that do not keep cookies.",
)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings_dep(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_identity_provider(services: ServicesDep) -> IdentityProvider:
    return services.identity


IdentityDep = Annotated[IdentityProvider, Depends(get_identity_provider)]


async def get_cookie_policy(settings: SettingsDep) -> CookiePolicy:
    return CookiePolicy(
        token_name=settings.cookie_name,
        secure=settings.cookie_secure,
        samesite=settings.cookie_samesite,
        domain=settings.cookie_domain,
    )


CookiePolicyDep = Annotated[CookiePolicy, Depends(get_cookie_policy)]


class Credential(NamedTuple):
    token: str
    source: Literal["cookie", "bearer"]
    uses: tuple[TokenUse, ...]  # the `token_use` values accepted from where it was found


def _bearer(request: Request) -> str | None:
    # The raw ASGI headers (names are lower case), without building Starlette's Headers:
    # this runs on every signed-in request.
    header: str | None = next(
        (value.decode("latin-1") for name, value in request.scope["headers"]
         if name == b"authorization"), None,
    )
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedError("Send the token as 'Authorization: Bearer <token>'.")
    return token.strip()


def read_credential(
    request: Request, cookie_name: str, *, prefer_access: bool = False
) -> Credential | None:
    """The token a request carries: the Bearer header first, else the cookie."""
    bearer = _bearer(request)
    if bearer is not None:
        return Credential(bearer, "bearer", ANY_TOKEN_USE)
    try:
        access = read_cookie(request, ACCESS_COOKIE) if prefer_access else None
        if access:
            return Credential(access, "cookie", ACCESS_TOKEN_ONLY)
        token = read_cookie(request, cookie_name)
    except DuplicateCookieError as exc:
        log.warning("refused a request carrying a cookie twice", extra={"cookie": str(exc)})
        raise NotAuthorizedError(CLIENT_MESSAGE) from None
    return Credential(token, "cookie", ID_TOKEN_ONLY) if token else None


async def verify_caller(
    request: Request, services: Services, credential: Credential | None
) -> Caller:
    """Verify a credential, and CSRF on cookie-authenticated writes; not its user yet."""
    if credential is None:
        raise NotAuthorizedError(CLIENT_MESSAGE)
    uses = credential.uses
    try:
        verifier = services.built_verifier or await services.ready_verifier()
        subject = verifier.cache.get(credential.token, uses)
        if subject is None:  # first sight: may parse keys or fetch the JWKS
            subject = await run_in_threadpool(verifier.subject, credential.token, uses)
    except KeysUnavailableError:
        # No key is held and the issuer's JWKS cannot be fetched: an outage, not a bad token.
        raise ServiceUnavailableError(KEYS_UNAVAILABLE_MESSAGE) from None
    except TokenError as exc:
        raise _refused(exc) from None
    if credential.source == "cookie" and request.method not in SAFE_METHODS:
        require_csrf_token(request)
    return Caller(token=credential.token, subject=subject)


async def authenticate(
    request: Request, services: Services, credential: Credential | None
) -> tuple[Caller, UserRecord]:
    """`verify_caller`, then check that the user still exists, is enabled and signed in."""
    caller = await verify_caller(request, services, credential)
    try:
        user = services.identity.cached_subject(caller.subject)
        if user is None:
            user = await run_in_threadpool(services.identity.check_subject, caller.subject)
    except TokenError as exc:
        raise _refused(exc) from None
    return caller, user


def _refused(exc: TokenError) -> NotAuthorizedError:
    # One answer for every failed check; the log says which one failed.
    log.info("token refused", extra={"check": type(exc).__name__, "detail": exc.message})
    return NotAuthorizedError(CLIENT_MESSAGE)


async def require_current_user(request: Request) -> UserRecord:
    """The signed-in user, from the ID token cookie or a Bearer token.

    Takes only the request: each sub-dependency costs FastAPI a resolution step on every
    request, which on `/protected` was most of the price of being signed in. The docs
    learn of the cookie and Bearer schemes from `app.openapi` instead.
    """
    services: Services = request.app.state.services
    credential = read_credential(request, services.settings.cookie_name)
    return (await authenticate(request, services, credential))[1]


CurrentUser = Annotated[UserRecord, Depends(require_current_user)]


async def require_account_caller(request: Request) -> Caller:
    """The caller of an account route, preferring the access token (Cognito needs it)."""
    services: Services = request.app.state.services
    credential = read_credential(request, services.settings.cookie_name, prefer_access=True)
    return (await authenticate(request, services, credential))[0]


AccountCaller = Annotated[Caller, Depends(require_account_caller)]


async def require_id_token_caller(request: Request) -> Caller:
    """The caller by their ID token, for routes that hand it on (the identity pool's login)."""
    services: Services = request.app.state.services
    credential = read_credential(request, services.settings.cookie_name)
    caller = (await authenticate(request, services, credential))[0]
    if caller.has_access_token:
        raise NotAuthorizedError("This needs the ID token: the token cookie, or it as Bearer.")
    return caller


IdTokenCaller = Annotated[Caller, Depends(require_id_token_caller)]
