"""Who gets through, decided as API Gateway decides it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.usage.enforcer import (
    FORBIDDEN,
    LIMIT_EXCEEDED,
    THROTTLED,
    UsageEnforcer,
    normalise,
)
from app.usage.keys import KeyStore
from app.usage.limiter import WouldBlock
from app.usage.plans import load_plans
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def enforcer(plans_file: Path, tmp_path: Path, clock: Clock) -> UsageEnforcer:
    return UsageEnforcer(load_plans(plans_file), KeyStore(tmp_path / "pool"), clock=clock,
                         now=lambda: datetime(2026, 11, 28, 12, tzinfo=UTC))


def key_on(enforcer: UsageEnforcer, plan: str) -> str:
    return enforcer.keys.create(f"key-{plan}", plan)[1]


def outcomes(enforcer: UsageEnforcer, key: str | None, count: int,
             method: str = "GET", path: str = "/public") -> list[str]:
    results = []
    for _ in range(count):
        refusal, _ = enforcer.check(method, path, key)
        results.append("ok" if refusal is None else refusal.message)
    return results


def test_burst_then_rate_then_quota(enforcer: UsageEnforcer, clock: Clock) -> None:
    key = key_on(enforcer, "Tiny")
    assert outcomes(enforcer, key, 6) == ["ok"] * 4 + ["Too Many Requests"] * 2
    clock.now += 1.0  # two more tokens
    assert outcomes(enforcer, key, 3) == ["ok", "ok", "Too Many Requests"]
    clock.now += 10.0
    # Six admitted so far: the quota is spent; throttled requests did not count.
    assert outcomes(enforcer, key, 2) == ["Limit Exceeded"] * 2


def test_method_throttles_apply_on_top_of_the_plan(enforcer: UsageEnforcer, clock: Clock) -> None:
    key = key_on(enforcer, "Methods")
    assert outcomes(enforcer, key, 3) == ["ok", "ok", "Too Many Requests"]
    assert outcomes(enforcer, key, 3, path="/protected") == ["ok"] * 3
    clock.now += 1.0
    assert outcomes(enforcer, key, 2) == ["ok", "Too Many Requests"]


def test_unknown_and_disabled_keys_are_forbidden(enforcer: UsageEnforcer, clock: Clock) -> None:
    assert enforcer.check("GET", "/public", None)[0] == FORBIDDEN
    assert enforcer.check("GET", "/public", "x" * 40)[0] == FORBIDDEN
    value = key_on(enforcer, "Open")
    clock.now += 0.5  # an unknown key rereads the keys, at most twice a second
    key_id = enforcer.check("GET", "/public", value)[1]
    assert key_id is not None
    enforcer.keys.set_enabled(key_id, False)
    clock.now += 3  # keys are reloaded every few seconds
    assert enforcer.check("GET", "/public", value) == (FORBIDDEN, key_id)


def test_a_disabled_key_stops_working_on_routes_it_has_not_called_yet(
    enforcer: UsageEnforcer, clock: Clock
) -> None:
    value = key_on(enforcer, "Open")
    clock.now += 0.5
    key_id = enforcer.check("GET", "/public", value)[1]
    assert key_id is not None
    enforcer.keys.set_enabled(key_id, False)
    clock.now += 3
    assert enforcer.check("GET", "/protected", value) == (FORBIDDEN, key_id)


def test_a_key_created_after_keyless_requests_works_at_once(
    enforcer: UsageEnforcer, clock: Clock
) -> None:
    """A page calls without a key (403), its user creates one and calls again at once."""
    assert enforcer.check("GET", "/public", None) == (FORBIDDEN, None)
    value = key_on(enforcer, "Open")
    clock.now += 0.1
    assert enforcer.check("GET", "/public", value)[0] is None


def test_without_blocking_only_memory_is_used(enforcer: UsageEnforcer, clock: Clock) -> None:
    """With blocking=False the enforcer answers from memory or says it would block, before
    counting anything; the blocking call then decides as usual."""
    value = key_on(enforcer, "Tiny")  # burst 4, quota 6: each request reserves one
    clock.now += 0.5
    with pytest.raises(WouldBlock):  # the keys must be read
        enforcer.check("GET", "/public", value, blocking=False)
    assert enforcer.check("GET", "/public", value)[0] is None
    with pytest.raises(WouldBlock):  # a quota reservation must be written
        enforcer.check("GET", "/public", value, blocking=False)
    assert outcomes(enforcer, value, 3) == ["ok"] * 3  # the burst was not spent above
    clock.now += 3  # keys are due for a reload
    with pytest.raises(WouldBlock):
        enforcer.check("GET", "/public", value, blocking=False)
    # Routes that need no key never wait for the store.
    assert enforcer.check("GET", "/health", None, blocking=False) == (None, None)


@pytest.mark.parametrize(("method", "path"), [
    ("OPTIONS", "/public"), ("GET", "/health"), ("GET", "/docs"), ("GET", "/openapi.json"),
    ("GET", "/"), ("GET", "/static/app.js"), ("POST", "/auth/signin"),
    ("POST", "/protected"),  # the file names GET /protected only
])
def test_what_never_needs_a_key(enforcer: UsageEnforcer, method: str, path: str) -> None:
    assert enforcer.check(method, path, None) == (None, None)


@pytest.mark.parametrize("path", [
    "/protected/", "//protected", "/PROTECTED", "/Protected//", "/%70rotected",
    "/%2Fprotected", "/%252Fprotected", "/./protected".replace("/.", ""),
])
@pytest.mark.parametrize("method", ["GET", "HEAD", "get"])
def test_path_tricks_do_not_skip_the_key(enforcer: UsageEnforcer, method: str, path: str) -> None:
    assert enforcer.check(method, path, None)[0] == FORBIDDEN


def test_normalise() -> None:
    assert normalise("head", "//A%2fB/") == ("GET", "/a/b")


def test_refusals_are_api_gateways() -> None:
    assert (FORBIDDEN.status, FORBIDDEN.message) == (403, "Forbidden")
    assert (THROTTLED.status, THROTTLED.message) == (429, "Too Many Requests")
    assert (LIMIT_EXCEEDED.status, LIMIT_EXCEEDED.message) == (429, "Limit Exceeded")
