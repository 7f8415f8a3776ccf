"""Claims of a verified token, and what the rest of the app reads from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.identity.provider import TokenSubject

TokenUse = Literal["id", "access"]
Claims = Mapping[str, Any]

# What each place may carry (SPEC §5): the `token` cookie an ID token, the access cookie an
# access token, a Bearer header either.
ID_TOKEN_ONLY: tuple[TokenUse, ...] = ("id",)
ACCESS_TOKEN_ONLY: tuple[TokenUse, ...] = ("access",)
ANY_TOKEN_USE: tuple[TokenUse, ...] = ("id", "access")


def cognito_issuers(region: str, user_pool_id: str) -> tuple[str, str]:
    """Both issuer forms a Cognito pool may put in `iss`."""
    return (
        f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
        f"https://issuer-cognito-idp.{region}.amazonaws.com/{user_pool_id}",
    )


def username_of(claims: Claims) -> str | None:
    """`cognito:username` in ID tokens, `username` in access tokens."""
    value = claims.get("cognito:username") or claims.get("username")
    return value if isinstance(value, str) else None


def subject_of(claims: Claims) -> TokenSubject:
    origin_jti = claims.get("origin_jti")
    return TokenSubject(
        username=str(username_of(claims)),
        sub=str(claims["sub"]),
        token_use="id" if claims.get("token_use") == "id" else "access",
        issued_at=int(claims["iat"]),
        origin_jti=origin_jti if isinstance(origin_jti, str) else None,
        claims=claims,
    )
