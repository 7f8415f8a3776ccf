"""API Gateway's limits, in process: token buckets for throttles, leased quotas, usage counts.

Throttle: a bucket holds up to `burst_limit` tokens and refills at `rate_limit` a second;
a request takes one token or is refused. It starts full, so a client may spend the burst
at once, then `rate_limit` a second.

Quota: counted per UTC period (DAY, WEEK from `offset` days after Sunday, MONTH from day
`offset + 1`). Writing every request to disk would cost more than the request, so a
process reserves a small block of the quota in one transaction and spends it from memory.
The reservation is on disk: several processes never admit more than the quota together,
and a restart finds the quota spent. Blocks not spent are given back at a clean shutdown;
after a crash they stay counted, so a crash can only under-admit, never over-admit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from app.usage.keys import KeyStore
from app.usage.plans import Quota, Throttle


class WouldBlock(Exception):
    """The answer needs the key store (a key reload, a new quota reservation, a usage
    flush): ask again with `blocking=True`, off the event loop. Raised before anything
    was counted."""


class TokenBucket:
    __slots__ = ("_capacity", "_rate", "_tokens", "_updated")

    def __init__(self, throttle: Throttle, now: float) -> None:
        self._capacity = float(throttle.burst_limit)
        self._rate = float(throttle.rate_limit)
        self._tokens = self._capacity
        self._updated = now

    def has_token(self, now: float) -> bool:
        """Refill for the time since the last call, then say whether a token is there."""
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now
        return self._tokens >= 1.0

    def take(self) -> None:
        self._tokens -= 1.0

    def give_back(self) -> None:
        self._tokens += 1.0


def period_start(quota: Quota, now: datetime | date) -> date:
    """The first UTC day of the quota period that `now` (or the UTC day `now`) falls in."""
    today = now.astimezone(UTC).date() if isinstance(now, datetime) else now
    period, offset = quota.period, quota.offset
    if period == "DAY":
        return today
    if period == "WEEK":
        # date.weekday(): Monday is 0; API Gateway's offset 0 is Sunday.
        days_since_sunday = (today.weekday() + 1) % 7
        return today - timedelta(days=(days_since_sunday - offset) % 7)
    start_day = offset + 1
    if today.day >= start_day:
        return today.replace(day=start_day)
    previous = today.replace(day=1) - timedelta(days=1)
    return previous.replace(day=start_day)


class QuotaLedger:
    """Spends quotas from reservations taken in blocks from the key store."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys
        self._reserved: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def block_size(quota: Quota) -> int:
        # Small quotas one request at a time (exact); large ones in blocks of 0.1%, so a
        # crash can leave at most that much unspent, and a busy key costs a write every
        # thousand requests or so rather than every request.
        return max(1, min(1024, quota.limit // 1000))

    def take(self, key_id: str, quota: Quota, period: str, *, blocking: bool = True) -> bool:
        """Spend one request of the quota period starting on `period` (ISO date).

        Raises:
            WouldBlock: with `blocking=False`, when a new block must be reserved.
        """
        slot = (key_id, period)
        with self._lock:
            left = self._reserved.get(slot, 0)
            if left == 0:
                if not blocking:
                    raise WouldBlock
                left = self._keys.reserve(key_id, slot[1], quota.limit, self.block_size(quota))
                if left == 0:
                    return False
            self._reserved[slot] = left - 1
            return True

    def release(self) -> None:
        with self._lock:
            unused = {slot: left for slot, left in self._reserved.items() if left}
            self._reserved.clear()
        if unused:
            self._keys.release(unused)


class DailyCounter:
    """Requests per key and UTC day, written to the key store at most once a second."""

    def __init__(
        self, keys: KeyStore, *, flush_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._flush_every = flush_every
        self._clock = clock
        self._counts: dict[tuple[str, str], int] = {}
        self._last_flush = clock()
        self._lock = threading.Lock()

    def flush_due(self, now: float) -> bool:
        """Whether the counts are a second old at `now` (this counter's clock): time to
        `flush`, which its caller does, off the event loop."""
        return now - self._last_flush >= self._flush_every

    def count(self, key_id: str, day: str) -> None:
        slot = (key_id, day)
        with self._lock:
            self._counts[slot] = self._counts.get(slot, 0) + 1

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
            self._last_flush = self._clock()
        if counts:
            self._keys.add_daily(counts)
