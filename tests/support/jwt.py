"""Signing test tokens with keys generated in the test (aws-jwt-verify's recipe)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.identity.local.keys import rfc7638_thumbprint


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class SigningKey:
    """An RSA key with its public JWK and a way to sign arbitrary headers and claims."""

    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str | None = None

    def __post_init__(self) -> None:
        numbers = self.private.public_key().public_numbers()

        def encode(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        self.jwk: dict[str, str] = {"kty": "RSA", "e": encode(numbers.e), "n": encode(numbers.n)}
        self.kid = self.kid or rfc7638_thumbprint(self.jwk)
        self.jwk = {**self.jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self.jwk]}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        header = header if header is not None else {"alg": "RS256", "kid": self.kid}
        signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
        signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{b64url(signature)}"


def hs256(claims: dict[str, Any], secret: bytes, kid: str | None) -> str:
    """A token signed with HMAC: the classic confusion attack uses the public key as secret."""
    header = {"alg": "HS256", "kid": kid}
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64url(signature)}"


def cognito_claims(
    *, issuer: str, client_id: str, token_use: str = "id", username: str = "alice",
    expires_in: int = 3600, issued_at: float | None = None, **extra: Any,
) -> dict[str, Any]:
    now = int(issued_at if issued_at is not None else time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()), "iss": issuer, "token_use": token_use,
        "iat": now, "auth_time": now, "exp": now + expires_in, "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
    }
    if token_use == "id":
        claims |= {"aud": client_id, "cognito:username": username}
    else:
        claims |= {"client_id": client_id, "username": username}
    return claims | extra
