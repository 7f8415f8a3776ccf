"""Cognito's request and response shapes, turned into the plain values of `provider.py`.

Pure functions, no boto3: the provider calls Cognito, these read and build what it sends
and gets back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.identity.provider import (
    ID_TOKEN_TTL_SECONDS,
    CodeDelivery,
    TokenSet,
    UserAttributes,
    UserRecord,
    VerifiableAttribute,
)

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp.type_defs import (
        AttributeTypeTypeDef,
        AuthenticationResultTypeTypeDef,
        CodeDeliveryDetailsTypeTypeDef,
    )

# Statuses whose tokens may still be used; RESET_REQUIRED, UNCONFIRMED, ARCHIVED,
# COMPROMISED, FORCE_CHANGE_PASSWORD and UNKNOWN must sign in (again) first.
SIGNED_IN_STATUSES = frozenset({"CONFIRMED", "EXTERNAL_PROVIDER"})


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    """Base64 HMAC-SHA256 of username + client id, keyed by the app client's secret."""
    digest = hmac.new(
        client_secret.encode(), (username + client_id).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def attribute_map(attributes: Iterable[AttributeTypeTypeDef] | None) -> dict[str, str]:
    return {item["Name"]: item.get("Value", "") for item in attributes or ()}


def cognito_attributes(
    attributes: UserAttributes, *, email_verified: bool = False
) -> list[AttributeTypeTypeDef]:
    found: list[AttributeTypeTypeDef] = []
    if attributes.email is not None:
        found.append({"Name": "email", "Value": attributes.email})
        if email_verified:
            found.append({"Name": "email_verified", "Value": "true"})
    if attributes.phone_number is not None:
        found.append({"Name": "phone_number", "Value": attributes.phone_number})
    return found


def user_record(
    *,
    username: str,
    attributes: Mapping[str, str],
    status: str,
    enabled: bool,
    mfa_settings: Iterable[str] = (),
    preferred_mfa: str | None = None,
    created: datetime | None = None,
    groups: Iterable[str] = (),
) -> UserRecord:
    """A user from AdminGetUser, GetUser, ListUsers or AdminCreateUser.

    ListUsers and AdminCreateUser say nothing of MFA, so there `mfa_enabled` is False.
    """
    mfa = tuple(mfa_settings)
    return UserRecord(
        username=username,
        sub=attributes.get("sub", ""),
        email=attributes.get("email"),
        email_verified=attributes.get("email_verified") == "true",
        phone_number=attributes.get("phone_number"),
        phone_number_verified=attributes.get("phone_number_verified") == "true",
        status=status,
        enabled=enabled,
        mfa_enabled=bool(mfa),
        groups=tuple(groups),
        created_at=created.timestamp() if created else None,
        # With one method on and none preferred, Cognito challenges with that one.
        preferred_mfa=preferred_mfa or (mfa[0] if len(mfa) == 1 else None),
    )


def code_delivery(
    details: CodeDeliveryDetailsTypeTypeDef | None, attribute: VerifiableAttribute = "email"
) -> CodeDelivery:
    """Where Cognito says a code went; a masked placeholder if it does not say."""
    details = details or {}
    name = details.get("AttributeName", attribute)
    resolved: VerifiableAttribute = "phone_number" if name == "phone_number" else "email"
    medium = details.get("DeliveryMedium")
    return CodeDelivery(
        medium="SMS" if medium == "SMS" or (medium is None and resolved == "phone_number")
        else "EMAIL",
        destination=details.get("Destination") or "***",
        attribute=resolved,
    )


def unverified_claims(token: str) -> Mapping[str, Any]:
    """The payload of a JWT Cognito just handed over, without checking it.

    Only for bookkeeping on tokens received straight from Cognito over TLS; never for a
    decision about a token a client presents (that is `TokenVerifier`'s job).
    """
    try:
        segment = token.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError, binascii.Error, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def token_set(result: AuthenticationResultTypeTypeDef) -> TokenSet:
    return TokenSet(
        id_token=result.get("IdToken", ""),
        access_token=result.get("AccessToken", ""),
        # Present after a sign-in, and after a refresh only when the client rotates them.
        refresh_token=result.get("RefreshToken"),
        expires_in=result.get("ExpiresIn", ID_TOKEN_TTL_SECONDS),
        token_type=result.get("TokenType", "Bearer"),
    )


def groups_of(claims: Mapping[str, Any]) -> tuple[str, ...]:
    groups = claims.get("cognito:groups")
    return tuple(str(group) for group in groups) if isinstance(groups, list) else ()
