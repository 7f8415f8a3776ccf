"""The checks an OpenID Connect ID token needs beyond a Cognito token's.

`OidcIdTokenVerifier` verifies a federated provider's ID token (Google's, any OIDC
provider's): the signature through the shared `verify_signature`, then OIDC Core §3.1.3.7's
claims, which differ from Cognito's (no `token_use`, `aud` may be a list, `azp`).
`check_nonce` and `check_at_hash` are also applied to the Cognito ID token a federated
sign-in brings back, so each check lives here once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any

from jose.utils import calculate_at_hash

from app.tokens.claims import Claims
from app.tokens.errors import TokenClaimError
from app.tokens.jwks import JwksCache
from app.tokens.verifier import check_times, verify_signature

_SUBJECT = re.compile(r"[!-~]{1,255}")
# Google documents that its `iss` is either form; its discovery document names the first.
_ISSUER_ALIASES = {"https://accounts.google.com": frozenset({"accounts.google.com"})}


def check_nonce(claims: Claims, nonce: str) -> None:
    """The token answers this flow's authorization request, not a replayed one.

    Raises:
        TokenClaimError: no nonce, or another one.
    """
    found = claims.get("nonce")
    if not isinstance(found, str) or not hmac.compare_digest(found.encode(), nonce.encode()):
        raise TokenClaimError("nonce is missing or not this flow's")


def check_at_hash(claims: Claims, access_token: str | None) -> None:
    """When the ID token carries `at_hash`, it must be the hash of the access token it came
    with (RS256: the left half of SHA-256), so one cannot be swapped for another.

    Raises:
        TokenClaimError: `at_hash` is present and does not match.
    """
    at_hash = claims.get("at_hash")
    if at_hash is None:
        return
    if access_token is None or not isinstance(at_hash, str):
        raise TokenClaimError("at_hash without an access token to check it against")
    expected = calculate_at_hash(access_token, hashlib.sha256)
    if not hmac.compare_digest(at_hash.encode(), expected.encode()):
        raise TokenClaimError("at_hash does not match the access token")


class OidcIdTokenVerifier:
    """Verifies the ID tokens of one OpenID Connect provider for one client.

    Args:
        issuer: the provider's issuer, as configured (and as its discovery document says).
        client_id: this app's client at the provider: `aud` must name it.
        jwks: the provider's signing keys (its `jwks_uri`, refetched on an unknown kid).
        leeway_seconds: clock skew allowed on `exp`, `iat` and `nbf`.
    """

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        jwks: JwksCache,
        leeway_seconds: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer or not client_id:
            raise ValueError("an ID token verifier needs the issuer and the client id")
        self.issuers = frozenset({issuer, *_ISSUER_ALIASES.get(issuer, ())})
        self.client_id = client_id
        self.jwks = jwks
        self.leeway = leeway_seconds
        self._clock = clock

    def verify(self, token: str, *, nonce: str, access_token: str | None) -> dict[str, Any]:
        """The claims of an ID token issued for this client in answer to this flow.

        Raises:
            TokenError: the subclass names the check that failed.
        """
        claims = verify_signature(token, self.jwks, kid_optional=True)
        check_times(claims, self._clock(), self.leeway)
        if claims.get("iss") not in self.issuers:
            raise TokenClaimError("unexpected iss")
        self._check_audience(claims)
        sub = claims.get("sub")
        # OIDC Core: at most 255 ASCII characters. Printable ones only: `sub` becomes part
        # of a username (`<name>_<sub>`), which terminals and messages show.
        if not isinstance(sub, str) or not _SUBJECT.fullmatch(sub):
            raise TokenClaimError("sub is missing, oversized or not printable ASCII")
        check_nonce(claims, nonce)
        check_at_hash(claims, access_token)
        return claims

    def _check_audience(self, claims: Claims) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or self.client_id not in audiences:
            raise TokenClaimError("aud does not name this client")
        azp = claims.get("azp")
        # With other audiences beside this client, the token must say it was issued to us.
        if (len(audiences) > 1 or azp is not None) and azp != self.client_id:
            raise TokenClaimError("azp is not this client")
