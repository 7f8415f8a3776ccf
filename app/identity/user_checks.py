"""What a remote user pool backend remembers between requests: recent user lookups, and
the sign-outs this process made.

Cognito's ID tokens cannot be revoked: after a global sign-out they still verify until
they expire, and `AdminGetUser` still shows an enabled user. Only the process that made
the sign-out knows of it, so it keeps a record (`SignOutLedger`) and refuses older tokens
at once; a lookup cache (`UserCheckCache`) saves an `AdminGetUser` per request for at most
`USER_CHECK_TTL_SECONDS`. Both are bounded: a flood of users cannot grow them without end.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from app.identity.provider import TokenSubject, UserRecord

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAXSIZE = 10_000


class BoundedMap(Generic[K, V]):
    """A thread-safe mapping that forgets its least recently written entries past `maxsize`."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class SignOutLedger:
    """Sign-outs made by this process, so that tokens issued before them are refused at once.

    A token is signed out when its session (`origin_jti`) was, or when its user signed out
    globally after it was issued. `iat` has one-second resolution, so a token issued in the
    same second as the sign-out is refused too, unless this process issued it afterwards
    (a user who signs out and straight back in keeps the new session).

    Args:
        clock: wall-clock seconds, the scale of `iat`.
    """

    def __init__(
        self, maxsize: int = DEFAULT_MAXSIZE, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._sessions: BoundedMap[str, float] = BoundedMap(maxsize)
        self._users: BoundedMap[str, float] = BoundedMap(maxsize)
        self._issued: BoundedMap[str, float] = BoundedMap(maxsize)

    def record_sign_out(self, username: str, origin_jti: str | None = None) -> None:
        now = self._clock()
        self._users.put(username, now)
        if origin_jti:
            self._sessions.put(origin_jti, now)

    def record_issued(self, origin_jti: str | None) -> None:
        """A session this process just started (sign-in, challenge answer, refresh)."""
        if origin_jti:
            self._issued.put(origin_jti, self._clock())

    def is_signed_out(self, subject: TokenSubject) -> bool:
        if subject.origin_jti and self._sessions.get(subject.origin_jti) is not None:
            return True
        signed_out_at = self._users.get(subject.username)
        if signed_out_at is None or subject.issued_at > signed_out_at:
            return False
        issued_here = self._issued.get(subject.origin_jti) if subject.origin_jti else None
        return issued_here is None or issued_here <= signed_out_at


class UserCheckCache:
    """Users recently found fit to sign in, for at most `ttl_seconds` (0 keeps nothing).

    Args:
        ttl_seconds: how long a lookup may stand in for a fresh one.
        clock: seconds; tests pass their own to step over the TTL without sleeping.
    """

    def __init__(
        self,
        ttl_seconds: float,
        maxsize: int = DEFAULT_MAXSIZE,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: BoundedMap[str, tuple[float, UserRecord]] = BoundedMap(maxsize)

    def get(self, username: str) -> UserRecord | None:
        if self.ttl_seconds <= 0:
            return None
        entry = self._entries.get(username)
        if entry is None:
            return None
        fetched_at, record = entry
        if self._clock() - fetched_at >= self.ttl_seconds:
            self._entries.pop(username)
            return None
        return record

    def put(self, username: str, record: UserRecord) -> None:
        if self.ttl_seconds > 0:
            self._entries.put(username, (self._clock(), record))

    def invalidate(self, username: str) -> None:
        self._entries.pop(username)
