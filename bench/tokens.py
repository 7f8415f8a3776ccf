"""(a) Verifying a first-seen token, against a raw RSA verify of the same signing input.

    python bench/tokens.py

The verifier parses each JWK once; python-jose re-parsing the JWK on every call is
printed too, for scale. "First-seen": the verified-token cache is not used here.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from jose import jwt

from app.tokens.jwks import JwksCache
from app.tokens.verifier import TokenVerifier
from bench.report import table, timed, verdict
from tests.support.jwt import SigningKey, cognito_claims

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_bench"


def main() -> None:
    key = SigningKey()
    token = key.sign(cognito_claims(issuer=ISSUER, client_id="client"))
    signing_input, _, signature_b64 = token.rpartition(".")
    import base64

    signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    public = key.private.public_key()
    verifier = TokenVerifier(issuers=[ISSUER], client_id="client",
                             jwks=JwksCache(preload=key.jwks))

    def raw() -> None:
        public.verify(signature, signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())

    def ours() -> None:
        verifier.verify(token, ("id",))

    def jose_reparsing() -> None:
        jwt.decode(token, key.jwks, algorithms=["RS256"], audience="client", issuer=ISSUER)

    baseline = timed(raw, number=500)
    mine = timed(ours, number=500)
    naive = timed(jose_reparsing, number=200)
    ratio = mine / baseline
    table("(a) token verification, first-seen token", [
        ("raw cryptography RSA verify", f"{baseline * 1e6:8.1f} us  (baseline)"),
        ("TokenVerifier.verify",
         f"{mine * 1e6:8.1f} us  {ratio:.2f}x  {verdict(ratio, 2.5, at_most=True)}"),
        ("python-jose, JWK parsed per call",
         f"{naive * 1e6:8.1f} us  {naive / baseline:.2f}x  (for scale)"),
    ])


if __name__ == "__main__":
    main()
