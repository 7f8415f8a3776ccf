"""Invoking a Lambda handler as the runtime does: on a thread of its own, where no event
loop is running, and the same thread for every invocation of one container."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mangum import Mangum


class LambdaContainer:
    """A warm container: `container(event, context)` is one invocation of `handler`.

    Calling Mangum from the test's own thread would fail wherever that thread runs an event
    loop already (Playwright's sync API does, for the browser tests). Use it as a context
    manager, or `close()` it: its loop holds a socket pair.
    """

    def __init__(self, handler: Mangum) -> None:
        self.handler = handler
        self._loop = asyncio.new_event_loop()
        # The loop Mangum finds on the thread, as on Lambda's own (main) thread.
        self._thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="lambda",
            initializer=asyncio.set_event_loop, initargs=(self._loop,),
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._thread.submit(self.handler, event, context).result()

    def close(self) -> None:
        self._thread.shutdown()
        self._loop.close()

    def __enter__(self) -> LambdaContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
