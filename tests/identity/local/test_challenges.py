"""A sign-in waiting for its second step: it lives only while the account stays as it was,
and one session (or one TOTP code) signs in once, even when answered twice at once."""

from __future__ import annotations

import pytest

from app.errors import AliasExistsError, CodeMismatchError, NotAuthorizedError
from app.identity.provider import TokenSet, UserAttributes
from tests.identity.local.conftest import Pool
from tests.support.users import PASSWORD

NEW_PASSWORD = "Another-Horse-8-Battery"


def _created(pool: Pool, username: str) -> str:
    """A user made by an operator: the first sign-in asks for a new password."""
    pool.provider.admin_create_user(
        username, PASSWORD, UserAttributes(email=f"{username}@example.com"))
    return pool.challenge(username).session


class TestAChallengeEndsWithTheStateItWasIssuedIn:
    def test_an_operator_reset_ends_a_new_password_challenge(self, pool: Pool) -> None:
        session = _created(pool, "carol")
        pool.provider.admin_reset_user_password("carol")
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "carol", "NEW_PASSWORD_REQUIRED", session, {"new_password": NEW_PASSWORD})
        assert pool.provider.admin_get_user("carol").status == "RESET_REQUIRED"

    def test_a_password_reset_ends_an_mfa_challenge(self, pool: Pool) -> None:
        _, device = pool.with_totp("frank")
        session = pool.challenge("frank").session
        pool.provider.forgot_password("frank")
        pool.provider.confirm_forgot_password(
            "frank", pool.mailbox.last_code("frank@example.com"), NEW_PASSWORD)
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "frank", "SOFTWARE_TOKEN_MFA", session, {"code": device.at(pool.clock.now)})

    def test_disabling_ends_a_challenge(self, pool: Pool) -> None:
        _, device = pool.with_totp("erin")
        session = pool.challenge("erin").session
        pool.provider.admin_set_enabled("erin", False)
        pool.provider.admin_set_enabled("erin", True)
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "erin", "SOFTWARE_TOKEN_MFA", session, {"code": device.at(pool.clock.now)})


class TestOneAnswerGetsThrough:
    """Two answers at once: the second passed its checks before the first was written,
    which `_challenged_user` returning what it read earlier stands in for."""

    def test_one_totp_code_signs_in_once(
        self, pool: Pool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _, device = pool.with_totp("twice")
        first, second = pool.challenge("twice").session, pool.challenge("twice").session
        code = device.at(pool.clock.now)
        read_before = pool.provider._challenged_user(
            "twice", "SOFTWARE_TOKEN_MFA", second, pool.clock.now)
        answered = pool.provider.respond_to_challenge(
            "twice", "SOFTWARE_TOKEN_MFA", first, {"code": code})
        assert isinstance(answered, TokenSet)
        monkeypatch.setattr(pool.provider, "_challenged_user", lambda *args: read_before)
        with pytest.raises(CodeMismatchError):
            pool.provider.respond_to_challenge(
                "twice", "SOFTWARE_TOKEN_MFA", second, {"code": code})

    def test_one_session_signs_in_once(
        self, pool: Pool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        session = _created(pool, "hired-twice")
        read_before = pool.provider._challenged_user(
            "hired-twice", "NEW_PASSWORD_REQUIRED", session, pool.clock.now)
        pool.provider.respond_to_challenge(
            "hired-twice", "NEW_PASSWORD_REQUIRED", session, {"new_password": NEW_PASSWORD})
        monkeypatch.setattr(pool.provider, "_challenged_user", lambda *args: read_before)
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "hired-twice", "NEW_PASSWORD_REQUIRED", session, {"new_password": PASSWORD})
        assert isinstance(pool.tokens("hired-twice", NEW_PASSWORD), TokenSet)


def test_a_totp_code_in_other_digits_is_a_wrong_code(pool: Pool) -> None:
    caller, _ = pool.with_totp("arabic")
    with pytest.raises(CodeMismatchError):
        pool.provider.disable_software_token(caller, "١٢٣٤٥٦")


def test_an_operator_cannot_create_a_user_with_anothers_verified_email(pool: Pool) -> None:
    pool.confirmed("alice", "alice@example.com")
    with pytest.raises(AliasExistsError):
        pool.provider.admin_create_user(
            "bob", PASSWORD, UserAttributes(email="alice@example.com"))
