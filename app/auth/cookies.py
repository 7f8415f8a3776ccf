"""The sign-in cookies (SPEC §4): names, paths, attributes, and how they are read.

`token` (the ID token) is sent everywhere; the access and refresh tokens only to `/auth`;
`csrf_token` is readable by scripts so the frontend can echo it in `X-CSRF-Token`.
Sign-out clears each with the name, path and attributes it was set with, or browsers keep it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from app.identity.provider import REFRESH_TOKEN_TTL_SECONDS, TokenSet

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"


@dataclass(frozen=True)
class CookiePolicy:
    token_name: str = "token"
    secure: bool = True
    samesite: Literal["lax", "strict", "none"] = "lax"
    domain: str | None = None
    refresh_max_age: int = REFRESH_TOKEN_TTL_SECONDS


def public_prefix(request: Request) -> str:
    """The path prefix a browser sees in front of the app's own paths: ASGI's root_path,
    which a proxy's prefix (uvicorn --root-path) or API Gateway's stage (`app.handler`)
    sets."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def _paths(request: Request) -> dict[str, str]:
    base = public_prefix(request)
    return {"root": base or "/", "auth": f"{base}/auth"}


def set_sign_in_cookies(
    response: Response, request: Request, tokens: TokenSet, policy: CookiePolicy
) -> None:
    """Set the token cookies (and a fresh CSRF token when the refresh token is new)."""
    paths = _paths(request)
    common = {"secure": policy.secure, "samesite": policy.samesite, "domain": policy.domain}
    response.set_cookie(
        policy.token_name, tokens.id_token, max_age=tokens.expires_in,
        path=paths["root"], httponly=True, **common,  # type: ignore[arg-type]
    )
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=tokens.expires_in,
        path=paths["auth"], httponly=True, **common,  # type: ignore[arg-type]
    )
    if tokens.refresh_token is not None:
        response.set_cookie(
            REFRESH_COOKIE, tokens.refresh_token, max_age=policy.refresh_max_age,
            path=paths["auth"], httponly=True, **common,  # type: ignore[arg-type]
        )
        # Random per sign-in, and readable by the page: it proves a write came from a page
        # of an allowed origin, which alone can read this cookie.
        response.set_cookie(
            CSRF_COOKIE, secrets.token_urlsafe(32), max_age=policy.refresh_max_age,
            path=paths["root"], httponly=False, **common,  # type: ignore[arg-type]
        )


def clear_auth_cookies(response: Response, request: Request, policy: CookiePolicy) -> None:
    paths = _paths(request)
    for name, path, httponly in (
        (policy.token_name, paths["root"], True),
        (ACCESS_COOKIE, paths["auth"], True),
        (REFRESH_COOKIE, paths["auth"], True),
        (CSRF_COOKIE, paths["root"], False),
    ):
        response.delete_cookie(
            name, path=path, domain=policy.domain, secure=policy.secure,
            httponly=httponly, samesite=policy.samesite,
        )


class DuplicateCookieError(ValueError):
    """The same cookie came twice: someone may be tossing cookies from a sibling site."""


def find_cookie(cookie_headers: Iterable[str], name: str) -> str | None:
    """One cookie's value from raw Cookie headers, refusing a name sent twice.

    Starlette keeps the last of duplicates silently; a cookie set by a sibling subdomain
    (cookie tossing) would then choose which session a request runs in.

    Raises:
        DuplicateCookieError: the cookie came more than once.
    """
    found: list[str] = []
    for header in cookie_headers:
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key.strip() == name:
                found.append(value.strip().strip('"'))
    if len(found) > 1:
        raise DuplicateCookieError(name)
    return found[0] if found and found[0] else None


def read_cookie(request: Request, name: str) -> str | None:
    """`find_cookie` over a request's Cookie headers."""
    return find_cookie(request.headers.getlist("cookie"), name)
