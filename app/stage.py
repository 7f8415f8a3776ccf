"""API Gateway's stage, seen by the app as any proxy's path prefix is: ASGI's `root_path`."""

from __future__ import annotations

from typing import Any

from mangum import Mangum
from starlette.types import ASGIApp, Receive, Scope, Send


def stage_prefix(event: Any) -> str:
    """The prefix a browser sees in front of the app's paths: `/prod` for a REST API stage.

    The event's `path` is the app's (`/docs`); its request context's is the browser's
    (`/prod/docs`, or behind a custom domain `/base/docs`). Compared without trailing
    slashes: the stage root is `/prod` or `/prod/` outside and `/` inside.
    """
    if not isinstance(event, dict):
        return ""
    outer = (event.get("requestContext") or {}).get("path")
    inner = event.get("path")
    if not isinstance(outer, str) or not isinstance(inner, str):
        return ""  # an HTTP API (v2) event, or a test's
    outer, inner = outer.rstrip("/"), inner.rstrip("/")
    return outer[: len(outer) - len(inner)] if outer.endswith(inner) else ""


class StageAsRootPath:
    """The stage as ASGI's `root_path` (and in `path`, as uvicorn puts it there), so that
    whatever the app sends a browser (the docs' URL of /openapi.json and their `servers`,
    cookie paths, redirects, the page's base) carries it, as behind any proxy prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = stage_prefix(scope.get("aws.event")) if scope["type"] == "http" else ""
        if prefix:
            scope = {**scope, "root_path": prefix, "path": prefix + scope["path"]}
        await self.app(scope, receive, send)


def lambda_handler(app: ASGIApp) -> Mangum:
    return Mangum(StageAsRootPath(app), lifespan="off")
