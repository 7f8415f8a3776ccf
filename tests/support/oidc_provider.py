"""A generic OpenID Connect provider on loopback (what Google is to the local pool).

Its issuer is its base URL; it serves discovery, and mints ID tokens with `sub`, `email`,
`email_verified`, `nonce` and `at_hash`, signed with an RSA key made in the test.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from tests.support.oauth_server import Answer, Grant, OAuthServer, at_hash

CLIENT_ID = "authgate-test-client"
CLIENT_SECRET = "provider-client-secret"


def _mint(server: OAuthServer, grant: Grant) -> tuple[dict[str, Any], str]:
    assert isinstance(server, OidcProvider)
    now = int(time.time())
    access_token = secrets.token_urlsafe(32)
    claims = {
        "iss": server.url, "aud": grant.client_id, "sub": server.sub,
        "iat": now, "exp": now + 3600, "nonce": grant.nonce,
        "email": server.email, "email_verified": server.email_verified,
        "at_hash": at_hash(access_token),
    }
    return claims, access_token


class OidcProvider(OAuthServer):
    """The provider; `sub`, `email` and `email_verified` say who signs in next."""

    def __init__(
        self, *, client_secret: str | None = CLIENT_SECRET,
        auth_methods: tuple[str, ...] = ("client_secret_basic", "client_secret_post"),
    ) -> None:
        super().__init__(
            _mint, client_id=CLIENT_ID, client_secret=client_secret, auth_methods=auth_methods
        )
        self.sub = "1098765432101234567890"
        self.email = "person@example.com"
        self.email_verified: Any = True
        self.discovery_requests = 0

    def routes(self) -> dict[str, Any]:
        return {**super().routes(), "/.well-known/openid-configuration": self._discovery}

    def _discovery(self, query: dict[str, str], headers: dict[str, str]) -> Answer:
        self.discovery_requests += 1
        return Answer.json({
            "issuer": self.url,
            "authorization_endpoint": self.url + self.authorize_path,
            "token_endpoint": self.url + self.token_path,
            "jwks_uri": self.url + self.jwks_path,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "code_challenge_methods_supported": ["S256"],
        })

    def provider_setting(self, name: str = "test", **extra: Any) -> dict[str, Any]:
        """This provider as one entry of LOCAL_OIDC_PROVIDERS."""
        entry: dict[str, Any] = {"name": name, "issuer": self.url, "client_id": self.client_id}
        if self.client_secret is not None:
            entry["client_secret"] = self.client_secret
        return entry | extra

    def setting_json(self, name: str = "test") -> str:
        return json.dumps([self.provider_setting(name)])
