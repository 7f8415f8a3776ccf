"""`TokenVerifier`: checks a Cognito-style JWT, as aws-jwt-verify's `CognitoJwtVerifier` does.

Issuer, client id and the token uses are constructor arguments, not options: a verifier
cannot be built that forgets one. python-jose checks the signature with a key object
parsed once by `JwksCache`; every claim is checked here, each failure with its own error.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from typing import Any

from jose import jws
from jose.exceptions import JOSEError

from app.identity.provider import TokenSubject
from app.tokens.claims import Claims, TokenUse, subject_of, username_of
from app.tokens.errors import (
    TokenAlgorithmError,
    TokenClaimError,
    TokenExpiredError,
    TokenMalformedError,
    TokenSignatureError,
)
from app.tokens.jwks import JwksCache

MAX_TOKEN_LENGTH = 8192  # Cognito's tokens are 1-2 KB; more is an attack or a mistake.
MAX_KID_LENGTH = 128
# Three base64url segments without padding (RFC 7515 2, 7.1): one token, one spelling.
_BASE64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Of the last character of a segment whose length is 2 or 3 past a multiple of 4, the bits
# that encode nothing, and so must be 0.
_UNUSED_BITS = {2: 0b1111, 3: 0b11}


def _b64decode_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _is_compact_jws(token: str) -> bool:
    """Three base64url segments, the first two not empty (the signature may be: the checks
    that say why refuse it), and a signature in its one canonical spelling.

    Only the signature's spelling needs checking: the other two segments are signed as
    written, so another spelling of them fails the signature. (bytes.translate, not a
    regular expression: a third of the time, on every first sight of a token.)
    """
    if not token.isascii():
        return False
    raw = token.encode("ascii")
    if raw.translate(None, _BASE64URL) != b"..":
        return False
    header, payload, signature = raw.split(b".")
    if not header or not payload or len(signature) % 4 == 1:
        return False
    unused = _UNUSED_BITS.get(len(signature) % 4, 0)
    return not unused or not _BASE64URL.index(signature[-1]) & unused


def verify_signature(token: str, jwks: JwksCache, *, kid_optional: bool = False
                     ) -> dict[str, Any]:
    """The payload of a compact JWS signed with RS256 by a key of `jwks`.

    The one signature check of the app: Cognito's tokens, the local pool's, and the ID
    tokens of federated OpenID Connect providers (`app.tokens.oidc`) all pass through it.
    `kid_optional`: a token without a kid is checked against the set's only key, as OpenID
    Connect allows a provider with one key; Cognito and the local pool always name theirs.

    Raises:
        TokenError: malformed, another algorithm, an unknown key, or a bad signature.
    """
    if len(token) > MAX_TOKEN_LENGTH or not _is_compact_jws(token):
        raise TokenMalformedError("not a compact JWS of a sane size")
    try:
        header = _b64decode_json(token.split(".", 1)[0])
    # RecursionError: a header of "[[[[..." nested thousands deep.
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise TokenMalformedError("the header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise TokenMalformedError("the header is not a JSON object")
    # Pinned before anything else: "none", HS256 (with the public key as the secret)
    # and every other algorithm are refused whatever the key says.
    if header.get("alg") != "RS256":
        raise TokenAlgorithmError(f"alg {str(header.get('alg'))[:20]!r} is not RS256")
    if "crit" in header:
        raise TokenMalformedError("critical header extensions are not supported")
    kid = header.get("kid")
    if kid is None and kid_optional:
        key = jwks.sole_key()
    elif not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise TokenMalformedError("missing or oversized kid")
    else:
        key = jwks.key(kid)
    try:
        payload = jws.verify(token, key, algorithms=["RS256"])
    except JOSEError as exc:
        raise TokenSignatureError("signature verification failed") from exc
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise TokenMalformedError("the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise TokenMalformedError("the payload is not a JSON object")
    return claims


def check_times(claims: Claims, now: float, leeway: int) -> None:
    """`exp` passed, `iat` not in the future, `nbf` reached, each with `leeway` seconds.

    Raises:
        TokenExpiredError, TokenClaimError.
    """
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise TokenClaimError("exp is missing or not a number")
    if now > exp + leeway:
        raise TokenExpiredError("the token has expired")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise TokenClaimError("iat is missing or not a number")
    if iat > now + leeway:
        raise TokenClaimError("iat is in the future")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int) or nbf > now + leeway):
        raise TokenClaimError("the token is not valid yet")


class TokenVerifier:
    """Verifies RS256 JWTs of one issuer and one app client.

    Args:
        issuers: accepted `iss` values.
        client_id: the app client: `aud` of ID tokens, `client_id` of access tokens.
        jwks: where the signing keys come from.
        leeway_seconds: clock skew allowed on `exp` and `iat`.
    """

    def __init__(
        self,
        *,
        issuers: Sequence[str],
        client_id: str,
        jwks: JwksCache,
        leeway_seconds: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuers or not client_id:
            raise ValueError("a verifier needs its issuers and its client id")
        self.issuers = frozenset(issuers)
        self.client_id = client_id
        self.jwks = jwks
        self.leeway = leeway_seconds
        self._clock = clock

    def verify(self, token: str, token_uses: Collection[TokenUse]) -> Claims:
        """Return the claims of a valid token whose `token_use` is one of `token_uses`.

        Raises:
            TokenError: the subclass names the check that failed.
        """
        claims = verify_signature(token, self.jwks)
        self._check_claims(claims, token_uses)
        return claims

    def _check_claims(self, claims: dict[str, Any], token_uses: Collection[TokenUse]) -> None:
        check_times(claims, self._clock(), self.leeway)
        if claims.get("iss") not in self.issuers:
            raise TokenClaimError("unexpected iss")
        token_use = claims.get("token_use")
        if token_use not in token_uses:
            raise TokenClaimError(f"token_use {str(token_use)[:10]!r} is not accepted here")
        if token_use == "id" and claims.get("aud") != self.client_id:
            raise TokenClaimError("aud is not this app client")
        if token_use == "access" and claims.get("client_id") != self.client_id:
            raise TokenClaimError("client_id is not this app client")
        if not isinstance(claims.get("sub"), str) or not isinstance(username_of(claims), str):
            raise TokenClaimError("sub or username is missing")


class VerifiedTokenCache:
    """Recently verified tokens, so a token is verified once, not per request.

    Keeps the token's `TokenSubject` (its claims, and what the app reads of them), keyed by
    the token and the uses it was accepted for; bounded, oldest out first; an entry is
    only returned until the token's `exp`. Whether the user still exists and is signed in
    is checked on every request by the caller, not cached here.
    """

    def __init__(
        self, maxsize: int = 4096, *, leeway_seconds: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries: OrderedDict[tuple[str, tuple[TokenUse, ...]], TokenSubject] = (
            OrderedDict()
        )
        self._maxsize = maxsize
        self._leeway = leeway_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, token: str, token_uses: tuple[TokenUse, ...]) -> TokenSubject | None:
        key = (token, token_uses)
        subject = self._entries.get(key)
        if subject is None:
            return None
        if self._clock() > subject.claims["exp"] + self._leeway:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return subject

    def put(self, token: str, token_uses: tuple[TokenUse, ...], subject: TokenSubject) -> None:
        with self._lock:
            self._entries[(token, token_uses)] = subject
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class CachingVerifier:
    """A `TokenVerifier` behind a `VerifiedTokenCache`."""

    def __init__(self, verifier: TokenVerifier, cache: VerifiedTokenCache | None = None) -> None:
        self.verifier = verifier
        # Not `cache or ...`: an empty cache is falsy, and would be replaced.
        self.cache = cache if cache is not None else VerifiedTokenCache(
            leeway_seconds=verifier.leeway)

    def subject(self, token: str, token_uses: tuple[TokenUse, ...]) -> TokenSubject:
        """The subject of a valid token, verified the first time it is seen."""
        subject = self.cache.get(token, token_uses)
        if subject is None:
            subject = subject_of(self.verifier.verify(token, token_uses))
            self.cache.put(token, token_uses, subject)
        return subject

    def verify(self, token: str, token_uses: tuple[TokenUse, ...]) -> Claims:
        return self.subject(token, token_uses).claims
