"""The two OAuth 2.0 requests of an authorization-code flow with PKCE, as both Cognito's
domain and OpenID Connect providers take them: the authorization request the browser carries
(RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC's `nonce`), and the token request that ends the flow
(RFC 6749 §4.1.3 with PKCE's `code_verifier`, RFC 7636 §4.5).

Every way it can fail leaves as an `app.errors` class: an unreachable or failing provider is
`ServiceUnavailableError`; a refused code (wrong, used, or a PKCE mismatch) and an answer
without tokens are `NotAuthorizedError`. The log says which; it never holds the code.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from app.errors import NotAuthorizedError, ServiceUnavailableError
from app.federation.provider import AuthorizationRequest
from app.http_fetch import Fetched, fetch

log = logging.getLogger(__name__)

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]


class OAuthClient(NamedTuple):
    """This app as a client of a provider, and how it proves so at the token endpoint."""

    client_id: str
    client_secret: str | None
    auth_method: ClientAuthMethod


class TokenResponse(NamedTuple):
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int


def authorization_url(endpoint: str, params: dict[str, str]) -> str:
    """`endpoint` with `params` added to whatever query it already has."""
    parts = urlsplit(endpoint)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def request_params(
    client_id: str, scopes: list[str], request: AuthorizationRequest
) -> dict[str, str]:
    """The parameters every authorization request of the app carries."""
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": request.redirect_uri,
        "scope": " ".join(scopes),
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
    }


def choose_auth_method(client_secret: str | None, supported: list[str] | None) -> ClientAuthMethod:
    """Basic when the provider takes it (OIDC's default), else the secret in the body."""
    if client_secret is None:
        return "none"  # a public client: PKCE alone binds the code to this flow
    methods = supported or ["client_secret_basic"]
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        return "client_secret_post"
    return "client_secret_basic"


def _basic(client_id: str, client_secret: str) -> httpx.BasicAuth:
    # RFC 6749 §2.3.1: each part is form-encoded before Base64 (a no-op for Cognito's).
    return httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))


def exchange_code(
    token_endpoint: str,
    *,
    client: OAuthClient,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    provider: str,
    timeout: float,
) -> TokenResponse:
    """Trade an authorization code for tokens.

    Raises:
        ServiceUnavailableError: the endpoint cannot be reached, times out or fails (5xx).
        NotAuthorizedError: the code is refused, or the answer holds no ID or access token.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "client_id": client.client_id,
    }
    auth = None
    if client.client_secret is not None:
        if client.auth_method == "client_secret_post":
            form["client_secret"] = client.client_secret
        else:
            auth = _basic(client.client_id, client.client_secret)
    try:
        response = fetch(
            "POST", token_endpoint, data=form, auth=auth, timeout=timeout,
            headers={"Accept": "application/json"},
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        log.warning("token endpoint unreachable",
                    extra={"provider": provider, "reason": type(exc).__name__})
        raise ServiceUnavailableError(
            f"{provider} cannot be reached to finish the sign-in. Try again shortly."
        ) from None
    body = _json_object(response)
    if response.status_code >= 500:
        log.warning("token endpoint failed",
                    extra={"provider": provider, "status": response.status_code})
        raise ServiceUnavailableError(
            f"{provider} could not finish the sign-in. Try again shortly."
        )
    if response.status_code != 200:
        log.warning("token request refused", extra={
            "provider": provider, "status": response.status_code,
            "oauth_error": str(body.get("error", ""))[:64],
            "description": str(body.get("error_description", ""))[:200],
        })
        raise NotAuthorizedError(f"{provider} refused the sign-in. Sign in again.")
    id_token, access_token = body.get("id_token"), body.get("access_token")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        log.warning("token answer without tokens", extra={"provider": provider})
        raise NotAuthorizedError(f"{provider} did not return the tokens of a sign-in.")
    refresh_token = body.get("refresh_token")
    expires_in = body.get("expires_in")
    return TokenResponse(
        id_token=id_token,
        access_token=access_token,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        expires_in=expires_in if isinstance(expires_in, int) and expires_in > 0 else 3600,
    )


def _json_object(response: Fetched) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
