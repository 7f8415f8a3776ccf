"""`create_app(settings)`: the one place where the app is wired together.

`app` at the bottom is what uvicorn (`app.main:app`) and the Lambda handler serve, built
from the environment's settings. Building it opens nothing: backends are made on first use.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI

from app.content.router import router as content_router
from app.deferred import defer_routers
from app.errors import install_error_handlers
from app.middleware import (
    AccessLog,
    BodyGuard,
    ContractCORSMiddleware,
    HeadAsGet,
    SecurityHeaders,
)
from app.openapi import install_openapi
from app.services import Services
from app.settings import Settings, SettingsError, get_settings
from app.system.router import router as system_router
from app.web.router import router as web_router

if TYPE_CHECKING:
    from app.usage.enforcer import UsageEnforcer
    from app.usage.plans import PlansFile

PlansSource = Callable[[], "PlansFile | None"]

DESCRIPTION = """
Sign-up, sign-in and API keys in front of a FastAPI app.

Sign in with `POST /auth/signin`: the ID token comes back in the body and in the HttpOnly
`token` cookie, which the docs' "Try it out" then sends. Cookie-authenticated writes also
need the `X-CSRF-Token` header (the value of the `csrf_token` cookie).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (the environment's when omitted).

    Raises:
        SettingsError: usage plans are on and the plans file is wrong (PlansFileError).
    """
    settings = settings or get_settings()
    enforcer, plans = _usage_plans(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if enforcer is not None:
            enforcer.start_maintenance()  # keys reloaded, counts written, off the requests
        yield
        if enforcer is not None:
            enforcer.close()  # counts in memory go to disk; unspent quota goes back

    app = FastAPI(
        title="authgate",
        version="0.1.0",
        description=DESCRIPTION,
        swagger_ui_parameters={"withCredentials": True, "persistAuthorization": False},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = Services(settings)

    install_error_handlers(app)
    # Routes are matched in order: the app API, the hottest paths, goes first. The auth
    # API is defined on its first request (app.deferred): a cold start serving the app
    # API does not pay for it.
    app.include_router(content_router)
    defer_routers(app, "/auth", _auth_routers)
    app.include_router(system_router)
    app.include_router(web_router)

    # Added innermost first: HEAD is made GET before anything looks at the method (so it
    # needs what GET needs), security headers wrap everything, CORS answers preflights
    # before any check, usage plans refuse as API Gateway would before the app sees the
    # request, and the body guard refuses what no route should read.
    app.add_middleware(BodyGuard)
    if enforcer is not None:
        from app.usage.middleware import UsagePlansMiddleware

        app.state.usage = enforcer
        app.add_middleware(UsagePlansMiddleware, enforcer=enforcer)
    elif settings.usage_plans == "gateway":
        from app.usage.gateway import GatewayKeyContext

        app.add_middleware(GatewayKeyContext)
    app.add_middleware(
        ContractCORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["content-type", "x-csrf-token", "x-api-key", "authorization"],
        # Not a CORS-safelisted header: without this a page on another origin cannot read
        # how long a lockout (429) or an outage (503) lasts.
        expose_headers=["retry-after"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    if settings.log_level == "DEBUG":
        app.add_middleware(AccessLog)
    install_openapi(app, cookie_name=settings.cookie_name, plans=plans)
    return app


def _auth_routers() -> list[APIRouter]:
    from app.auth.router import router as auth_router
    from app.federation.router import router as federation_router

    return [auth_router, federation_router]


def _usage_plans(settings: Settings) -> tuple[UsageEnforcer | None, PlansSource]:
    """The enforcer (USAGE_PLANS=local) and where the docs find the plans file.

    The usage package is imported only when plans are on: a default cold start skips it.
    With `local` the file is read and checked now; with `gateway` API Gateway enforces the
    plans and the file is read only if someone opens the docs.
    """
    if settings.usage_plans == "off":
        return None, lambda: None
    from app.usage.factory import build_usage_enforcer, load_configured_plans

    if settings.usage_plans == "gateway":
        return None, cache(lambda: load_configured_plans(settings))
    plans = load_configured_plans(settings)
    return build_usage_enforcer(settings, plans), lambda: plans


def _app_from_environment() -> FastAPI:
    from app.logs import configure_logging

    try:
        settings = get_settings()
        configure_logging(settings.log_level)
        return create_app(settings)
    except SettingsError as exc:  # a wrong plans file too
        # A clear message and a non-zero exit, not a traceback, for a wrong setting.
        raise SystemExit(f"error: {exc}") from None


app = _app_from_environment()
# Everything imported and built so far lives as long as the process: move it out of the
# collector's sight, so that collections on the request path walk only new objects.
gc.freeze()
