"""API Gateway's throttle and quota semantics, on a clock the tests control."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.usage.keys import KeyStore
from app.usage.limiter import QuotaLedger, TokenBucket, period_start
from app.usage.plans import Quota, Throttle


class TestTokenBucket:
    def test_admits_exactly_the_burst_then_the_rate(self) -> None:
        bucket = TokenBucket(Throttle(rate_limit=5, burst_limit=10), now=0.0)

        def admitted(at: float, attempts: int) -> int:
            count = 0
            for _ in range(attempts):
                if bucket.has_token(at):
                    bucket.take()
                    count += 1
            return count

        assert admitted(0.0, 50) == 10
        assert admitted(0.0, 5) == 0
        assert admitted(1.0, 50) == 5
        assert admitted(1.5, 50) == 2  # 2.5 tokens refilled: two whole ones
        assert admitted(100.0, 50) == 10  # never more than the burst

    def test_a_fractional_rate(self) -> None:
        bucket = TokenBucket(Throttle(rate_limit=0.5, burst_limit=1), now=0.0)
        assert bucket.has_token(0.0)
        bucket.take()
        assert not bucket.has_token(1.9)
        assert bucket.has_token(2.0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class TestQuotaPeriods:
    def test_days_roll_over_at_utc_midnight(self) -> None:
        quota = Quota(limit=1, period="DAY")
        assert period_start(quota, utc(2026, 11, 28, 23, 59, 59)) == date(2026, 11, 28)
        assert period_start(quota, utc(2026, 11, 29, 0, 0, 0)) == date(2026, 11, 29)

    @pytest.mark.parametrize(("offset", "start"), [
        (0, date(2026, 11, 22)),  # Sunday
        (1, date(2026, 11, 23)),  # Monday
        (6, date(2026, 11, 28)),  # Saturday: the day itself
    ])
    def test_weeks_start_on_the_offset_day_after_sunday(self, offset: int, start: date) -> None:
        # 2026-11-28 is a Saturday.
        assert period_start(Quota(limit=1, period="WEEK", offset=offset),
                            utc(2026, 11, 28, 12)) == start

    def test_a_week_rolls_over_at_its_start(self) -> None:
        quota = Quota(limit=1, period="WEEK", offset=1)
        assert period_start(quota, utc(2026, 11, 29, 23, 59)) == date(2026, 11, 23)
        assert period_start(quota, utc(2026, 11, 30, 0, 0)) == date(2026, 11, 30)

    def test_months_start_on_day_offset_plus_one(self) -> None:
        assert period_start(Quota(limit=1, period="MONTH"), utc(2026, 3, 1)) == date(2026, 3, 1)
        assert period_start(Quota(limit=1, period="MONTH"),
                            utc(2026, 2, 28, 23, 59)) == date(2026, 2, 1)
        shifted = Quota(limit=1, period="MONTH", offset=14)
        assert period_start(shifted, utc(2026, 3, 14, 23)) == date(2026, 2, 15)
        assert period_start(shifted, utc(2026, 3, 15)) == date(2026, 3, 15)
        assert period_start(shifted, utc(2026, 1, 3)) == date(2025, 12, 15)


class TestQuotaLedger:
    def test_a_quota_is_never_exceeded_and_survives_a_new_ledger(self, tmp_path: Path) -> None:
        keys = KeyStore(tmp_path)
        quota = Quota(limit=2500, period="DAY")
        now = utc(2026, 11, 28, 10)
        ledger = QuotaLedger(keys)
        assert QuotaLedger.block_size(quota) == 2
        today = period_start(quota, now).isoformat()
        assert sum(ledger.take("k", quota, today) for _ in range(3000)) == 2500

        again = QuotaLedger(keys)
        assert not again.take("k", quota, today)
        assert again.take("k", quota, "2026-11-29")  # a new day

    def test_unspent_reservations_go_back_at_release(self, tmp_path: Path) -> None:
        keys = KeyStore(tmp_path)
        quota = Quota(limit=10_000, period="MONTH")
        now = utc(2026, 11, 28)
        ledger = QuotaLedger(keys)
        for _ in range(3):
            assert ledger.take("k", quota, period_start(quota, now).isoformat())
        assert keys.quota_used("k", "2026-11-01") == QuotaLedger.block_size(quota)
        ledger.release()
        assert keys.quota_used("k", "2026-11-01") == 3
