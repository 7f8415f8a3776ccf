"""The embedded pool's secrets: its RSA signing key and a random secret for HMACs.

Both are created on first start and kept in the pool directory with mode 0600. Several
processes may start at once, so a file is written under a temporary name and linked into
place: `link` fails if another process won the race, and then its file is used.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jose.backends.base import Key

SIGNING_KEY_FILE = "signing-key.pem"
SECRET_FILE = "pool-secret"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def rfc7638_thumbprint(jwk: dict[str, Any]) -> str:
    """The key's RFC 7638 thumbprint: SHA-256 over its required members, in order."""
    required = {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def write_secret_file(path: Path, content: bytes) -> bytes:
    """Create `path` with `content` (mode 0600) unless it exists; return what it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_bytes()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # If another process won the race, its file is kept and read below.
        with suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


class PoolKeys:
    """The signing key (as a python-jose key, parsed once) and the pool secret."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @cached_property
    def _private_pem(self) -> bytes:
        path = self.directory / SIGNING_KEY_FILE
        if path.exists():
            return path.read_bytes()
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return write_secret_file(path, pem)

    @cached_property
    def signing_key(self) -> Key:
        from jose import jwk

        return jwk.construct(self._private_pem.decode(), "RS256")

    @cached_property
    def public_jwk(self) -> dict[str, str]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private = serialization.load_pem_private_key(self._private_pem, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        numbers = private.public_key().public_numbers()
        jwk = {"kty": "RSA", "e": _int_b64url(numbers.e), "n": _int_b64url(numbers.n)}
        return {"alg": "RS256", "kid": rfc7638_thumbprint(jwk), "use": "sig", **jwk}

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.public_jwk]}

    @cached_property
    def secret(self) -> bytes:
        return write_secret_file(self.directory / SECRET_FILE, secrets.token_bytes(32))
