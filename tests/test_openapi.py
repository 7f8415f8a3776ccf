"""The OpenAPI document: served, with the cookie, Bearer and API-key schemes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def test_docs_declare_the_cookie_and_bearer_schemes(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(cookie_name="session"))) as client:
        assert client.get("/docs").status_code == 200
        document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["TokenCookie"] == {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The ID token, set as an HttpOnly cookie by sign-in."}
    assert schemes["BearerToken"]["scheme"] == "bearer"
    # Usage plans are off: the key's header is declared, and no operation asks for it.
    assert schemes["ApiKey"]["name"] == "x-api-key"
    assert "USAGE_PLANS=off" in schemes["ApiKey"]["description"]
    assert not any("ApiKey" in choice for operations in document["paths"].values()
                   for operation in operations.values()
                   for choice in operation.get("security", []))
    protected = document["paths"]["/protected"]["get"]
    assert protected["security"] == [{"TokenCookie": []}, {"BearerToken": []}]
    assert protected["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"}
    assert "security" not in document["paths"]["/public"]["get"]


def test_keyed_routes_declare_x_api_key(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(usage_plans="local"))) as client:
        document = client.get("/openapi.json").json()
    api_key = document["components"]["securitySchemes"]["ApiKey"]
    assert (api_key["name"], api_key["in"]) == ("x-api-key", "header")
    assert "USAGE_PLANS=off" not in api_key["description"]
    assert document["paths"]["/public"]["get"]["security"] == [{"ApiKey": []}]
    assert document["paths"]["/protected"]["get"]["security"] == [
        {"TokenCookie": [], "ApiKey": []}, {"BearerToken": [], "ApiKey": []}]
    assert "security" not in document["paths"]["/auth/signin"]["post"]
