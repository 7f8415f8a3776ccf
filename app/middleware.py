"""Request guards that run before routing, as pure ASGI middleware (no per-request task).

`BodyGuard` answers a body that is not JSON with 415 and a body over the limit with 413,
before any of it reaches a route, whether or not its size was declared: FastAPI would
otherwise try to parse a form or buffer megabytes. `SecurityHeaders` adds the headers
every response should carry. `HeadAsGet` answers HEAD on the GET routes that only read.
`AccessLog` writes a request line at DEBUG. `ContractCORSMiddleware` is Starlette's CORS
with its refusals in the contract's error envelope.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    AppError,
    InvalidParameterError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    error_body,
)

MAX_BODY_BYTES = 64 * 1024  # The largest real body is a few hundred bytes.
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


async def send_json(
    send: Send, status: int, body: object, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON response, from middleware that answers before any route runs."""
    content = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            *headers,
        ],
    })
    await send({"type": "http.response.body", "body": content})


async def send_error(send: Send, error: AppError) -> None:
    """`error` in the contract's envelope, from middleware that answers before any route."""
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    # The body may not have been read: close the connection rather than read it.
    await send_json(send, error.status_code, error_body(error.code, error.message),
                    [*headers, (b"connection", b"close")])


def route_path(scope: Scope) -> str:
    """The path routes see: without the prefix the app is mounted under (`root_path`),
    which ASGI servers include in `path` (a stage such as /prod, uvicorn --root-path)."""
    path: str = scope["path"]
    root_path: str | None = scope.get("root_path")
    if root_path and path.startswith(root_path):
        return path[len(root_path):]
    return path


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class BodyGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # No route reads the body of a GET, HEAD or OPTIONS: nothing to guard.
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_types = [value for name, value in scope["headers"] if name == b"content-type"]
        # Exactly one: FastAPI reads the first of several, this guard would read the last.
        is_json = len(content_types) == 1 and _is_json(content_types[0].decode("latin-1"))
        length_header = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if length_header is not None and not chunked:
            if not length_header.strip().isdigit():
                await send_error(send, InvalidParameterError("Content-Length is not a number."))
                return
            declared = int(length_header)
            if declared > self.max_body_bytes:
                await send_error(send, PayloadTooLargeError(
                    f"The body is {declared} bytes; the limit is {self.max_body_bytes}."
                ))
                return
            if declared and not is_json:
                await send_error(send, UnsupportedMediaTypeError())
                return
            await self.app(scope, receive, send)
            return
        if chunked and not is_json:
            await send_error(send, UnsupportedMediaTypeError())
            return

        # No declared size: a chunked body, or an event from API Gateway (whose headers need
        # not carry Content-Length). Read it here, up to the limit, then replay it.
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await send_error(send, PayloadTooLargeError(
                    f"The body is over the limit of {self.max_body_bytes} bytes."
                ))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        if received and not is_json:
            await send_error(send, UnsupportedMediaTypeError())
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


class SecurityHeaders:
    """`nosniff`, no framing and no referrer on every response."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """HEAD answered as GET without its body (RFC 9110 §9.3.2), as Starlette's own routes do.

    FastAPI's routes take only the methods they declare, so an uptime check that sends
    HEAD to `/health` got 405. Under `/auth`, only on the GET routes that just read: the
    others act (sign-out, AWS credentials) or start a flow (federated sign-in), which a
    HEAD must not do.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not _reads_only(scope):
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}  # Content-Length still says GET's size
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


# The auth API's GET routes that only read; a new one is left out until it is added here.
_READING_AUTH_ROUTES = frozenset({"/auth/current_user", "/auth/csrf"})


def _reads_only(scope: Scope) -> bool:
    path = route_path(scope)
    return path in _READING_AUTH_ROUTES or not (path == "/auth" or path.startswith("/auth/"))


class AccessLog:
    """One line per request at DEBUG: method, path (never the query), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("app.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.log.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            self.log.debug("request", extra={
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            })


class ContractCORSMiddleware(CORSMiddleware):
    """Starlette's CORS; a refused preflight answers `400 InvalidParameter` in the envelope
    (Starlette's own answer is plain text), naming what was refused."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {name: value for name, value in response.headers.items()
                   if name not in ("content-type", "content-length")}
        body = error_body(
            InvalidParameterError.code, f"Not allowed by this API's CORS settings: {refused}."
        )
        return JSONResponse(body, status_code=400, headers=headers)
