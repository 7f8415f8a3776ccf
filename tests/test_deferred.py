"""The auth routers, defined on their first request: the same routes, order and docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.deferred import DeferredRouters
from app.main import create_app
from app.settings import Settings


def route_kinds(client: TestClient) -> list[str]:
    return [type(route).__name__ for route in client.app.router.routes]  # type: ignore[attr-defined]


def test_the_first_auth_request_builds_them_in_place(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert "DeferredRouters" in route_kinds(client)
        assert client.get("/protected").status_code == 401  # the app API works unbuilt
        assert "DeferredRouters" in route_kinds(client)
        answer = client.post("/auth/signin", json={"username": "nobody", "password": "x"})
        assert answer.json()["error"] == "NotAuthorized"
        assert "DeferredRouters" not in route_kinds(client)
        assert client.get("/auth/no-such-route").json()["error"] == "NotFound"
        assert client.app.url_path_for("auth:sign_in") == "/auth/signin"  # type: ignore[attr-defined]


def test_the_docs_list_every_route_before_any_request(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert {"/auth/signin", "/auth/oauth/callback", "/protected", "/health"} <= set(paths)


def test_url_path_for_builds_them(settings: Settings) -> None:
    app = create_app(settings)
    assert any(isinstance(route, DeferredRouters) for route in app.router.routes)
    assert app.url_path_for("auth:read_current_user") == "/auth/current_user"


def test_importing_the_app_leaves_the_auth_api_unbuilt(tmp_path: Path) -> None:
    probe = ("import sys, app.handler; "
             "print(sorted(m for m in sys.modules if m in ('app.auth.router', "
             "'app.federation.router', 'app.auth.schemas')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).parents[1],
                            capture_output=True, text=True, check=True,
                            env={"PATH": "", "LOCAL_POOL_DIR": str(tmp_path)})
    assert result.stdout.strip() == "[]"
