"""Deciding, per request, what API Gateway would: 403, 429, or through.

Order, as API Gateway's: a route that needs a key without a known, enabled key is 403
Forbidden; then the throttles (the plan's, and the method's if the plan names it) give
429 Too Many Requests; only then is the quota spent, or 429 Limit Exceeded. A request
refused by a throttle never counts against the quota.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import NamedTuple
from urllib.parse import unquote

from app.usage.keys import ApiKey, KeyStore, hash_key
from app.usage.limiter import DailyCounter, QuotaLedger, TokenBucket, period_start
from app.usage.plans import Plan, PlansFile

KEY_RELOAD_SECONDS = 2.0  # how soon a key disabled elsewhere stops working
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
        self._buckets: dict[tuple[str, str], list[TokenBucket]] = {}
        self._plans_by_name = {plan.name: plan for plan in plans.plans}
        self._today: date | None = None
        self._today_text: tuple[str, dict[str, str]] = ("", {})
        self._lock = threading.Lock()
        self._by_hash: dict[str, ApiKey] = {}
        self._by_value: dict[str, ApiKey] = {}
        self._loaded_at = float("-inf")
        self.ledger = QuotaLedger(keys)
        self.daily = DailyCounter(keys, clock=clock)

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

    def _key(self, value: str) -> ApiKey | None:
        known = self._by_value.get(value)
        if known is not None and self._clock() - self._loaded_at < KEY_RELOAD_SECONDS:
            return known
        digest = hash_key(value)
        age = self._clock() - self._loaded_at
        # A key just created works at once; a flood of made-up keys cannot turn into a
        # flood of reads.
        if age >= KEY_RELOAD_SECONDS or (
            digest not in self._by_hash and age >= UNKNOWN_KEY_RELOAD_SECONDS
        ):
            self._by_hash = self.keys.by_hash()
            self._by_value = {}
            self._loaded_at = self._clock()
        key = self._by_hash.get(digest)
        if key is not None and len(self._by_value) < ROUTE_CACHE_SIZE:
            self._by_value[value] = key  # skips the hash next time, until the next reload
        return key

    def _buckets_for(self, key: ApiKey, plan: Plan, route: str, now: float) -> list[TokenBucket]:
        slot = (key.id, route)
        buckets = self._buckets.get(slot)
        if buckets is None:
            # The plan's bucket is shared by every route of the key; a method throttle adds
            # one of its own.
            shared = self._buckets.setdefault((key.id, ""), [TokenBucket(plan.throttle, now)])
            rule = self._method_rules[plan.name].get(route)
            buckets = shared if rule is None else [shared[0], TokenBucket(rule, now)]
            self._buckets[slot] = buckets
        return buckets

    def _day(self) -> tuple[str, dict[str, str]]:
        """Today (UTC) as text, and the start of each plan's quota period, once a day."""
        today = self._now().date()
        if today != self._today:
            self._today_text = (today.isoformat(), {
                plan.name: period_start(plan.quota, today).isoformat()
                for plan in self.plans.plans if plan.quota is not None
            })
            self._today = today
        return self._today_text

    def check(
        self, method: str, path: str, api_key: str | None
    ) -> tuple[Refusal | None, str | None]:
        """What to do with a request: a refusal or None, and the caller's key id."""
        needed, route = self._route(method, path)
        if not needed:
            return None, None
        key = self._key(api_key) if api_key else None
        if key is None or not key.enabled:
            return FORBIDDEN, key.id if key else None
        plan = self._plans_by_name.get(key.plan)
        if plan is None:
            return FORBIDDEN, key.id  # a key whose plan left the file is not admitted
        now = self._clock()
        with self._lock:
            buckets = self._buckets_for(key, plan, route, now)
            for bucket in buckets:
                if not bucket.has_token(now):
                    return THROTTLED, key.id
            for bucket in buckets:
                bucket.take()
        day, periods = self._day()
        if plan.quota is not None and not self.ledger.take(key.id, plan.quota, periods[plan.name]):
            return LIMIT_EXCEEDED, key.id
        self.daily.count(key.id, day)
        return None, key.id

    def close(self) -> None:
        """Write what is only in memory: usage counts, and unspent quota goes back."""
        self.daily.flush()
        self.ledger.release()
