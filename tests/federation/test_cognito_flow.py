"""Federated sign-in with the cognito backend: the pool's domain is a loopback stand-in that
issues Cognito-shaped tokens; the user check (AdminGetUser) goes to moto's server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from tests.support.cognito_domain import CognitoDomain
from tests.support.federation import auth_error, callback, set_cookies, sign_in, to_provider
from tests.support.jwt import SigningKey
from tests.support.moto import REGION, MotoPool, MotoServer

pytestmark = pytest.mark.cognito

GOOGLE_SUB = "109876543210987654321"
USERNAME = f"Google_{GOOGLE_SUB}"
# The domain's client secret: the token request must carry it with HTTP Basic.
DOMAIN_SECRET = "app-client-secret-for-the-domain"


@pytest.fixture
def domain(moto_server: MotoServer, moto_pool: MotoPool) -> Iterator[CognitoDomain]:
    """The pool's domain, signing in the pool's federated user `Google_<sub>`.

    moto cannot make an EXTERNAL_PROVIDER user; a confirmed one named as Cognito names
    federated users passes the same AdminGetUser check.
    """
    idp = moto_server.idp()
    idp.admin_create_user(UserPoolId=moto_pool.pool_id, Username=USERNAME,
                          MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=moto_pool.pool_id, Username=USERNAME,
                                Password="Unused-Passw0rd!", Permanent=True)
    user = idp.admin_get_user(UserPoolId=moto_pool.pool_id, Username=USERNAME)
    server = CognitoDomain(
        region=REGION, pool_id=moto_pool.pool_id, client_id=moto_pool.client_id,
        client_secret=DOMAIN_SECRET,
    ).start()
    server.username = USERNAME
    server.sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    yield server
    server.stop()


@pytest.fixture
def cognito_client(
    make_cognito_client: Callable[..., TestClient], moto_pool: MotoPool, domain: CognitoDomain
) -> TestClient:
    return make_cognito_client(
        moto_pool,
        cognito_domain=domain.url,
        cognito_identity_providers="Google",
        cognito_jwks_url=domain.jwks_url,
        cognito_client_secret=DOMAIN_SECRET,
    )


class TestCognitoFederation:
    def test_authorize_goes_to_the_pools_domain(
        self, cognito_client: TestClient, domain: CognitoDomain, moto_pool: MotoPool
    ) -> None:
        hop = to_provider(cognito_client, "Google")
        assert hop.authorize.headers["location"].startswith(f"{domain.url}/oauth2/authorize?")
        params = hop.provider_params
        assert all(params.pop(name) for name in ("state", "nonce", "code_challenge"))
        assert params == {
            "identity_provider": "Google",
            "response_type": "code",
            "client_id": moto_pool.client_id,
            "redirect_uri": "https://testserver/auth/oauth/callback",
            "scope": "openid email profile aws.cognito.signin.user.admin",
            "code_challenge_method": "S256",
        }
        assert "oauth_flow" in set_cookies(hop.authorize)

    def test_a_provider_the_pool_does_not_offer(self, cognito_client: TestClient) -> None:
        response = cognito_client.get("/auth/oauth/Facebook/authorize", follow_redirects=False)
        assert (response.status_code, response.json()["error"]) == (404, "NotFound")

    def test_without_a_list_the_app_client_says_which_providers(
        self, make_cognito_client: Callable[..., TestClient], moto_server: MotoServer,
        moto_pool: MotoPool, domain: CognitoDomain,
    ) -> None:
        moto_server.idp().update_user_pool_client(
            UserPoolId=moto_pool.pool_id, ClientId=moto_pool.client_id,
            SupportedIdentityProviders=["Google", "COGNITO"],
        )
        client = make_cognito_client(moto_pool, cognito_domain=domain.url)
        response = client.get("/auth/oauth/Google/authorize", follow_redirects=False)
        assert response.status_code == 302, response.text
        assert httpx.URL(response.headers["location"]).params["identity_provider"] == "Google"
        # Not offered by the client; COGNITO is the pool's password page, not a provider.
        for provider in ("Facebook", "COGNITO"):
            response = client.get(f"/auth/oauth/{provider}/authorize", follow_redirects=False)
            assert (response.status_code, response.json()["error"]) == (404, "NotFound")

    def test_when_cognito_cannot_say_the_managed_login_judges_the_name(
        self, make_cognito_client: Callable[..., TestClient], moto_pool: MotoPool,
        domain: CognitoDomain, caplog: pytest.LogCaptureFixture,
    ) -> None:
        client = make_cognito_client(moto_pool, cognito_domain=domain.url)
        identity = client.app.state.services.identity  # type: ignore[attr-defined]
        with Stubber(identity.idp_client) as stubber:
            # What a role without cognito-idp:DescribeUserPoolClient gets; asked once.
            stubber.add_client_error(
                "describe_user_pool_client", service_error_code="AccessDeniedException",
                service_message="not authorized to perform: cognito-idp:DescribeUserPoolClient",
                http_status_code=400,
            )
            for provider in ("Google", "SignInWithApple", "my-oidc.provider"):
                response = client.get(
                    f"/auth/oauth/{provider}/authorize", follow_redirects=False
                )
                assert response.status_code == 302, response.text
                location = httpx.URL(response.headers["location"])
                assert location.params["identity_provider"] == provider
            for malformed in ("two%20words", "_hidden", "x" * 33):
                response = client.get(
                    f"/auth/oauth/{malformed}/authorize", follow_redirects=False
                )
                assert (response.status_code, response.json()["error"]) == (404, "NotFound")
            stubber.assert_no_pending_responses()
        assert "DescribeUserPoolClient" in caplog.text
        assert "not authorized to perform" not in caplog.text  # Cognito's words stay out

    def test_without_a_domain_there_is_no_provider(
        self, make_cognito_client: Callable[..., TestClient], moto_pool: MotoPool
    ) -> None:
        client = make_cognito_client(moto_pool)
        response = client.get("/auth/oauth/Google/authorize", follow_redirects=False)
        assert (response.status_code, response.json()["error"]) == (404, "NotFound")

    def test_sign_in(
        self, cognito_client: TestClient, domain: CognitoDomain,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        response = sign_in(cognito_client, "Google", "/after")
        # No SESSION_SECRET: the flow key is this process's, and the log says what that costs.
        assert "SESSION_SECRET is not set" in caplog.text
        assert response.headers["location"] == "/after"
        cookies = set_cookies(response)
        assert {"token", "access_token", "refresh_token", "csrf_token"} <= cookies.keys()
        request = domain.token_requests[-1]
        assert request["basic"] and "client_secret" not in request["form"]
        assert request["form"]["grant_type"] == "authorization_code"
        assert request["form"]["redirect_uri"] == "https://testserver/auth/oauth/callback"
        protected = cognito_client.get("/protected")
        assert protected.status_code == 200, protected.text
        assert protected.json()["username"] == USERNAME

    @pytest.mark.parametrize(
        "claims", [{"nonce": "another-flows"}, {"aud": "another-client"},
                   {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}],
        ids=["nonce", "aud", "iss"],
    )
    def test_a_bad_id_token(
        self, cognito_client: TestClient, domain: CognitoDomain, claims: dict[str, str]
    ) -> None:
        domain.behaviour.claims = claims
        response = sign_in(cognito_client, "Google")
        assert auth_error(response)[0] == "NotAuthorized"
        assert "token" not in set_cookies(response)

    def test_a_forged_signature(self, cognito_client: TestClient, domain: CognitoDomain) -> None:
        domain.behaviour.signing_key = SigningKey(kid=domain.key.kid)
        assert auth_error(sign_in(cognito_client, "Google"))[0] == "NotAuthorized"

    def test_a_domain_gone_before_the_callback(
        self, cognito_client: TestClient, domain: CognitoDomain
    ) -> None:
        hop = to_provider(cognito_client, "Google")
        domain.stop()
        assert auth_error(callback(cognito_client, hop.callback_url))[0] == "ServiceUnavailable"
