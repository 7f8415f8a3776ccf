"""The Lambda entry: Mangum over the app, fed API Gateway events from the SAM CLI."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.stage import lambda_handler
from tests.support.lambda_runtime import LambdaContainer
from tests.support.users import PASSWORD, AuthFlow

EVENTS = Path(__file__).parent / "fixtures" / "events"


def event(name: str, **changes: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return {**copy.deepcopy(loaded), **changes}


class Context:
    function_name = "authgate"
    aws_request_id = "req-1"


@pytest.fixture
def handler(settings: Settings) -> Iterator[LambdaContainer]:
    with LambdaContainer(lambda_handler(create_app(settings))) as container:
        yield container


def _json_body(payload: dict[str, str]) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


class TestRestApiV1:
    def test_sign_in_returns_every_cookie_and_the_stage_path(
        self, handler: LambdaContainer, flow: AuthFlow
    ) -> None:
        user = flow.confirmed_user()
        sign_in = event("rest_v1_post_signin.json", body=_json_body(
            {"username": user.username, "password": PASSWORD}))
        sign_in["headers"]["Content-Type"] = "application/json"
        sign_in["multiValueHeaders"]["Content-Type"] = ["application/json"]

        response = handler(sign_in, Context())
        assert response["statusCode"] == 200, response["body"]
        cookies = response["multiValueHeaders"]["set-cookie"]
        assert sorted(c.split("=", 1)[0] for c in cookies) == [
            "access_token", "csrf_token", "refresh_token", "token"]
        # The browser sees /prod/...: cookie paths carry the stage.
        by_name = {c.split("=", 1)[0]: c for c in cookies}
        assert "Path=/prod;" in by_name["token"]
        assert "Path=/prod/auth;" in by_name["access_token"]
        assert json.loads(response["body"])["message"] == "Auth successful"

    def test_protected_with_the_cookie_and_without(
        self, handler: LambdaContainer, flow: AuthFlow
    ) -> None:
        user = flow.confirmed_user()
        token = flow.sign_in(user).json()["token"]
        call = event("rest_v1_get_protected.json")
        call["headers"]["Cookie"] = f"token={token}"
        call["multiValueHeaders"]["Cookie"] = [f"token={token}"]
        allowed = handler(call, Context())
        assert allowed["statusCode"] == 200
        assert json.loads(allowed["body"])["username"] == user.username

        anonymous = handler(event("rest_v1_get_protected.json"), Context())
        assert anonymous["statusCode"] == 401
        assert json.loads(anonymous["body"])["error"] == "NotAuthorized"

    @pytest.mark.parametrize(("path", "status"), [("/health", 200), ("/auth/signout", 405)])
    def test_head_under_a_stage(self, handler: LambdaContainer, path: str, status: int) -> None:
        """HEAD is GET without a body, except under /auth; the stage prefix changes nothing."""
        head = event("rest_v1_get_protected.json", httpMethod="HEAD", path=path)
        head["requestContext"]["path"] = f"/prod{path}"
        response = handler(head, Context())
        assert response["statusCode"] == status
        if status == 200:
            assert response["body"] == ""

    def test_the_docs_work_under_the_stage(self, handler: LambdaContainer) -> None:
        """The browser is at /prod/docs: the page must fetch /prod/openapi.json, and "Try it
        out" must call /prod/..., or API Gateway answers them outside the stage."""
        def get(path: str) -> dict[str, Any]:
            call = event("rest_v1_get_protected.json", path=path)
            call["requestContext"]["path"] = f"/prod{path}"
            response: dict[str, Any] = handler(call, Context())
            assert response["statusCode"] == 200, response["body"]
            return response

        assert "'/prod/openapi.json'" in get("/docs")["body"]
        assert json.loads(get("/openapi.json")["body"])["servers"] == [{"url": "/prod"}]


class TestHttpApiV2:
    def test_sign_in_cookies_come_back_in_the_cookies_list(
        self, handler: LambdaContainer, flow: AuthFlow
    ) -> None:
        user = flow.confirmed_user()
        sign_in = event("http_v2_post_signin.json", body=_json_body(
            {"username": user.username, "password": PASSWORD}), cookies=[])
        sign_in["headers"]["content-type"] = "application/json"
        response = handler(sign_in, Context())
        assert response["statusCode"] == 200, response["body"]
        assert sorted(c.split("=", 1)[0] for c in response["cookies"]) == [
            "access_token", "csrf_token", "refresh_token", "token"]

        token = next(c for c in response["cookies"] if c.startswith("token="))
        call = event("http_v2_get_protected.json", cookies=[token.split(";")[0]])
        protected = handler(call, Context())
        assert protected["statusCode"] == 200
        assert json.loads(protected["body"])["username"] == user.username


def test_the_module_builds_from_the_environment(tmp_path: Path) -> None:
    """`app.handler.handler` imports with only environment settings, and boto3 stays out."""
    script = (
        "import sys, app.handler as h; "
        "assert callable(h.handler); "
        "assert 'boto3' not in sys.modules, 'the local path must not import boto3'; "
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[1], capture_output=True,
        text=True, env={"PATH": "", "LOCAL_POOL_DIR": str(tmp_path / "pool")}, check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert not (tmp_path / "pool").exists(), "importing must not open the pool"


def test_health_through_the_handler(handler: LambdaContainer, client: TestClient) -> None:
    health = event("http_v2_get_protected.json", rawPath="/health", cookies=[])
    health["requestContext"]["http"]["path"] = "/health"
    response = handler(health, Context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


class TestBodiesWithoutALength:
    """API Gateway's events need not carry Content-Length (the SAM CLI's do not): the body
    guard still refuses what is not JSON, or too big, as it does behind uvicorn."""

    def _sign_in(self, body: bytes, content_type: str) -> dict[str, Any]:
        call = event("rest_v1_post_signin.json", body=base64.b64encode(body).decode(),
                     isBase64Encoded=True)
        call["headers"]["Content-Type"] = content_type
        call["multiValueHeaders"]["Content-Type"] = [content_type]
        assert "Content-Length" not in call["headers"]
        return call

    def test_a_form_body_is_415(self, handler: LambdaContainer) -> None:
        response = handler(self._sign_in(b"username=a&password=b",
                                         "application/x-www-form-urlencoded"), Context())
        assert response["statusCode"] == 415
        assert json.loads(response["body"])["error"] == "UnsupportedMediaType"

    def test_a_body_over_the_limit_is_413(self, handler: LambdaContainer) -> None:
        huge = json.dumps({"username": "a", "password": "x" * 100_000}).encode()
        response = handler(self._sign_in(huge, "application/json"), Context())
        assert response["statusCode"] == 413
        assert json.loads(response["body"])["error"] == "PayloadTooLarge"

    def test_a_json_body_goes_through(self, handler: LambdaContainer) -> None:
        response = handler(self._sign_in(b'{"username": "nobody", "password": "Wrong-pass1"}',
                                         "application/json"), Context())
        assert response["statusCode"] == 401
        assert json.loads(response["body"])["error"] == "NotAuthorized"

    @pytest.mark.parametrize("length", ["-5", "1_0", "ten"])
    def test_a_content_length_that_is_not_a_size_is_400(
        self, handler: LambdaContainer, length: str
    ) -> None:
        call = self._sign_in(b'{"username": "a", "password": "b"}', "application/json")
        call["headers"]["Content-Length"] = length
        call["multiValueHeaders"]["Content-Length"] = [length]
        response = handler(call, Context())
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["error"] == "InvalidParameter"
