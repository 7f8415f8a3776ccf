"""`UsagePlansMiddleware` (USAGE_PLANS=local): usage plans at the edge of the app.

Pure ASGI middleware that answers refused requests exactly as API Gateway does, before
any route runs, and names the caller's key in every log line of the request. Decisions
are made in memory on the event loop; the few that need the key store (a reload, a new
quota reservation, a usage flush) are made in a worker thread, so a busy or locked store
never stalls requests that do not need it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import AppError
from app.logs import request_context
from app.middleware import route_path, send_error, send_json
from app.usage.limiter import WouldBlock

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
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def _check_with_store(
        self, method: str, path: str, api_key: str | None
    ) -> tuple[Refusal | None, str | None]:
        """`check` when it needs the key store: in a worker thread, one request at a time.

        When a quota block runs out, every request in flight finds it empty; one of them
        reserves the next block while the others wait their turn and then find it in
        memory, instead of each taking a thread of its own to the store.
        """
        async with self._store_gate():
            try:
                return self.enforcer.check(method, path, api_key, blocking=False)
            except WouldBlock:
                return await run_in_threadpool(self.enforcer.check, method, path, api_key)

    def _store_gate(self) -> asyncio.Lock:
        # One per event loop: a lock belongs to the loop it is first used on.
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Lock())
        return self._gate[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api_key = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                # Whitespace around a field value is not part of it (RFC 9110 5.5); the
                # server may pass on what follows the value.
                api_key = value.decode("latin-1").strip(" \t")
                break
        method, path = scope["method"], route_path(scope)
        try:
            try:
                refusal, key_id = self.enforcer.check(method, path, api_key, blocking=False)
            except WouldBlock:
                refusal, key_id = await self._check_with_store(method, path, api_key)
        except AppError as exc:  # the key store cannot be used: 503, as any route would
            await send_error(send, exc)
            return
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
