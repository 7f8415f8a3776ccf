"""`GET /auth/aws_credentials`: the identity pool's credentials for the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi.testclient import TestClient

from tests.support.moto import ANY_CODE, MotoPool, MotoServer
from tests.support.users import AuthFlow


class TestWithCognito:
    def test_signed_in_user_gets_credentials(
        self, moto_server: MotoServer, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        moto_server.reset()
        pool = moto_server.new_pool(identity_pool=True)
        client = make_cognito_client(pool)
        AuthFlow(client, lambda user: ANY_CODE).signed_in_user()

        response = client.get("/auth/aws_credentials")

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"identity_id", "access_key_id", "secret_access_key",
                             "session_token", "expiration"}
        assert body["identity_id"].startswith("us-east-1:")
        assert all(body[key] for key in ("access_key_id", "secret_access_key", "session_token"))
        assert datetime.fromisoformat(body["expiration"]).tzinfo is not None
        assert response.headers["cache-control"] == "no-store"

    def test_the_access_token_is_not_a_login(
        self, moto_server: MotoServer, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        moto_server.reset()
        client = make_cognito_client(moto_server.new_pool(identity_pool=True))
        flow = AuthFlow(client, lambda user: ANY_CODE)
        flow.signed_in_user()
        access = client.cookies.get("access_token")
        client.cookies.clear()

        response = client.get(
            "/auth/aws_credentials", headers={"Authorization": f"Bearer {access}"}
        )

        assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")
        assert "ID token" in response.json()["message"]

    def test_without_an_identity_pool_says_which_setting(
        self, moto_pool: MotoPool, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        client = make_cognito_client(moto_pool)
        AuthFlow(client, lambda user: ANY_CODE).signed_in_user()

        response = client.get("/auth/aws_credentials")

        assert (response.status_code, response.json()["error"]) == (501, "NotImplemented")
        assert "COGNITO_IDENTITY_POOL_ID" in response.json()["message"]

    def test_needs_a_signed_in_user(
        self, moto_server: MotoServer, make_cognito_client: Callable[..., TestClient]
    ) -> None:
        moto_server.reset()
        client = make_cognito_client(moto_server.new_pool(identity_pool=True))
        response = client.get("/auth/aws_credentials")
        assert (response.status_code, response.json()["error"]) == (401, "NotAuthorized")


class TestWithTheLocalPool:
    def test_answers_not_implemented_and_why(self, client: TestClient, flow: AuthFlow) -> None:
        flow.signed_in_user()

        response = client.get("/auth/aws_credentials")

        assert (response.status_code, response.json()["error"]) == (501, "NotImplemented")
        assert "identity pool" in response.json()["message"]
        assert "COGNITO_IDENTITY_POOL_ID" in response.json()["message"]
