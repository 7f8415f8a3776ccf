"""A stand-in for a Cognito user pool's domain (`/oauth2/authorize`, `/oauth2/token`).

It answers as the managed login does once the user has signed in at the identity provider
named by `identity_provider`: with a code, then the pool's own tokens for the user
`username` (`Google_<sub>`), shaped and signed as Cognito's, so the app's Cognito verifier
accepts them once COGNITO_JWKS_URL points at this server's `/jwks`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.support.jwt import cognito_claims
from tests.support.oauth_server import Answer, Grant, OAuthServer, at_hash


def _mint(server: OAuthServer, grant: Grant) -> tuple[dict[str, Any], str]:
    assert isinstance(server, CognitoDomain)
    now = time.time()
    shared = {"sub": server.sub, "origin_jti": str(uuid.uuid4()), "issued_at": now}
    access_token = server.key.sign(cognito_claims(
        issuer=server.issuer, client_id=server.client_id, token_use="access",
        username=server.username, scope="openid email profile", **shared,
    ))
    id_claims = cognito_claims(
        issuer=server.issuer, client_id=server.client_id, token_use="id",
        username=server.username, nonce=grant.nonce, at_hash=at_hash(access_token),
        email=server.email, email_verified=False,
        identities=[{"providerName": grant.params["identity_provider"], "userId": "1"}],
        **shared,
    )
    return id_claims, access_token


class CognitoDomain(OAuthServer):
    """The domain of pool `pool_id` in `region`, for app client `client_id`.

    `username` and `sub` say who signs in: the pool's user, which must exist (moto) for the
    app's user check to pass.
    """

    def __init__(
        self, *, region: str, pool_id: str, client_id: str, client_secret: str | None
    ) -> None:
        super().__init__(
            _mint, client_id=client_id, client_secret=client_secret,
            auth_methods=("client_secret_basic",),
            authorize_path="/oauth2/authorize", token_path="/oauth2/token",
        )
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        self.username = ""
        self.sub = ""
        self.email = "person@example.com"

    def _authorize(self, query: dict[str, str], headers: dict[str, str]) -> Answer:
        # Without identity_provider the managed login would show its own sign-in page.
        if not query.get("identity_provider"):
            return Answer.json({"error": "identity_provider is expected"}, 400)
        return super()._authorize(query, headers)

    @property
    def jwks_url(self) -> str:
        return self.url + self.jwks_path
