"""One federated sign-in in flight: its secrets, and the cookie that carries them.

The flow's state, nonce, PKCE verifier, provider and `redirect_to` travel in one cookie,
sealed with AES-GCM (encrypted and authenticated) under a key only the server holds: the
verifier must stay secret until the token request, and a cookie the browser could edit
would let anyone choose the state or the page a sign-in lands on. The expiry is inside the
sealed value too, so a cookie kept past its Max-Age is refused all the same.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import NamedTuple

from app.errors import ExpiredCodeError, NotAuthorizedError

FLOW_COOKIE = "oauth_flow"
FLOW_MAX_AGE_SECONDS = 600
_VERSION = "v1"
# Binds a sealed value to its use: the same key sealing anything else cannot be replayed here.
_ASSOCIATED_DATA = f"authgate {FLOW_COOKIE} {_VERSION}".encode()
_NONCE_BYTES = 12


class FlowState(NamedTuple):
    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_to: str
    expires_at: int

    @property
    def code_challenge(self) -> str:
        """PKCE S256: base64url(SHA-256(verifier)), unpadded (RFC 7636 §4.2)."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def derive_flow_key(secret: bytes) -> bytes:
    """A 256-bit key for flow cookies from a longer-lived secret, for this use only (HKDF)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"authgate federated sign-in flow"
    ).derive(secret)


class FlowSealer:
    """Starts flows and seals them into, and opens them from, the flow cookie's value.

    Args:
        key: 32 bytes (`derive_flow_key`).
        max_age_seconds: how long a flow may take, from the redirect to the callback.
        clock: wall-clock seconds; tests step it past the expiry.
    """

    def __init__(
        self, key: bytes, *, max_age_seconds: int = FLOW_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # cryptography is imported here, not with the module: the router imports this one,
        # and a cold start that serves no federated sign-in should not load it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != 32:
            raise ValueError("a flow key is 32 bytes")
        if not 0 < max_age_seconds <= FLOW_MAX_AGE_SECONDS:
            raise ValueError(f"a flow lasts at most {FLOW_MAX_AGE_SECONDS} seconds")
        self._aead = AESGCM(key)
        self.max_age_seconds = max_age_seconds
        self._clock = clock

    def start(self, provider: str, redirect_to: str) -> FlowState:
        """A new flow: fresh random state, nonce and PKCE verifier (86 characters)."""
        return FlowState(
            provider=provider,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
            redirect_to=redirect_to,
            expires_at=int(self._clock()) + self.max_age_seconds,
        )

    def seal(self, flow: FlowState) -> str:
        plain = json.dumps(flow._asdict(), separators=(",", ":")).encode()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, _ASSOCIATED_DATA)
        return f"{_VERSION}.{base64.urlsafe_b64encode(sealed).rstrip(b'=').decode()}"

    def open(self, value: str) -> FlowState:
        """The flow sealed in `value`, if this server sealed it and it has not expired.

        Raises:
            NotAuthorizedError: not sealed by this key (tampered, or from another server).
            ExpiredCodeError: sealed here, but older than the flow's lifetime.
        """
        from cryptography.exceptions import InvalidTag

        version, _, body = value.partition(".")
        try:
            if version != _VERSION or len(body) > 4096:
                raise ValueError("unknown version or oversized")
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _ASSOCIATED_DATA
            )
            flow = FlowState(**json.loads(plain))
        except (ValueError, TypeError, binascii.Error, InvalidTag) as exc:
            raise NotAuthorizedError(
                "The sign-in could not be completed: its flow cookie is not valid. Try again."
            ) from exc
        if self._clock() > flow.expires_at:
            raise ExpiredCodeError("The sign-in took too long and has expired. Try again.")
        return flow
