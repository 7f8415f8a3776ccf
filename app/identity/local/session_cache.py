"""A per-process cache of session checks that every process can invalidate at once.

Checking a session is one SQLite read; at thousands of requests a second that read is
most of what `/protected` costs. Answers are kept in memory for at most the TTL, and
any change that could turn an answer from yes to no (a sign-out, a disabled or deleted
user, a new password) replaces a marker file in the pool directory. Replacing it makes
a new inode, so one `stat` per request tells every process whether its answers still
hold: a sign-out takes effect at once everywhere, not after the TTL.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Value = TypeVar("Value")
Stamp = tuple[int, int] | None


class SessionCheckCache(Generic[Value]):
    def __init__(
        self, marker: Path, *, ttl_seconds: float, maxsize: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._marker = marker
        self._ttl = ttl_seconds
        self._maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Value]] = OrderedDict()
        self._seen: Stamp = None
        self._lock = threading.Lock()

    def _stamp(self) -> Stamp:
        try:
            status = os.stat(self._marker)
        except FileNotFoundError:
            return None
        return (status.st_ino, status.st_mtime_ns)

    def get(self, key: str) -> Value | None:
        if self._ttl <= 0:
            return None
        stamp = self._stamp()
        if stamp != self._seen:
            with self._lock:
                self._entries.clear()
                self._seen = stamp
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def put(self, key: str, value: Value, stamp: Stamp) -> None:
        """Keep an answer read while the marker was `stamp` (taken before the read)."""
        if self._ttl <= 0 or stamp != self._seen:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def current_stamp(self) -> Stamp:
        return self._stamp()

    def invalidate(self) -> None:
        """Tell every process (this one included) that its answers may be wrong now."""
        with self._lock:
            self._entries.clear()
        temporary = self._marker.with_name(f".{self._marker.name}.{secrets.token_hex(6)}")
        try:
            temporary.write_bytes(secrets.token_bytes(8))
            os.replace(temporary, self._marker)
        except OSError as exc:
            # The change is committed; other processes see it when their answers expire.
            temporary.unlink(missing_ok=True)
            log.error("other server processes were not told of a sign-out; they learn of it "
                      "within USER_CHECK_TTL_SECONDS", extra={"reason": exc.strerror})
