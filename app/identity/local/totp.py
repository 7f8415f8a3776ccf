"""TOTP for the embedded pool: 160-bit secrets sealed at rest, codes used once.

A secret is encrypted (AES-GCM, a key derived from the pool secret) before it is stored,
so a copy of the database alone does not hand out second factors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import TYPE_CHECKING

import pyotp

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP_SECONDS = 30
SECRET_BYTES = 20  # 160 bits, as Cognito's.


class TotpCodes:
    def __init__(self, pool_secret: bytes) -> None:
        self._key = hmac.new(pool_secret, b"totp-secret-seal", hashlib.sha256).digest()

    def _aead(self) -> AESGCM:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._key)

    def seal(self, secret: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead().encrypt(nonce, secret.encode(), b"totp")
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return str(self._aead().decrypt(raw[:12], raw[12:], b"totp").decode())

    def new_secret(self) -> tuple[str, str]:
        """A fresh base32 secret, and its sealed form for the database."""
        secret = base64.b32encode(os.urandom(SECRET_BYTES)).decode().rstrip("=")
        return secret, self.seal(secret)

    def match(self, sealed: str, code: str, now: float, *, after_step: int) -> int | None:
        """The time step `code` belongs to (now, one before or one after), if not used yet.

        Only steps later than `after_step` count, so each code works once per user.
        """
        if len(code) != 6 or not (code.isascii() and code.isdigit()):  # not "١٢٣٤٥٦"
            return None
        totp = pyotp.TOTP(self.unseal(sealed), interval=STEP_SECONDS)
        current = int(now // STEP_SECONDS)
        for step in (current - 1, current, current + 1):
            if step > after_step and hmac.compare_digest(
                totp.generate_otp(step), code
            ):
                return step
        return None
