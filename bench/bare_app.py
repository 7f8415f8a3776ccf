"""FastAPI alone: `/public`, and `/protected` behind a dependency that does nothing.

    uvicorn bench.bare_app:app

The last reference row of (b) in bench/throughput.py. No middleware, no settings, no
pool: the two routes answer what the product's answer, and differ only by one `Depends`
that returns a fixed name without reading the request. Its ratio is what FastAPI itself
charges for a dependency on this machine, before any app adds anything.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

app = FastAPI()


class PublicResponse(BaseModel):
    message: str


class ProtectedResponse(BaseModel):
    message: str
    username: str


@app.get("/health")
async def health() -> dict[str, str]:  # what the benchmark's server waits for
    return {"status": "ok"}


@app.get("/public", response_model=PublicResponse)
async def read_public() -> PublicResponse:
    return PublicResponse(message="This is a public endpoint. Anyone can see it.")


async def fixed_user(request: Request) -> str:
    return "bench"


@app.get("/protected", response_model=ProtectedResponse)
async def read_protected(user: Annotated[str, Depends(fixed_user)]) -> ProtectedResponse:
    return ProtectedResponse(
        message=f"Hello {user}, you are signed in and can see this protected content.",
        username=user,
    )
