"""CSRF protection for cookie-authenticated writes: the double-submit token.

Cross-site pages can make a browser send cookies but cannot read `csrf_token` or set a
custom header without passing CORS, so a matching `X-CSRF-Token` proves the write came
from a page of an allowed origin. Bearer-authenticated requests carry no ambient
credential and need none of this.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from app.auth.cookies import CSRF_COOKIE, DuplicateCookieError, read_cookie
from app.errors import CsrfFailedError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "x-csrf-token"


def csrf_token_matches(request: Request) -> bool:
    header = request.headers.get(CSRF_HEADER, "")
    try:
        cookie = read_cookie(request, CSRF_COOKIE) or ""
    except DuplicateCookieError:
        return False
    return bool(header and cookie) and hmac.compare_digest(header.encode(), cookie.encode())


def require_csrf_token(request: Request) -> None:
    if not csrf_token_matches(request):
        raise CsrfFailedError()


def is_cross_site(request: Request) -> bool:
    """What the browser says of where the request came from (Fetch Metadata)."""
    return request.headers.get("sec-fetch-site", "").lower() == "cross-site"
