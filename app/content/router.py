"""The app API (SPEC §3): what the auth is in front of."""


from fastapi import APIRouter
from pydantic import BaseModel

from app.auth.dependencies import CurrentUser
from app.openapi import error_responses

router = APIRouter(tags=["app"])


class PublicResponse(BaseModel):
    message: str


class ProtectedResponse(BaseModel):
    message: str
    username: str


@router.get("/public", name="app:read_public", response_model=PublicResponse)
async def read_public() -> PublicResponse:
    """Anyone may call this."""
    return PublicResponse(message="This is a public endpoint. Anyone can see it.")


@router.get(
    "/protected", name="app:read_protected", response_model=ProtectedResponse,
    openapi_extra=error_responses(401, signed_in=True),
)
async def read_protected(user: CurrentUser) -> ProtectedResponse:
    """Only a signed-in user may call this (the `token` cookie or a Bearer token)."""
    return ProtectedResponse(
        message=f"Hello {user.username}, you are signed in and can see this protected content.",
        username=user.username,
    )
