"""(d) Sign-in latency and sign-ins per second per core, with the chosen Argon2id settings.

    python bench/hashing.py

Each of OWASP's recommended Argon2id settings (and argon2-cffi's 64 MiB default) is timed
verifying a password; the chosen one is then timed inside a whole sign-in on the embedded
pool (lockout check, lookup, verify, session, two signed tokens). Ratios are against the
chosen setting, measured in the same run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher

from app.identity.local.mailer import ConsoleMailer
from app.identity.local.passwords import (
    ARGON2_MEMORY_KIB,
    ARGON2_PARALLELISM,
    ARGON2_TIME_COST,
)
from app.identity.local.provider import LocalIdentityProvider
from app.identity.provider import UserAttributes
from bench.report import table, timed

PASSWORD = "Correct-Horse-7-Battery"
# (memory KiB, passes, lanes): OWASP's five equivalent settings, then argon2-cffi's default.
SETTINGS = [(47104, 1, 1), (19456, 2, 1), (12288, 3, 1), (9216, 4, 1), (7168, 5, 1),
            (65536, 3, 4)]


def main() -> None:
    chosen = (ARGON2_MEMORY_KIB, ARGON2_TIME_COST, ARGON2_PARALLELISM)
    results = {}
    for memory, passes, lanes in SETTINGS:
        hasher = PasswordHasher(time_cost=passes, memory_cost=memory, parallelism=lanes)
        stored = hasher.hash(PASSWORD)
        results[(memory, passes, lanes)] = timed(
            lambda hasher=hasher, stored=stored: hasher.verify(stored, PASSWORD),
            repeat=5, number=5,
        )
    baseline = results[chosen]
    table("(d) Argon2id settings, one verification", [
        (f"m={m // 1024} MiB t={t} p={p}" + ("  (chosen)" if (m, t, p) == chosen else ""),
         f"{seconds * 1000:6.1f} ms  {seconds / baseline:.2f}x")
        for (m, t, p), seconds in results.items()
    ])

    with tempfile.TemporaryDirectory() as directory:
        pool = LocalIdentityProvider(Path(directory), issuer="http://bench", mailer=_Quiet())
        pool.sign_up("bench", PASSWORD, UserAttributes(email="bench@example.com"))
        pool.admin_confirm_sign_up("bench")
        pool.initiate_auth("bench", PASSWORD)  # keys, client id, first connection
        count = 40
        started = time.perf_counter()
        for _ in range(count):
            pool.initiate_auth("bench", PASSWORD)
        per_sign_in = (time.perf_counter() - started) / count
    table("(d) a whole sign-in on the embedded pool, one core", [
        ("latency", f"{per_sign_in * 1000:6.1f} ms  ({per_sign_in / baseline:.2f}x the hash)"),
        ("sign-ins per second per core", f"{1 / per_sign_in:6.1f}"),
    ])


class _Quiet(ConsoleMailer):
    def send(self, message: object) -> None:  # type: ignore[override]
        pass


if __name__ == "__main__":
    main()
