"""A Lambda REQUEST authorizer for API Gateway, for deployments that authorize at the gateway.

The original design's steps: parse the Cookie header, find `token`, deny if it is missing,
verify it and check that its user still exists, allow. The policy covers the whole stage
(`.../stage/*`), because API Gateway caches it by the Cookie header for every route. An
outage (Cognito or its keys out of reach) raises instead of denying: see
`AuthorizerUnavailableError`.
"""

from __future__ import annotations

import logging
from typing import Any

from app.auth.cookies import DuplicateCookieError, find_cookie
from app.errors import AppError, NotAuthorizedError
from app.services import Services
from app.settings import get_settings
from app.tokens.claims import ID_TOKEN_ONLY
from app.tokens.errors import KeysUnavailableError

log = logging.getLogger(__name__)

_services: Services | None = None


def _get_services() -> Services:
    # Built once per container, on the first invocation.
    global _services
    if _services is None:
        from app.logs import configure_logging

        settings = get_settings()
        configure_logging(settings.log_level)
        _services = Services(settings)
    return _services


class AuthorizerUnavailableError(RuntimeError):
    """The authorizer could not decide (an outage), which is not a Deny: API Gateway would
    cache a Deny for the authorizer's TTL and lock the caller out after the outage ends.
    Raised instead, it is answered 500 and asked again on the next request."""


def _stage_arn(method_arn: str) -> str:
    """`arn:...:api/prod/GET/protected` -> `arn:...:api/prod/*`."""
    parts = method_arn.split("/")
    return "/".join(parts[:2]) + "/*" if len(parts) >= 2 else method_arn


def policy(effect: str, method_arn: str, principal: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": effect,
                "Resource": _stage_arn(method_arn),
            }],
        },
        "context": context,
    }


def _cookie_headers(event: dict[str, Any]) -> list[str]:
    values = [
        str(value) for key, value in (event.get("headers") or {}).items()
        if key.lower() == "cookie" and value
    ]
    for key, many in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == "cookie":
            values.extend(str(value) for value in many or [] if value not in values)
    return values


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", "*"))
    services = _get_services()
    try:
        token = find_cookie(_cookie_headers(event), services.settings.cookie_name)
    except DuplicateCookieError:
        token = None  # cookie tossing: refuse to choose
    if token is None:
        return policy("Deny", method_arn, "anonymous", {})
    try:
        user = services.identity.check_subject(services.verifier.subject(token, ID_TOKEN_ONLY))
    except KeysUnavailableError:
        log.warning("authorizer cannot decide", extra={"error": "KeysUnavailable"})
        raise AuthorizerUnavailableError("the token's signing keys cannot be fetched") from None
    except NotAuthorizedError as exc:  # a bad, expired or revoked token; a gone user
        log.info("authorizer denied", extra={"check": type(exc).__name__})
        return policy("Deny", method_arn, "anonymous", {})
    except AppError as exc:  # Cognito throttled or out of reach: nothing said of the caller
        log.warning("authorizer cannot decide", extra={"error": exc.code})
        raise AuthorizerUnavailableError(exc.code) from None
    return policy("Allow", method_arn, user.sub, {"username": user.username, "sub": user.sub})
