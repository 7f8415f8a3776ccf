"""`UsagePlansMiddleware` (USAGE_PLANS=local): usage plans at the edge of the app.

Pure ASGI middleware that answers refused requests exactly as API Gateway does, before
any route runs, and names the caller's key in every log line of the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from app.logs import request_context
from app.middleware import send_json

if TYPE_CHECKING:
    from app.usage.enforcer import Refusal, UsageEnforcer


async def _refuse(send: Send, refusal: Refusal) -> None:
    await send_json(send, refusal.status, {"message": refusal.message},
                    [(b"x-amzn-errortype", refusal.error_type.encode())])


class UsagePlansMiddleware:
    def __init__(self, app: ASGIApp, enforcer: UsageEnforcer) -> None:
        self.app = app
        self.enforcer = enforcer
        self._contexts: dict[str, dict[str, str]] = {}  # one per key id, reused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api_key = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value.decode("latin-1")
                break
        refusal, key_id = self.enforcer.check(scope["method"], scope["path"], api_key)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        if key_id is None:
            await self.app(scope, receive, send)
            return
        context = self._contexts.get(key_id)
        if context is None:
            context = self._contexts[key_id] = {"api_key_id": key_id}
        token = request_context.set(context)
        try:
            await self.app(scope, receive, send)
        finally:
            request_context.reset(token)
