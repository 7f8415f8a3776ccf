"""One-time codes: 6 digits, stored as HMACs, with an expiry and a limit on wrong tries.

A wrong try is counted in the same transaction that reads the code, so concurrent guesses
cannot exceed the limit; the caller raises only after that transaction has committed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import sqlite3
from typing import Final

MAX_WRONG_TRIES: Final = 5

# Lifetimes, as Cognito's: a sign-up code lasts 24 hours, a reset code 1 hour.
TTL_SECONDS: Final = {
    "signup": 24 * 3600,
    "reset": 3600,
    "verify_email": 24 * 3600,
    "verify_phone_number": 24 * 3600,
    "sms_mfa": 180,
}


class CodeCheck(enum.Enum):
    OK = "ok"
    MISMATCH = "mismatch"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    MISSING = "missing"  # no code of that purpose waits for the user


class CodeBook:
    """Issues and checks codes inside the caller's write transaction."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _digest(self, user_sub: str, purpose: str, code: str) -> str:
        message = f"{purpose}:{user_sub}:{code}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue(self, conn: sqlite3.Connection, user_sub: str, purpose: str, now: float) -> str:
        """Replace any code of this purpose with a new one and return it (for delivery)."""
        code = f"{secrets.randbelow(1_000_000):06d}"
        conn.execute(
            "INSERT OR REPLACE INTO codes (user_sub, purpose, code_hash, expires_at, attempts) "
            "VALUES (?, ?, ?, ?, 0)",
            (user_sub, purpose, self._digest(user_sub, purpose, code), now + TTL_SECONDS[purpose]),
        )
        return code

    def check(
        self, conn: sqlite3.Connection, user_sub: str, purpose: str, code: str, now: float
    ) -> CodeCheck:
        """Compare a code; a wrong one is counted, a right one is left for `consume`.

        Leaving a right code in place lets the caller refuse what comes with it (a new
        password that breaks the policy) without using the code up.
        """
        row = conn.execute(
            "SELECT code_hash, expires_at, attempts FROM codes WHERE user_sub = ? AND purpose = ?",
            (user_sub, purpose),
        ).fetchone()
        if row is None:
            return CodeCheck.MISSING
        if row["attempts"] >= MAX_WRONG_TRIES:
            return CodeCheck.EXHAUSTED
        if hmac.compare_digest(row["code_hash"], self._digest(user_sub, purpose, code)):
            return CodeCheck.EXPIRED if row["expires_at"] < now else CodeCheck.OK
        conn.execute(
            "UPDATE codes SET attempts = attempts + 1 WHERE user_sub = ? AND purpose = ?",
            (user_sub, purpose),
        )
        return CodeCheck.MISMATCH

    @staticmethod
    def consume(conn: sqlite3.Connection, user_sub: str, purpose: str) -> None:
        conn.execute("DELETE FROM codes WHERE user_sub = ? AND purpose = ?", (user_sub, purpose))
