"""Why a token was refused.

Each is a `NotAuthorizedError`, so a client only ever sees `401 NotAuthorized`; the name
and message are for the logs, which say which check failed.
"""

from __future__ import annotations

from app.errors import NotAuthorizedError

CLIENT_MESSAGE = "The token is missing, invalid or expired. Sign in again."
KEYS_UNAVAILABLE_MESSAGE = "The keys that sign tokens cannot be fetched. Try again shortly."


class TokenError(NotAuthorizedError):
    default_message = CLIENT_MESSAGE


class TokenMalformedError(TokenError):
    pass


class TokenAlgorithmError(TokenError):
    pass


class UnknownKeyError(TokenError):
    pass


class KeysUnavailableError(UnknownKeyError):
    """The key set could not be fetched and none is held: no token can be checked until it
    can. An outage, which callers that can say so answer as 503 rather than 401."""


class TokenSignatureError(TokenError):
    pass


class TokenExpiredError(TokenError):
    pass


class TokenClaimError(TokenError):
    pass


class TokenRevokedError(TokenError):
    """The signature and claims hold, but the session behind them has ended."""
