"""Routers built on the first request that needs them.

A Lambda container that starts to serve `/protected` should not first define the twenty
routes of `/auth`: FastAPI builds validators for each route's body and answer when it is
defined, about half a millisecond a route. `DeferredRouters` stands in the route list
where the routers belong; the first request under their prefix (or the first look at the
OpenAPI document) imports them, puts their routes in its place, and routes the request
again. Nothing else changes: the routes, their order and the docs are the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from app.middleware import route_path


class DeferredRouters(BaseRoute):
    def __init__(
        self, app: FastAPI, prefix: str, load: Callable[[], Sequence[APIRouter]]
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self._load = load
        self._lock = threading.Lock()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and route_path(scope).startswith(self.prefix):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        # Asked while the app searches its routes: build, then search the new list.
        self.build()
        return self.app.router.url_path_for(name, **path_params)

    def build(self) -> None:
        """Put the real routes where this stand-in is (once; later calls do nothing)."""
        with self._lock:
            routes = self.app.router.routes
            if self not in routes:
                return
            before = len(routes)
            for router in self._load():
                self.app.include_router(router)
            added = routes[before:]
            del routes[before:]
            position = routes.index(self)
            routes[position:position + 1] = added
            # FastAPI keeps derived state keyed by a count of route changes.
            mark_changed = getattr(self.app.router, "_mark_routes_changed", None)
            if mark_changed is not None:
                mark_changed()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.build()
        await self.app.router(scope, receive, send)


def defer_routers(app: FastAPI, prefix: str, load: Callable[[], Sequence[APIRouter]]) -> None:
    """Add a stand-in for routers under `prefix`, at this point of the route list."""
    app.router.routes.append(DeferredRouters(app, prefix, load))


def build_deferred(app: FastAPI) -> None:
    """Build every deferred router now (before the OpenAPI document lists the routes)."""
    for route in list(app.router.routes):
        if isinstance(route, DeferredRouters):
            route.build()
