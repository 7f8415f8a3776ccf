"""`/health` and `/.well-known/jwks.json`."""


from typing import Any

from fastapi import APIRouter

from app.auth.dependencies import ServicesDep
from app.errors import NotFoundError

router = APIRouter(tags=["system"])


@router.get("/health", name="system:health")
async def health() -> dict[str, str]:
    """Liveness: answers without touching any backend."""
    return {"status": "ok"}


@router.get("/.well-known/jwks.json", name="system:jwks")
def read_jwks(services: ServicesDep) -> dict[str, Any]:
    """The local pool's public signing keys (the local backend only)."""
    jwks = getattr(services.identity, "jwks", None)
    if jwks is None:
        raise NotFoundError("This backend's keys are published by Amazon Cognito.")
    return dict(jwks)
