"""The REQUEST authorizer: the original design's cookie check, as an IAM policy."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import app.authorizer as authorizer
from app.services import Services
from tests.support.users import AuthFlow

EVENT = json.loads((Path(__file__).parent / "fixtures/events/request_authorizer.json").read_text())


@pytest.fixture(autouse=True)
def services(client: TestClient) -> Iterator[Services]:
    shared: Services = client.app.state.services  # type: ignore[attr-defined]
    authorizer._services = shared
    yield shared
    authorizer._services = None


def authorize(cookie: str | None) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    if cookie is not None:
        event["headers"]["Cookie"] = cookie
    return authorizer.handler(event, None)


def effect(result: dict[str, Any]) -> str:
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Action"] == "execute-api:Invoke"
    # The whole stage: API Gateway caches the policy by cookie for every route.
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*"
    return str(statement["Effect"])


def test_allows_a_signed_in_user_with_their_identity(flow: AuthFlow) -> None:
    user = flow.confirmed_user()
    token = flow.sign_in(user).json()["token"]
    result = authorize(f"theme=dark; token={token}; other=1")
    assert effect(result) == "Allow"
    assert result["context"]["username"] == user.username
    assert result["principalId"] == result["context"]["sub"]


@pytest.mark.parametrize("cookie", [None, "", "theme=dark", "token=", "token=garbage",
                                    "csrf_token=abc"])
def test_denies_without_a_valid_token(cookie: str | None) -> None:
    result = authorize(cookie)
    assert effect(result) == "Deny"
    assert result["principalId"] == "anonymous" and result["context"] == {}


def test_denies_duplicate_tokens_and_signed_out_users(flow: AuthFlow, client: TestClient) -> None:
    user = flow.confirmed_user()
    token = flow.sign_in(user).json()["token"]
    assert effect(authorize(f"token={token}; token={token}")) == "Deny"
    client.post("/auth/signout", headers=flow.csrf())
    assert effect(authorize(f"token={token}")) == "Deny"
