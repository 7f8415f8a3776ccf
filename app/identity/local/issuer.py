"""Tokens of the embedded pool, shaped like Cognito's so one verifier reads both."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jose import jws

from app.identity.local.keys import PoolKeys
from app.identity.provider import ACCESS_TOKEN_TTL_SECONDS, ID_TOKEN_TTL_SECONDS


@dataclass(frozen=True)
class TokenUser:
    sub: str
    username: str
    email: str | None
    email_verified: bool
    phone_number: str | None
    phone_number_verified: bool


class LocalTokenIssuer:
    """Signs ID and access tokens with the pool's RSA key (RS256, `kid` = thumbprint)."""

    def __init__(
        self, keys: PoolKeys, *, issuer: str, client_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self.client_id = client_id
        self._clock = clock

    def _sign(self, claims: dict[str, Any]) -> str:
        return jws.sign(
            claims, self._keys.signing_key, headers={"kid": self._keys.kid}, algorithm="RS256"
        )

    def issue(self, user: TokenUser, *, origin_jti: str, auth_time: int) -> tuple[str, str]:
        """Return an ID token and an access token for one session."""
        now = int(self._clock())
        event_id = str(uuid.uuid4())
        common = {
            "sub": user.sub,
            "iss": self.issuer,
            "origin_jti": origin_jti,
            "event_id": event_id,
            "auth_time": auth_time,
            "iat": now,
        }
        id_claims: dict[str, Any] = {
            **common,
            "aud": self.client_id,
            "token_use": "id",
            "cognito:username": user.username,
            "exp": now + ID_TOKEN_TTL_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        if user.email is not None:
            id_claims["email"] = user.email
            id_claims["email_verified"] = user.email_verified
        if user.phone_number is not None:
            id_claims["phone_number"] = user.phone_number
            id_claims["phone_number_verified"] = user.phone_number_verified
        access_claims = {
            **common,
            "client_id": self.client_id,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "username": user.username,
            "exp": now + ACCESS_TOKEN_TTL_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return self._sign(id_claims), self._sign(access_claims)


def new_refresh_token() -> str:
    # Opaque to clients, as Cognito's are; only its SHA-256 is stored.
    return secrets.token_urlsafe(48)
