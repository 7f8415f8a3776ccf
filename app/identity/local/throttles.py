"""The embedded pool's throttles. A name that belongs to an account is counted as that
account (its `sub`), whether the username or the email was typed; a name that does not
keeps a count of its own, so an unknown name meets the same limits as a real one and
answers give nothing away.

`SignInLockout`: from the sixth failed sign-in a lock of 1 s, doubling up to 15 minutes,
as Cognito does; forgotten an hour after the last failure or at the next success. MFA
codes have a count of their own per account (a right password must not reset it).
`CodeSendLimit`: at most five codes of each kind an hour (Cognito's LimitExceeded).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import TooManyFailedAttemptsError
from app.identity.local.codes import MAX_WRONG_TRIES
from app.identity.local.names import subject_key
from app.storage import SqliteStore

log = logging.getLogger(__name__)

LOCKOUT_FREE_FAILURES = 5  # Cognito locks out from the sixth failure on,
LOCKOUT_MAX_SECONDS = 900  # doubling from 1 s up to about 15 minutes.
LOCKOUT_FORGET_SECONDS = 3600
CODE_SENDS_PER_HOUR = 5


class SignInLockout:
    # Attempts on one account run one at a time in this process (a stripe of locks, so
    # memory stays fixed): a right password is cleared before the next attempt counts, so
    # concurrent sign-ins of one user never lock it out.
    _STRIPES = 64

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._stripes = [threading.Lock() for _ in range(self._STRIPES)]

    @contextmanager
    def attempt(self, name: str, now: float) -> Iterator[int]:
        """Count an attempt for `name` as failed before it is checked; yields the count.

        The lock is checked and the attempt counted in one transaction, before the caller
        checks the password or code, so concurrent guesses (from other processes too) cannot
        all pass a check made before any of them had failed. On success the caller takes the
        count back with `clear`, inside the `with`.

        Raises:
            TooManyFailedAttemptsError: `name` is locked (with Retry-After).
        """
        with self._stripes[hash(subject_key(name)) % self._STRIPES]:
            yield self._count(name, now)

    def _count(self, name: str, now: float) -> int:
        subject = subject_key(name)
        with self._store.write() as conn:
            row = conn.execute(
                "SELECT failures, locked_until, last_failure_at FROM sign_in_failures "
                "WHERE subject_key = ?",
                (subject,),
            ).fetchone()
            if row is not None and row["locked_until"] > now:
                raise TooManyFailedAttemptsError(
                    "Too many failed attempts. Wait before trying again.",
                    retry_after=math.ceil(row["locked_until"] - now),
                )
            failures = 1
            if row is not None and now - row["last_failure_at"] < LOCKOUT_FORGET_SECONDS:
                failures = row["failures"] + 1
            lock = 0.0
            if failures > LOCKOUT_FREE_FAILURES:
                lock = min(2.0 ** (failures - LOCKOUT_FREE_FAILURES - 1), LOCKOUT_MAX_SECONDS)
            conn.execute(
                "INSERT OR REPLACE INTO sign_in_failures VALUES (?, ?, ?, ?)",
                (subject, failures, now + lock, now),
            )
        return failures

    @staticmethod
    def clear(conn: sqlite3.Connection, name: str) -> None:
        """Forget the failures of `name`, inside the caller's transaction."""
        conn.execute("DELETE FROM sign_in_failures WHERE subject_key = ?", (subject_key(name),))


def _spend(conn: sqlite3.Connection, name: str, action: str, now: float, allowance: int) -> bool:
    """Record one `action` for `name` unless `allowance` of them were recorded in the last
    hour, inside the caller's transaction; whether it was recorded."""
    subject = subject_key(name)
    conn.execute("DELETE FROM action_log WHERE at < ?", (now - 3600,))
    (done,) = conn.execute(
        "SELECT COUNT(*) FROM action_log WHERE subject_key = ? AND action = ?",
        (subject, action),
    ).fetchone()
    if done >= allowance:
        return False
    conn.execute(
        "INSERT INTO action_log (subject_key, action, at) VALUES (?, ?, ?)",
        (subject, action, now),
    )
    return True


class CodeSendLimit:
    @staticmethod
    def allow(conn: sqlite3.Connection, name: str, action: str, now: float) -> bool:
        """Count one code sent for `name`, inside the caller's transaction; False once the
        hour's allowance is spent."""
        return _spend(conn, name, action, now, CODE_SENDS_PER_HOUR)


class StandInCodeTries:
    """Wrong codes typed for a name that no code waits for (no such user, or one past that
    step), counted as a real code's tries are: the sixth answers TooManyFailedAttempts, and
    a code sent again (a decoy) starts the count over. Otherwise only real accounts would
    ever answer 429, which would tell them apart."""

    @staticmethod
    def wrong(conn: sqlite3.Connection, name: str, purpose: str, now: float) -> bool:
        """Count one wrong try, inside the caller's transaction; True once they are used up."""
        return not _spend(conn, name, f"wrong_{purpose}", now, MAX_WRONG_TRIES)

    @staticmethod
    def forget(conn: sqlite3.Connection, name: str, purpose: str) -> None:
        conn.execute("DELETE FROM action_log WHERE subject_key = ? AND action = ?",
                     (subject_key(name), f"wrong_{purpose}"))
