"""Password policy, the common-password list, and Argon2id hashing.

Hashing parameters: Argon2id, 19 MiB, 2 passes, 1 lane, the first of OWASP's equivalent
settings (Password Storage Cheat Sheet). `bench/hashing.py` times all five and
argon2-cffi's 64 MiB default here: the lower-memory equivalents are 15-30% faster but
trade away memory, which is what makes Argon2 costly on GPUs; 46 MiB with one pass costs
2.3 times as much and 64 MiB almost 5 times. At about 20 ms a hash a core signs in 50
users a second, and at most `HASHING_CONCURRENCY` hashes run at once, so a burst of
sign-ins queues instead of asking for 19 MiB times the thread pool.
"""

from __future__ import annotations

import os
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import InvalidPasswordError

ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
HASHING_CONCURRENCY = max(2, (os.cpu_count() or 1) * 2)

_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


@dataclass(frozen=True)
class PasswordPolicy:
    """Cognito's password policy; the defaults are Cognito's defaults."""

    min_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True

    def check(self, password: str) -> None:
        """Raise `InvalidPasswordError` naming the first rule the password breaks."""
        rules = (
            (len(password) >= self.min_length,
             f"must be at least {self.min_length} characters long"),
            (len(password) <= 256, "must be at most 256 characters long"),
            (not self.require_uppercase or any(c.isupper() for c in password),
             "must contain an uppercase letter"),
            (not self.require_lowercase or any(c.islower() for c in password),
             "must contain a lowercase letter"),
            (not self.require_numbers or any(c in string.digits for c in password),
             "must contain a number"),
            (not self.require_symbols or any(c in _SYMBOLS for c in password),
             "must contain a symbol"),
        )
        for holds, rule in rules:
            if not holds:
                raise InvalidPasswordError(f"Password does not conform to policy: Password {rule}.")
        if is_common_password(password):
            raise InvalidPasswordError(
                "Password does not conform to policy: Password is in a list of common or "
                "breached passwords (ignoring case, and digits, symbols or look-alike "
                "characters such as @ for a added). Choose another."
            )


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn's list of the 30,000 most frequent passwords from public breaches, loaded on
    # first use (about 50 ms) so that importing the app stays fast.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


_SYMBOL_TEXT = "".join(sorted(_SYMBOLS))
# Look-alike characters put in for letters ("p@ssw0rd"), read back as the letters.
_LOOK_ALIKES = str.maketrans("@4310$5!7", "aaeiossit")


def is_common_password(password: str) -> bool:
    """Whether the password is one of the list, ignoring case, look-alike characters and
    digits or symbols added at either end: "Password1!" and "P@ssw0rd" are "password" with
    what a policy asks for added, and the first guesses of any cracker."""
    lowered = password.lower()
    bases = {lowered, lowered.strip(_SYMBOL_TEXT), lowered.strip(_SYMBOL_TEXT + string.digits)}
    candidates = bases | {base.translate(_LOOK_ALIKES) for base in bases}
    common = _common_passwords()
    # Three characters at least: a lone letter or two at the core is no word of the list.
    return any(len(candidate) >= 3 and candidate in common for candidate in candidates)


class PasswordHashing:
    """Argon2id hashes, computed on a few threads of their own.

    Not on whichever thread asks: glibc gives each thread that allocates its own arena,
    and an arena keeps the 19 MiB of a freed hash for the next one. Hashed across the
    forty threads of the request pool, that held 700 MB after a three-minute soak
    (bench/soak.py); on `HASHING_CONCURRENCY` threads it stays flat, and a burst of
    sign-ins queues instead of asking for more memory.
    """

    def __init__(
        self,
        time_cost: int = ARGON2_TIME_COST,
        memory_kib: int = ARGON2_MEMORY_KIB,
        parallelism: int = ARGON2_PARALLELISM,
        concurrency: int = HASHING_CONCURRENCY,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._workers = ThreadPoolExecutor(max_workers=concurrency,
                                           thread_name_prefix="argon2")

    def hash(self, password: str) -> str:
        return self._workers.submit(self._hasher.hash, password).result()

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; with no hash, spend the same time and answer False.

        An unknown user still costs one hash, so the time of an answer says nothing about
        whether the user exists.
        """
        stored = password_hash or self._decoy_hash
        try:
            matched = self._workers.submit(self._hasher.verify, stored, password).result()
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @cached_property
    def _decoy_hash(self) -> str:
        # A hash of a random value nobody knows, with the current parameters.
        return self.hash(os.urandom(16).hex())
