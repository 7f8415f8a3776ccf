"""`GatewayKeyContext` (USAGE_PLANS=gateway): API Gateway enforces the plans; the app only
records which key called, from the event's request context, in every log line."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.logs import request_context


class GatewayKeyContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = scope.get("aws.event") if scope["type"] == "http" else None
        identity = ((event or {}).get("requestContext") or {}).get("identity") or {}
        key_id = identity.get("apiKeyId") if isinstance(identity, dict) else None
        if not key_id:
            await self.app(scope, receive, send)
            return
        token = request_context.set({"api_key_id": str(key_id)})
        try:
            await self.app(scope, receive, send)
        finally:
            request_context.reset(token)
