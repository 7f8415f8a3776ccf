"""The sign-out record and the lookup cache of a remote pool, with a clock the test moves."""

from __future__ import annotations

from app.identity.provider import TokenSubject, UserRecord
from app.identity.user_checks import BoundedMap, SignOutLedger, UserCheckCache
from tests.support.clock import Clock


def token(iat: int, origin_jti: str = "session-a", username: str = "alice") -> TokenSubject:
    return TokenSubject(username=username, sub="sub-1", token_use="id", issued_at=iat,
                        origin_jti=origin_jti)


RECORD = UserRecord(username="alice", sub="sub-1", email=None, email_verified=False,
                    phone_number=None, phone_number_verified=False, status="CONFIRMED",
                    enabled=True)


class TestSignOutLedger:
    def test_the_signed_out_session_is_refused_whenever_issued(self) -> None:
        ledger = SignOutLedger(clock=Clock(1000.5))
        ledger.record_sign_out("alice", "session-a")
        assert ledger.is_signed_out(token(iat=2000, origin_jti="session-a"))

    def test_older_sessions_of_the_user_are_refused_newer_ones_kept(self) -> None:
        ledger = SignOutLedger(clock=Clock(1000.5))
        ledger.record_sign_out("alice")
        assert ledger.is_signed_out(token(iat=999, origin_jti="older"))
        assert not ledger.is_signed_out(token(iat=1001, origin_jti="newer"))
        assert not ledger.is_signed_out(token(iat=999, username="bob"))

    def test_the_same_second_is_refused_unless_issued_here_afterwards(self) -> None:
        clock = Clock(1000.2)
        ledger = SignOutLedger(clock=clock)
        ledger.record_issued("before")
        clock.now = 1000.5
        ledger.record_sign_out("alice")
        clock.now = 1000.8
        ledger.record_issued("after")
        assert ledger.is_signed_out(token(iat=1000, origin_jti="before"))
        assert ledger.is_signed_out(token(iat=1000, origin_jti="from-another-process"))
        assert not ledger.is_signed_out(token(iat=1000, origin_jti="after"))

    def test_is_bounded(self) -> None:
        ledger = SignOutLedger(maxsize=2, clock=Clock(1000.5))
        for name in ("a", "b", "c"):
            ledger.record_sign_out(name, f"session-{name}")
        assert not ledger.is_signed_out(token(iat=2000, origin_jti="session-a", username="x"))
        assert ledger.is_signed_out(token(iat=2000, origin_jti="session-c", username="x"))


class TestUserCheckCache:
    def test_keeps_an_entry_for_the_ttl_only(self) -> None:
        clock = Clock(0)
        cache = UserCheckCache(60, clock=clock)
        cache.put("alice", RECORD)
        clock.now = 59.9
        assert cache.get("alice") == RECORD
        clock.now = 60
        assert cache.get("alice") is None

    def test_ttl_zero_keeps_nothing(self) -> None:
        cache = UserCheckCache(0, clock=Clock(0))
        cache.put("alice", RECORD)
        assert cache.get("alice") is None

    def test_invalidate(self) -> None:
        cache = UserCheckCache(60, clock=Clock(0))
        cache.put("alice", RECORD)
        cache.invalidate("alice")
        assert cache.get("alice") is None


def test_bounded_map_forgets_the_oldest_write() -> None:
    entries: BoundedMap[str, int] = BoundedMap(maxsize=2)
    entries.put("a", 1)
    entries.put("b", 2)
    entries.put("a", 3)  # rewritten: now the newest
    entries.put("c", 4)
    assert (entries.get("a"), entries.get("b"), entries.get("c"), len(entries)) == (3, None, 4, 2)
