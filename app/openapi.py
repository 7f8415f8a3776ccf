"""The OpenAPI document: error responses, security schemes, and the cookie's name.

Error responses are declared per route through `openapi_extra` (a plain dict merged when
the document is generated) rather than `responses=`: FastAPI builds a validator for
every model in `responses=` when the route is defined, which every Lambda cold start
would pay for a document that is only read at /docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.security.base import SecurityBase

from app.auth.dependencies import bearer_scheme, token_cookie_scheme
from app.deferred import build_deferred

if TYPE_CHECKING:
    from app.usage.plans import PlansFile

ERROR_SCHEMA = {
    "title": "ErrorResponse",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "examples": ["NotAuthorized"],
                  "description": "Cognito's exception name without the Exception suffix"},
        "message": {"type": "string", "examples": ["Incorrect username or password."]},
        "details": {"type": "array", "items": {"type": "object"},
                    "description": "Validation errors only: FastAPI's list"},
    },
}
_REASONS = {
    400: "Invalid parameter, password, or code",
    401: "Not authorized: wrong credentials, or a missing, invalid, expired or revoked token",
    403: "Forbidden: unconfirmed user, reset required, or CSRF check failed",
    404: "Not found",
    409: "Username or alias exists",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Validation error",
    429: "Too many attempts (see Retry-After)",
    501: "Not available with this backend",
    503: "Identity backend unreachable (see Retry-After)",
}


# Either scheme signs a caller in; listed as alternatives, as OpenAPI means a list.
SIGNED_IN: list[dict[str, list[str]]] = [{"TokenCookie": []}, {"BearerToken": []}]


def error_responses(*statuses: int, signed_in: bool = False) -> dict[str, Any]:
    """`openapi_extra` documenting the error statuses a route answers with (and 422).

    `signed_in` also marks the operation as needing the token cookie or a Bearer token.
    """
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    extra: dict[str, Any] = {"responses": {
        str(status): {"description": _REASONS[status],
                      "content": {"application/json": {"schema": ref}}}
        for status in sorted({*statuses, 422})
    }}
    if signed_in:
        extra["security"] = SIGNED_IN
    return extra


USAGE_REFUSAL_SCHEMA = {
    "title": "UsagePlanRefusal",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string", "enum": [
        "Forbidden", "Too Many Requests", "Limit Exceeded"]}},
    "description": "API Gateway's answer: no valid key, throttled, or over the quota",
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
_REFUSAL_REF = {"$ref": "#/components/schemas/UsagePlanRefusal"}

API_KEY_SCHEME = {"type": "apiKey", "in": "header", "name": "x-api-key",
                  "description": "An API key of a usage plan (USAGE_PLANS=local or gateway)."}
# With usage plans off the scheme is still declared (a client learns the deployed API's
# header from it), but no operation asks for it.
API_KEY_SCHEME_UNUSED = {**API_KEY_SCHEME, "description": (
    "An API key of a usage plan. Not asked for by this server (USAGE_PLANS=off); a "
    "deployment behind API Gateway, or with USAGE_PLANS=local, asks for it.")}


def _add_response(operation: dict[str, Any], status: int, reason: str,
                  schema: dict[str, Any]) -> None:
    """Document an answer, as an alternative if the status is documented already."""
    responses = operation.setdefault("responses", {})
    entry = responses.get(str(status))
    if entry is None:
        responses[str(status)] = {"description": reason,
                                  "content": {"application/json": {"schema": schema}}}
        return
    media = entry.setdefault("content", {}).setdefault("application/json", {})
    existing = media.get("schema")
    media["schema"] = {"anyOf": [existing, schema]} if existing else schema
    entry["description"] = f"{entry.get('description', '')}; or {reason}".lstrip("; ")


def _document_middleware(schema: dict[str, Any], plans: PlansFile | None) -> None:
    """Answers made before any route runs: the body guard's, and the usage plans'."""
    keyed = {(method, path.lower()) for method, path in plans.key_routes} if plans else set()
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                _add_response(operation, 413, _REASONS[413], _ERROR_REF)
                _add_response(operation, 415, _REASONS[415], _ERROR_REF)
            if not ({(method.upper(), path.lower()), ("ANY", path.lower())} & keyed):
                continue
            alternatives = operation.get("security") or [{}]
            operation["security"] = [{**choice, "ApiKey": []} for choice in alternatives]
            _add_response(operation, 403, "No valid API key", _REFUSAL_REF)
            _add_response(operation, 429, "Throttled or over the quota", _REFUSAL_REF)


def install_openapi(
    app: FastAPI, *, cookie_name: str, plans: Callable[[], PlansFile | None]
) -> None:
    """Generate the document once, with the error schema and the security schemes.

    `plans` gives the plans file when usage plans are on (read when the document is made).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            build_deferred(app)
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
            schemes = components.setdefault("securitySchemes", {})
            schemes["TokenCookie"] = {**_scheme(token_cookie_scheme), "name": cookie_name}
            schemes["BearerToken"] = _scheme(bearer_scheme)
            plans_file = plans()
            schemes["ApiKey"] = API_KEY_SCHEME if plans_file else API_KEY_SCHEME_UNUSED
            if plans_file is not None:
                components["schemas"]["UsagePlanRefusal"] = USAGE_REFUSAL_SCHEMA
            _document_middleware(schema, plans_file)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _scheme(security: SecurityBase) -> dict[str, Any]:
    document: dict[str, Any] = security.model.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    return document
