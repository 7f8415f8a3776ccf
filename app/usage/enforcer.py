"""Deciding, per request, what API Gateway would: 403, 429, or through.

Order, as API Gateway's: a route that needs a key without a known, enabled key is 403
Forbidden; then the throttles (the plan's, and the method's if the plan names it) give
429 Too Many Requests; only then is the quota spent, or 429 Limit Exceeded. A request
refused by a throttle never counts against the quota.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import NamedTuple
from urllib.parse import unquote

from app.usage.keys import ApiKey, KeyStore, hash_key
from app.usage.limiter import (
    DailyCounter,
    QuotaLedger,
    TokenBucket,
    WouldBlock,
    period_start,
)
from app.usage.plans import PlansFile, Quota

log = logging.getLogger(__name__)

KEY_RELOAD_SECONDS = 2.0  # how soon a key disabled elsewhere stops working
MAINTENANCE_SECONDS = 0.5  # how often a server's own thread reloads keys and writes counts
UNKNOWN_KEY_RELOAD_SECONDS = 0.5  # an unknown key rereads the keys, at most this often
# Never behind a key, whatever the plans file says: health checks, the docs, the page.
OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/",
                        "/config", "/redoc", "/favicon.ico"})
OPEN_PREFIXES = ("/static/",)
ROUTE_CACHE_SIZE = 4096


class Refusal(NamedTuple):
    status: int
    message: str
    error_type: str


FORBIDDEN = Refusal(403, "Forbidden", "ForbiddenException")
THROTTLED = Refusal(429, "Too Many Requests", "TooManyRequestsException")
LIMIT_EXCEEDED = Refusal(429, "Limit Exceeded", "LimitExceededException")


def normalise(method: str, path: str) -> tuple[str, str]:
    """The (method, path) a rule is matched against, so that no spelling skips a rule.

    Percent-escapes are decoded (repeatedly: `%252F`), runs of slashes collapse, a
    trailing slash goes, case is folded, and HEAD is GET, as API Gateway treats them.
    """
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    path = "/" + "/".join(part for part in path.split("/") if part)
    method = method.upper()
    return ("GET" if method == "HEAD" else method), path.lower()


class _Lane(NamedTuple):
    """What one (method, path, key) gets: decided once per key reload, used per request."""

    key_id: str
    buckets: list[TokenBucket]
    quota: Quota | None
    plan_name: str
    refusal: Refusal | None


class UsageEnforcer:
    """The local stand-in for API Gateway's usage plans (USAGE_PLANS=local).

    Args:
        plans: the plans file.
        keys: where keys and quota counts are kept.
        clock: monotonic seconds, for the token buckets.
        now: the wall clock (UTC), for quota periods.
    """

    def __init__(
        self, plans: PlansFile, keys: KeyStore, *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.plans = plans
        self.keys = keys
        self._clock = clock
        self._now = now
        self._key_rules = [(method, path.lower()) for method, path in plans.key_routes]
        self._method_rules = {
            plan.name: {
                " ".join(normalise(*route.split(" ", 1))): throttle
                for route, throttle in plan.method_throttles.items()
            }
            for plan in plans.plans
        }
        self._routes: dict[tuple[str, str], tuple[bool, str]] = {}
        self._lanes: dict[tuple[str, str, str | None], _Lane] = {}
        self._buckets: dict[tuple[str, str], list[TokenBucket]] = {}
        self._plans_by_name = {plan.name: plan for plan in plans.plans}
        self._day_until = float("-inf")
        self._today_text: tuple[str, dict[str, str]] = ("", {})
        self._lock = threading.Lock()
        self._by_hash: dict[str, ApiKey] = {}
        self._by_value: dict[str, ApiKey] = {}
        self._loaded_at = float("-inf")
        # Apart from _loaded_at, which the maintenance thread keeps fresh: a key created a
        # moment ago must still be looked for.
        self._unknown_reload_at = float("-inf")
        self.ledger = QuotaLedger(keys)
        self.daily = DailyCounter(keys, clock=clock)
        self._maintenance: tuple[threading.Thread, threading.Event] | None = None

    def start_maintenance(self, every: float = MAINTENANCE_SECONDS) -> None:
        """Reload the keys and write the usage counts from a thread of its own.

        Requests then never wait for either (they would, when a reload or a write falls
        due, from a worker thread), and `keys usage` is current while the server idles.
        """
        if self._maintenance is not None:
            return
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    self._reload(self._clock())
                    self.daily.flush()
                except Exception as exc:  # a locked or failing store: requests do it then
                    log.warning("usage plans: keys or counts not refreshed",
                                extra={"reason": type(exc).__name__})

        thread = threading.Thread(target=run, name="usage-maintenance", daemon=True)
        self._maintenance = (thread, stop)
        thread.start()

    def _route(self, method: str, path: str) -> tuple[bool, str]:
        """Whether (method, path) needs a key, and its normalised "METHOD /path".

        Remembered per spelling: a server sees few distinct paths, and this runs on every
        request. Bounded, so a scan of made-up paths cannot grow it without end.
        """
        known = self._routes.get((method, path))
        if known is not None:
            return known
        if method.upper() == "OPTIONS" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            answer = (False, "")
        else:
            norm_method, norm_path = normalise(method, path)
            needed = any(
                norm_path == rule_path and rule_method in ("ANY", norm_method)
                for rule_method, rule_path in self._key_rules
            )
            answer = (needed, f"{norm_method} {norm_path}")
        if len(self._routes) < ROUTE_CACHE_SIZE:
            self._routes[(method, path)] = answer
        return answer

    def needs_key(self, method: str, path: str) -> bool:
        return self._route(method, path)[0]

    def _reload(self, now: float) -> None:
        self._by_hash = self.keys.by_hash()
        self._by_value = {}
        self._lanes = {}  # a disabled key or a changed plan counts from here
        self._loaded_at = now

    def _key(self, value: str, now: float, blocking: bool) -> ApiKey | None:
        known = self._by_value.get(value)
        if known is not None:
            return known
        digest = hash_key(value)
        # A key just created works at once; a flood of made-up keys cannot turn into a
        # flood of reads.
        if digest not in self._by_hash and now - self._unknown_reload_at >= (
            UNKNOWN_KEY_RELOAD_SECONDS
        ):
            if not blocking:
                raise WouldBlock
            self._unknown_reload_at = now
            self._reload(now)
        key = self._by_hash.get(digest)
        if key is not None and len(self._by_value) < ROUTE_CACHE_SIZE:
            self._by_value[value] = key  # skips the hash next time, until the next reload
        return key

    def _lane(self, route: str, api_key: str | None, now: float,
              blocking: bool) -> _Lane | Refusal:
        """The slow path of `check`: what a (route, key) gets, once per reload."""
        key = self._key(api_key, now, blocking) if api_key else None
        if key is None:
            return FORBIDDEN
        plan = self._plans_by_name.get(key.plan)
        if not key.enabled or plan is None:  # a key whose plan left the file: refused too
            return _Lane(key.id, [], None, "", FORBIDDEN)
        # The plan's bucket is shared by every route of the key; a method throttle adds
        # one of its own.
        shared = self._buckets.setdefault((key.id, ""), [TokenBucket(plan.throttle, now)])
        rule = self._method_rules[plan.name].get(route)
        buckets = shared if rule is None else [
            shared[0], self._buckets.setdefault((key.id, route), [TokenBucket(rule, now)])[0]]
        return _Lane(key.id, buckets, plan.quota, plan.name, None)

    def _day(self, now: float) -> tuple[str, dict[str, str]]:
        """Today (UTC) as text, and the start of each plan's quota period.

        Worked out from the wall clock only when the monotonic clock says the day may
        have changed, not on every request.
        """
        if now >= self._day_until:
            wall = self._now()
            today = wall.date()
            self._today_text = (today.isoformat(), {
                plan.name: period_start(plan.quota, today).isoformat()
                for plan in self.plans.plans if plan.quota is not None
            })
            midnight = datetime.combine(today + timedelta(days=1), dt_time(), UTC)
            self._day_until = now + max(0.0, (midnight - wall).total_seconds())
        return self._today_text

    def check(
        self, method: str, path: str, api_key: str | None, *, blocking: bool = True
    ) -> tuple[Refusal | None, str | None]:
        """What to do with a request: a refusal or None, and the caller's key id.

        Raises:
            WouldBlock: only with `blocking=False`, when the answer needs the key store;
                nothing was counted.
            ServiceUnavailableError: the key store cannot be read or written.
        """
        now = self._clock()
        if now - self._loaded_at >= KEY_RELOAD_SECONDS and api_key:
            # Whatever the route: a key disabled elsewhere stops working everywhere within
            # KEY_RELOAD_SECONDS, including on a route it has not called yet. (A server's
            # maintenance thread reloads sooner: requests then never do.)
            if not blocking:
                raise WouldBlock
            self._reload(now)
        slot = (method, path, api_key)
        lane = self._lanes.get(slot)  # the common case: a route and key seen since reload
        if lane is None:
            needed, route = self._route(method, path)
            if not needed:
                return None, None
            if not api_key:  # decided without the key store
                return FORBIDDEN, None
            decided = self._lane(route, api_key, now, blocking)
            if not isinstance(decided, _Lane):
                return decided, None  # unknown keys are not remembered: they may appear
            lane = decided
            if len(self._lanes) < ROUTE_CACHE_SIZE:
                self._lanes[slot] = lane
        if lane.refusal is not None:
            return lane.refusal, lane.key_id
        if self.daily.flush_due(now):  # counts go to the store at most once a second
            if not blocking:
                raise WouldBlock
            self.daily.flush()
        with self._lock:
            for bucket in lane.buckets:
                if not bucket.has_token(now):
                    return THROTTLED, lane.key_id
            for bucket in lane.buckets:
                bucket.take()
        day, periods = self._day(now)
        if lane.quota is not None:
            try:
                if not self.ledger.take(lane.key_id, lane.quota, periods[lane.plan_name],
                                        blocking=blocking):
                    return LIMIT_EXCEEDED, lane.key_id
            except WouldBlock:
                with self._lock:  # asked again shortly: this request is not counted
                    for bucket in lane.buckets:
                        bucket.give_back()
                raise
        self.daily.count(lane.key_id, day)
        return None, lane.key_id

    def close(self) -> None:
        """Write what is only in memory: usage counts, and unspent quota goes back."""
        if self._maintenance is not None:
            thread, stop = self._maintenance
            stop.set()
            thread.join(timeout=5)
            self._maintenance = None
        self.daily.flush()
        self.ledger.release()
