"""The app with `/protected` finding its user another way: the reference rows of (b).

    uvicorn --factory bench.reference_app:from_environment   (REFERENCE_CHECK=<variant>)

Each variant replaces the `/protected` route in place (same path, same place in the
routing order, same response model and message), so that only how the user is found
differs from the product:

- `depends-constant`: a FastAPI dependency that returns a fixed user without reading the
  request. No dependency-based check can cost less, so its ratio is the ceiling of (b).
- `inline`: the product's own check, awaited from the endpoint's body instead of
  through `Depends`.
- `constant`: no check at all; what remains is the route itself.
- `reverify`: the product's dependency on a token cache that keeps nothing, so that every
  request verifies the signature again: what the cache of verified tokens buys.

Benchmarks only: bench/throughput.py serves them, bench/dependency_cost.py calls them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from unittest import mock

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute

import app.main
from app.auth.dependencies import require_current_user
from app.content import router as content
from app.identity.provider import UserRecord
from app.tokens.verifier import VerifiedTokenCache

FIXED_USER = UserRecord(
    username="bench", sub="00000000-0000-0000-0000-000000000000", email=None,
    email_verified=False, phone_number=None, phone_number_verified=False,
    status="CONFIRMED", enabled=True,
)


def _greet(user: UserRecord) -> content.ProtectedResponse:
    # The product's message, so that the response costs the same.
    return content.ProtectedResponse(
        message=f"Hello {user.username}, you are signed in and can see this protected content.",
        username=user.username,
    )


async def fixed_user(request: Request) -> UserRecord:
    return FIXED_USER


async def _depends_constant(
    user: Annotated[UserRecord, Depends(fixed_user)],
) -> content.ProtectedResponse:
    return _greet(user)


async def _inline(request: Request) -> content.ProtectedResponse:
    return _greet(await require_current_user(request))


async def _constant() -> content.ProtectedResponse:
    return _greet(FIXED_USER)


_KEEPS_NOTHING = VerifiedTokenCache(maxsize=0)


async def reverified_user(request: Request) -> UserRecord:
    verifier = await request.app.state.services.ready_verifier()
    verifier.cache = _KEEPS_NOTHING
    return await require_current_user(request)


async def _reverify(
    user: Annotated[UserRecord, Depends(reverified_user)],
) -> content.ProtectedResponse:
    return _greet(user)


Endpoint = Callable[..., Coroutine[Any, Any, content.ProtectedResponse]]
VARIANTS: dict[str, Endpoint] = {
    "depends-constant": _depends_constant,
    "inline": _inline,
    "constant": _constant,
    "reverify": _reverify,
}


def reference_app(variant: str) -> FastAPI:
    """The product's app, built by `create_app`, with `/protected` swapped for `variant`."""
    router = APIRouter(tags=["app"])
    for route in content.router.routes:
        if isinstance(route, APIRoute) and route.path == "/protected":
            route = APIRoute("/protected", VARIANTS[variant], name=route.name,
                             response_model=content.ProtectedResponse)
        router.routes.append(route)
    # A copy of the app router, not the module's own: apps built earlier in this process
    # may include that one by reference.
    with mock.patch.object(app.main, "content_router", router):
        return app.main.create_app()


def from_environment() -> FastAPI:
    return reference_app(os.environ["REFERENCE_CHECK"])
