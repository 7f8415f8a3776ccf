"""The errors the app answers with, and the one place that renders them.

Every error body is `{"error": CODE, "message": TEXT}` (SPEC §2). CODEs follow Cognito's
exception names without the `Exception` suffix, so a client written for Cognito reads them.
This module imports nothing from FastAPI at import time: identity/ and tokens/ raise these.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every error a client may see."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = "An unexpected error occurred."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class InvalidParameterError(AppError):
    status_code = 400
    code = "InvalidParameter"
    default_message = "A parameter is not valid."


class InvalidPasswordError(AppError):
    status_code = 400
    code = "InvalidPassword"
    default_message = "The password does not meet the policy."


class CodeMismatchError(AppError):
    status_code = 400
    code = "CodeMismatch"
    default_message = "Invalid verification code provided, please try again."


class ExpiredCodeError(AppError):
    status_code = 400
    code = "ExpiredCode"
    default_message = "Invalid code provided, please request a code again."


class NotAuthorizedError(AppError):
    status_code = 401
    code = "NotAuthorized"
    default_message = "Incorrect username or password."


class UserNotConfirmedError(AppError):
    status_code = 403
    code = "UserNotConfirmed"
    default_message = "User is not confirmed. Confirm the sign-up with the code that was sent."


class PasswordResetRequiredError(AppError):
    status_code = 403
    code = "PasswordResetRequired"
    default_message = "Password reset required for the user. Use forgot_password to set a new one."


class CsrfFailedError(AppError):
    status_code = 403
    code = "CsrfFailed"
    default_message = (
        "Missing or wrong X-CSRF-Token header: echo the csrf_token cookie in it on every "
        "cookie-authenticated write."
    )


class NotFoundError(AppError):
    status_code = 404
    code = "NotFound"
    default_message = "Not found."


class MethodNotAllowedError(AppError):
    status_code = 405
    code = "MethodNotAllowed"
    default_message = "Method not allowed."


class UsernameExistsError(AppError):
    status_code = 409
    code = "UsernameExists"
    default_message = "User already exists."


class AliasExistsError(AppError):
    status_code = 409
    code = "AliasExists"
    default_message = "An account with the given email already exists."


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "PayloadTooLarge"
    default_message = "The request body is too large."


class UnsupportedMediaTypeError(AppError):
    status_code = 415
    code = "UnsupportedMediaType"
    default_message = "Send the body as JSON with Content-Type: application/json."


class TooManyFailedAttemptsError(AppError):
    status_code = 429
    code = "TooManyFailedAttempts"
    default_message = "Too many failed attempts. Try again later."


class LimitExceededError(AppError):
    status_code = 429
    code = "LimitExceeded"
    default_message = "Attempt limit exceeded, please try after some time."


class NotImplementedFeatureError(AppError):
    status_code = 501
    code = "NotImplemented"
    default_message = "This feature is not available with the configured backend."


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "ServiceUnavailable"
    default_message = "The identity service cannot be reached. Try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int | None = 5) -> None:
        super().__init__(message, retry_after=retry_after)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure in the contract's envelope, and none with internals."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def on_app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        # FastAPI's list, minus "input" and "ctx": they would echo a submitted password.
        details = [
            {key: value for key, value in error.items() if key in ("type", "loc", "msg")}
            for error in exc.errors()
        ]
        if any(detail.get("type") == "json_invalid" for detail in details):
            message = "The body is not valid JSON."
        else:
            message = "The request is not valid: " + "; ".join(
                f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in details[:5]
            )
        return JSONResponse(
            error_body("ValidationError", message, details=details), status_code=422
        )

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # FastAPI's only 400 is a body it could not decode (not UTF-8, say): the same
            # answer as malformed JSON.
            return JSONResponse(
                error_body("ValidationError", "The body is not valid JSON (or not UTF-8).",
                           details=[{"type": "json_invalid", "loc": ["body"],
                                     "msg": "JSON decode error"}]),
                status_code=422,
            )
        mapped: type[AppError] = {404: NotFoundError, 405: MethodNotAllowedError}.get(
            exc.status_code, InvalidParameterError
        )
        error = mapped()
        return JSONResponse(
            error_body(error.code, error.message),
            status_code=exc.status_code,
            headers=dict(exc.headers or {}),
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error",
            exc_info=exc,
            extra={"incident": incident, "path": request.url.path},
        )
        return JSONResponse(
            error_body(
                "InternalError",
                f"An unexpected error occurred. Quote incident {incident} when reporting it.",
            ),
            status_code=500,
        )

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(Exception, on_unexpected)
