"""The OpenAPI document: error responses, security schemes, and the cookie's name.

Error responses are declared per route through `openapi_extra` (a plain dict merged when
the document is generated) rather than `responses=`: FastAPI builds a validator for
every model in `responses=` when the route is defined, which every Lambda cold start
would pay for a document that is only read at /docs.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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


def error_responses(*statuses: int) -> dict[str, Any]:
    """`openapi_extra` documenting the error statuses a route answers with (and 422)."""
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    return {"responses": {
        str(status): {"description": _REASONS[status],
                      "content": {"application/json": {"schema": ref}}}
        for status in sorted({*statuses, 422})
    }}


def install_openapi(app: FastAPI, *, cookie_name: str, extra_schemes: dict[str, Any]) -> None:
    """Generate the document once, with the error schema and the security schemes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {})["ErrorResponse"] = ERROR_SCHEMA
            schemes = components.setdefault("securitySchemes", {})
            if "TokenCookie" in schemes:
                schemes["TokenCookie"]["name"] = cookie_name
            schemes.update(extra_schemes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
