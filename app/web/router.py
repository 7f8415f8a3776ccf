"""The browser frontend: one page, its static files, and what the page needs to know."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from app.auth.dependencies import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter()


class FrontendConfig(BaseModel):
    app_name: str
    api_key_required: bool
    providers: list[str]


@router.get("/", name="web:index", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/config", name="web:read_config", response_model=FrontendConfig, tags=["web"])
async def read_config(settings: SettingsDep) -> FrontendConfig:
    """What the frontend adapts to: whether API keys are needed, which providers exist."""
    return FrontendConfig(
        app_name=settings.app_name,
        api_key_required=settings.usage_plans != "off",
        providers=settings.federated_providers,
    )


router.mount("/static", StaticFiles(directory=STATIC_DIR), name="web:static")
