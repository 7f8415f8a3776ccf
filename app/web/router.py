"""The browser frontend: one page, its static files, and what the page needs to know."""

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from app.auth.cookies import public_prefix
from app.auth.dependencies import SettingsDep

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter()


class FrontendConfig(BaseModel):
    app_name: str
    api_key_required: bool
    providers: list[str]


BASE_PLACEHOLDER = '<base href="./">'

# The page loads only its own script and stylesheet and talks only to this site; the QR
# code of TOTP enrolment is a data: image. Should anything inject markup, it cannot run a
# script, send what it reads elsewhere, or be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _index_html() -> str:
    # Read on each request (a few kB from the page cache), so an edited page shows at once.
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/", name="web:index", include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    # The page's URLs are relative to <base>. Behind API Gateway a browser may open the
    # stage as `/prod` (no slash), against which `static/app.js` would resolve to
    # `/static/app.js`, outside the stage; the prefix the browser sees fixes that.
    base = html.escape(f"{public_prefix(request)}/", quote=True)
    page = _index_html().replace(BASE_PLACEHOLDER, f'<base href="{base}">', 1)
    return HTMLResponse(page, headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    })


@router.get("/config", name="web:read_config", response_model=FrontendConfig, tags=["web"])
async def read_config(settings: SettingsDep) -> FrontendConfig:
    """What the frontend adapts to: whether API keys are needed, which providers exist."""
    return FrontendConfig(
        app_name=settings.app_name,
        api_key_required=settings.usage_plans != "off",
        providers=settings.federated_providers,
    )


router.mount("/static", StaticFiles(directory=STATIC_DIR), name="web:static")
