"""A per-process cache of session checks that every process can invalidate at once.

Checking a session is one SQLite read; at thousands of requests a second that read is
most of what `/protected` costs. Answers are kept in memory for at most the TTL, and any
change that could turn an answer from yes to no (a sign-out, a disabled or deleted user,
a new password) writes a new random value into an 8-byte file in the pool directory.
Every process maps that file into memory (shared, so all see the same page), and reads
it on each request: a sign-out takes effect at once everywhere, for the cost of a memory
read rather than a system call.

A random value, not a counter: two processes invalidating at once never write the same
value, so no reader can miss the second change. A torn read only looks like a change.
"""

from __future__ import annotations

import logging
import mmap
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
_SIZE = 8


class _SharedStamp:
    """An 8-byte value in a file, mapped into this process and shared with the others."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._map: mmap.mmap | None = None

    def _mapped(self) -> mmap.mmap | None:
        if self._map is None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    if os.fstat(fd).st_size < _SIZE:
                        os.ftruncate(fd, _SIZE)
                    self._map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED)
                finally:
                    os.close(fd)  # the mapping keeps the file
            except OSError as exc:
                log.error("the sign-out marker cannot be mapped; session checks are not "
                          "cached", extra={"reason": exc.strerror})
                return None
        return self._map

    def read(self) -> bytes | None:
        mapped = self._map if self._map is not None else self._mapped()
        return mapped[:_SIZE] if mapped is not None else None

    def change(self) -> None:
        mapped = self._mapped()
        if mapped is not None:
            mapped[:_SIZE] = secrets.token_bytes(_SIZE)


class SessionCheckCache(Generic[Value]):
    def __init__(
        self, marker: Path, *, ttl_seconds: float, maxsize: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stamp = _SharedStamp(marker)
        self._ttl = ttl_seconds
        self._maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Value]] = OrderedDict()
        self._seen: bytes | None = None
        self._lock = threading.Lock()

    def get(self, key: str) -> Value | None:
        if self._ttl <= 0:
            return None
        stamp = self._stamp.read()
        if stamp is None:
            return None
        if stamp != self._seen:
            with self._lock:
                self._entries.clear()
                self._seen = stamp
            return None
        entry = self._entries.get(key)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def current_stamp(self) -> bytes | None:
        return self._stamp.read()

    def put(self, key: str, value: Value, stamp: bytes | None) -> None:
        """Keep an answer read while the marker was `stamp` (taken before the read)."""
        if self._ttl <= 0 or stamp is None or stamp != self._seen:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        """Tell every process (this one included) that its answers may be wrong now."""
        with self._lock:
            self._entries.clear()
        self._stamp.change()
