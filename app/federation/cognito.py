"""Cognito's managed login (hosted UI) domain as an OAuth 2.0 server: its authorize and token
endpoints, for a federated sign-in through the user pool (Google, Facebook, ...)."""

from __future__ import annotations

from app.federation.oauth2 import (
    OAuthClient,
    TokenResponse,
    authorization_url,
    exchange_code,
    request_params,
)
from app.federation.provider import AuthorizationRequest

# The scopes the stack's app client allows (infra/authgate_infra/user_pool.py).
# aws.cognito.signin.user.admin lets the access token call the account APIs (change the
# email, set up MFA) for a federated user as for one who signed in with a password.
COGNITO_SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]


def domain_base_url(domain: str) -> str:
    """COGNITO_DOMAIN as a base URL: a bare host name (`x.auth.<region>.amazoncognito.com`,
    a custom domain) is served over https; a URL with its scheme is kept (an emulator)."""
    domain = domain.strip().rstrip("/")
    return domain if domain.startswith(("https://", "http://")) else f"https://{domain}"


class CognitoHostedUi:
    """The user pool's domain, reached with the app client.

    Args:
        domain: COGNITO_DOMAIN, a host name or a base URL.
        client_id: the app client, which must list the app's callback URL.
        client_secret: the app client's secret, sent with HTTP Basic when it has one.
        timeout: of the token request, in seconds.
    """

    def __init__(
        self, *, domain: str, client_id: str, client_secret: str | None, timeout: float
    ) -> None:
        self.base_url = domain_base_url(domain)
        self._client = OAuthClient(
            client_id, client_secret, "client_secret_basic" if client_secret else "none"
        )
        self._timeout = timeout

    def authorization_url(self, identity_provider: str, request: AuthorizationRequest) -> str:
        """`/oauth2/authorize`, sending the browser straight on to `identity_provider`."""
        params = request_params(self._client.client_id, COGNITO_SCOPES, request)
        params["identity_provider"] = identity_provider
        return authorization_url(f"{self.base_url}/oauth2/authorize", params)

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenResponse:
        """`/oauth2/token`: the pool's own ID, access and refresh tokens for the code.

        Raises:
            ServiceUnavailableError, NotAuthorizedError: as `exchange_code`.
        """
        return exchange_code(
            f"{self.base_url}/oauth2/token", client=self._client, code=code,
            redirect_uri=redirect_uri, code_verifier=code_verifier, provider="Cognito",
            timeout=self._timeout,
        )
