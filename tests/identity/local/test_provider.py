"""The embedded pool's semantics, with time under the test's control."""

from __future__ import annotations

import sqlite3
import stat
import threading

import pytest

from app.errors import (
    AliasExistsError,
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterError,
    LimitExceededError,
    NotAuthorizedError,
    TooManyFailedAttemptsError,
    UsernameExistsError,
    UserNotConfirmedError,
)
from app.identity.local.keys import rfc7638_thumbprint
from app.identity.local.passwords import PasswordHashing
from app.identity.local.provider import LocalIdentityProvider
from app.identity.provider import TokenSet, UserAttributes
from app.tokens.errors import TokenRevokedError
from tests.identity.local.conftest import Pool
from tests.support.users import PASSWORD


class TestSignUpCodes:
    def test_the_code_works_until_it_expires_after_24_hours(self, pool: Pool) -> None:
        email = pool.sign_up("early")
        pool.clock.advance(24 * 3600 - 5)
        pool.provider.confirm_sign_up("early", pool.mailbox.last_code(email))

        email = pool.sign_up("late")
        pool.clock.advance(24 * 3600 + 5)
        with pytest.raises(ExpiredCodeError):
            pool.provider.confirm_sign_up("late", pool.mailbox.last_code(email))

    def test_five_wrong_tries_use_the_code_up(self, pool: Pool) -> None:
        email = pool.sign_up("guessed")
        code = pool.mailbox.last_code(email)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            with pytest.raises(CodeMismatchError):
                pool.provider.confirm_sign_up("guessed", wrong)
        with pytest.raises(TooManyFailedAttemptsError):
            pool.provider.confirm_sign_up("guessed", code)
        pool.provider.resend_confirmation_code("guessed")
        pool.provider.confirm_sign_up("guessed", pool.mailbox.last_code(email))

    def test_a_wrong_try_does_not_use_the_code_up_and_a_right_one_does(self, pool: Pool) -> None:
        email = pool.sign_up("careful")
        code = pool.mailbox.last_code(email)
        with pytest.raises(CodeMismatchError):
            pool.provider.confirm_sign_up("careful", "000000" if code != "000000" else "111111")
        pool.provider.confirm_sign_up("careful", code)
        with pytest.raises(CodeMismatchError):  # used up; and no word of the user's status
            pool.provider.confirm_sign_up("careful", code)

    def test_codes_are_stored_hashed(self, pool: Pool) -> None:
        email = pool.sign_up("hashed")
        code = pool.mailbox.last_code(email)
        with sqlite3.connect(pool.provider.store.path) as conn:
            dump = "\n".join(conn.iterdump())
        assert code not in dump
        assert PASSWORD not in dump

    def test_resending_is_limited_per_hour_for_everyone(self, pool: Pool) -> None:
        pool.sign_up("chatty")
        for name in ("chatty", "nobody-at-all"):
            sent_at_sign_up = 1 if name == "chatty" else 0
            for _ in range(5 - sent_at_sign_up):
                pool.provider.resend_confirmation_code(name)
            with pytest.raises(LimitExceededError):
                pool.provider.resend_confirmation_code(name)
        pool.clock.advance(3601)
        pool.provider.resend_confirmation_code("chatty")

    def test_reset_codes_are_limited_per_account_whichever_name_is_typed(
        self, pool: Pool
    ) -> None:
        email = pool.confirmed("forgetful")
        for name in ("forgetful", email, "FORGETFUL", email, "forgetful"):
            pool.provider.forgot_password(name)
        with pytest.raises(LimitExceededError):
            pool.provider.forgot_password(email)

    def test_a_typed_email_gets_the_same_mask_whether_or_not_it_has_an_account(
        self, pool: Pool
    ) -> None:
        pool.confirmed("masked", "masked.user@example.com")
        known = pool.provider.forgot_password("MASKED.USER@EXAMPLE.COM")
        unknown = pool.provider.forgot_password("Nobody.Here@Elsewhere.example")
        assert (known.destination, unknown.destination) == ("m***@e***", "n***@e***")
        assert known == pool.provider.forgot_password("masked.user@example.com")


class TestUsernamesAndAliases:
    def test_usernames_ignore_case(self, pool: Pool) -> None:
        pool.confirmed("Alice")
        with pytest.raises(UsernameExistsError):
            pool.sign_up("ALICE", "other@example.com")
        assert isinstance(pool.provider.initiate_auth("aLiCe", PASSWORD), TokenSet)

    def test_a_username_cannot_look_like_an_email(self, pool: Pool) -> None:
        with pytest.raises(InvalidParameterError):
            pool.sign_up("a@b.example")

    def test_the_email_is_an_alias_only_once_verified(self, pool: Pool) -> None:
        pool.sign_up("unverified", "shared@example.com")
        with pytest.raises(NotAuthorizedError):
            pool.provider.initiate_auth("shared@example.com", PASSWORD)
        pool.provider.confirm_sign_up("unverified", pool.mailbox.last_code("shared@example.com"))
        assert isinstance(pool.provider.initiate_auth("SHARED@example.com", PASSWORD), TokenSet)

    def test_a_verified_email_belongs_to_one_confirmed_user(self, pool: Pool) -> None:
        pool.confirmed("first", "same@example.com")
        pool.sign_up("second", "same@example.com")
        with pytest.raises(AliasExistsError):
            pool.provider.confirm_sign_up("second", pool.mailbox.last_code("same@example.com"))
        assert pool.provider.admin_get_user("second").status == "UNCONFIRMED"


class TestLockout:
    def test_the_lock_starts_at_the_sixth_failure_and_doubles(self, pool: Pool) -> None:
        pool.confirmed("target")
        for _ in range(5):
            with pytest.raises(NotAuthorizedError):
                pool.provider.initiate_auth("target", "Wrong-pass-1")
        locks = []
        for _ in range(4):
            with pytest.raises(NotAuthorizedError):
                pool.provider.initiate_auth("target", "Wrong-pass-1")
            with pytest.raises(TooManyFailedAttemptsError) as locked:
                pool.provider.initiate_auth("target", PASSWORD)
            locks.append(locked.value.retry_after)
            pool.clock.advance(locked.value.retry_after or 0)
        assert locks == [1, 2, 4, 8]
        assert isinstance(pool.provider.initiate_auth("target", PASSWORD), TokenSet)
        # Success forgets the failures.
        with pytest.raises(NotAuthorizedError):
            pool.provider.initiate_auth("target", "Wrong-pass-1")

    def test_every_name_of_an_account_shares_its_lock(self, pool: Pool) -> None:
        email = pool.confirmed("named")
        for name in ("named", email, "NAMED", email.upper(), "named"):
            with pytest.raises(NotAuthorizedError):
                pool.provider.initiate_auth(name, "Wrong-pass-1")
        with pytest.raises(NotAuthorizedError):
            pool.provider.initiate_auth(email, "Wrong-pass-1")  # the sixth: locked from now
        for name in ("named", email):
            with pytest.raises(TooManyFailedAttemptsError):
                pool.provider.initiate_auth(name, PASSWORD)

    def test_a_wrong_old_password_counts_and_the_lock_holds(self, pool: Pool) -> None:
        pool.confirmed("changer")
        caller = pool.caller(pool.tokens("changer").id_token)
        for _ in range(6):
            with pytest.raises(NotAuthorizedError):
                pool.provider.change_password(caller, "Wrong-pass-1", "New-Pass-word-9")
        with pytest.raises(TooManyFailedAttemptsError):
            pool.provider.change_password(caller, PASSWORD, "New-Pass-word-9")
        with pytest.raises(TooManyFailedAttemptsError):
            pool.provider.initiate_auth("changer", PASSWORD)

    def test_the_lock_is_capped_at_fifteen_minutes(self, pool: Pool) -> None:
        for _ in range(30):
            try:
                pool.provider.initiate_auth("ghost", "Wrong-pass-1")
            except TooManyFailedAttemptsError as locked:
                pool.clock.advance(locked.retry_after or 0)
            except NotAuthorizedError:
                pass
        with pytest.raises(TooManyFailedAttemptsError) as locked:
            pool.provider.initiate_auth("ghost", "Wrong-pass-1")
        assert locked.value.retry_after is not None and locked.value.retry_after <= 900

    def test_unconfirmed_users_only_learn_it_with_the_right_password(self, pool: Pool) -> None:
        pool.sign_up("pending")
        with pytest.raises(NotAuthorizedError):
            pool.provider.initiate_auth("pending", "Wrong-pass-1")
        with pytest.raises(UserNotConfirmedError):
            pool.provider.initiate_auth("pending", PASSWORD)


class TestSessions:
    def test_refresh_tokens_are_hashed_and_end_with_sign_out(self, pool: Pool) -> None:
        pool.confirmed("sessions")
        tokens = pool.tokens("sessions")
        assert tokens.refresh_token
        with sqlite3.connect(pool.provider.store.path) as conn:
            assert tokens.refresh_token not in "\n".join(conn.iterdump())
        refreshed = pool.provider.refresh(tokens.refresh_token, None)
        caller = pool.caller(refreshed.id_token)
        assert caller.subject.origin_jti == pool.caller(tokens.id_token).subject.origin_jti
        pool.provider.global_sign_out(caller, None)
        with pytest.raises(NotAuthorizedError):
            pool.provider.refresh(tokens.refresh_token, None)
        with pytest.raises(TokenRevokedError):
            pool.provider.check_subject(caller.subject)

    def test_sign_out_ends_every_session_of_the_user(self, pool: Pool) -> None:
        pool.confirmed("everywhere")
        phone, laptop = pool.tokens("everywhere"), pool.tokens("everywhere")
        pool.provider.global_sign_out(None, phone.refresh_token)
        with pytest.raises(TokenRevokedError):
            pool.provider.check_subject(pool.caller(laptop.access_token).subject)

    def test_disabled_and_deleted_users_lose_their_tokens(self, pool: Pool) -> None:
        pool.confirmed("leaving")
        subject = pool.caller(pool.tokens("leaving").id_token).subject
        pool.provider.admin_set_enabled("leaving", False)
        with pytest.raises(NotAuthorizedError, match="disabled"):
            pool.provider.check_subject(subject)
        with pytest.raises(NotAuthorizedError):
            pool.provider.initiate_auth("leaving", PASSWORD)
        # As Cognito's AdminDisableUser: enabling again brings no old session back.
        pool.provider.admin_set_enabled("leaving", True)
        with pytest.raises(TokenRevokedError):
            pool.provider.check_subject(subject)
        subject = pool.caller(pool.tokens("leaving").id_token).subject
        pool.provider.admin_delete_user("leaving")
        with pytest.raises(TokenRevokedError):
            pool.provider.check_subject(subject)

    def test_tokens_look_like_cognitos(self, pool: Pool) -> None:
        pool.confirmed("shape")
        tokens = pool.tokens("shape")
        id_claims = pool.caller(tokens.id_token).subject.claims
        access = pool.caller(tokens.access_token).subject.claims
        assert {"sub", "cognito:username", "email", "email_verified", "token_use", "auth_time",
                "iss", "aud", "exp", "iat", "jti", "origin_jti"} <= set(id_claims)
        assert {"sub", "username", "client_id", "token_use", "scope", "auth_time", "iss",
                "exp", "iat", "jti", "origin_jti"} <= set(access)
        assert id_claims["origin_jti"] == access["origin_jti"]
        assert id_claims["jti"] != access["jti"]


class TestNewPasswordRequired:
    def test_an_operator_created_user_must_choose_a_password(self, pool: Pool) -> None:
        pool.provider.admin_create_user("hired", "Temp-Passw0rd!x", UserAttributes(
            email="hired@example.com"))
        challenge = pool.challenge("hired", "Temp-Passw0rd!x")
        assert challenge.name == "NEW_PASSWORD_REQUIRED"
        from app.errors import InvalidPasswordError

        with pytest.raises(InvalidPasswordError):
            pool.provider.respond_to_challenge(
                "hired", "NEW_PASSWORD_REQUIRED", challenge.session, {"new_password": "weak"})
        outcome = pool.provider.respond_to_challenge(
            "hired", "NEW_PASSWORD_REQUIRED", challenge.session, {"new_password": PASSWORD})
        assert isinstance(outcome, TokenSet)
        with pytest.raises(NotAuthorizedError):  # a session is used once
            pool.provider.respond_to_challenge(
                "hired", "NEW_PASSWORD_REQUIRED", challenge.session, {"new_password": PASSWORD})
        assert isinstance(pool.provider.initiate_auth("hired", PASSWORD), TokenSet)

    def test_a_session_expires_after_three_minutes_and_is_bound_to_its_user(
        self, pool: Pool
    ) -> None:
        for name in ("one", "two"):
            pool.provider.admin_create_user(name, "Temp-Passw0rd!x", UserAttributes(
                email=f"{name}@example.com"))
        session = pool.challenge("one", "Temp-Passw0rd!x").session
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "two", "NEW_PASSWORD_REQUIRED", session, {"new_password": PASSWORD})
        pool.clock.advance(181)
        with pytest.raises(NotAuthorizedError):
            pool.provider.respond_to_challenge(
                "one", "NEW_PASSWORD_REQUIRED", session, {"new_password": PASSWORD})


class TestStorage:
    def test_secrets_are_private_and_the_kid_is_the_thumbprint(self, pool: Pool) -> None:
        pool.confirmed("keys")
        pool.tokens("keys")
        directory = pool.provider.directory
        for name in ("signing-key.pem", "pool-secret", "pool.sqlite3"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
        jwk = pool.provider.jwks["keys"][0]
        assert jwk["kid"] == rfc7638_thumbprint(jwk)
        again = LocalIdentityProvider(directory, issuer="https://pool.test", mailer=pool.mailbox)
        assert again.jwks == pool.provider.jwks
        assert again.client_id == pool.provider.client_id

    def test_passwords_use_argon2id_at_owasp_parameters(self, pool: Pool) -> None:
        pool.confirmed("hash")
        stored = pool.provider.store.read_one("SELECT password_hash FROM users")
        assert stored is not None
        assert stored["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")

    def test_weaker_hashes_are_upgraded_at_sign_in(self, pool: Pool) -> None:
        pool.confirmed("legacy")
        weak = PasswordHashing(time_cost=1, memory_kib=8192).hash(PASSWORD)
        with pool.provider.store.write() as conn:
            conn.execute("UPDATE users SET password_hash = ?", (weak,))
        pool.tokens("legacy")
        stored = pool.provider.store.read_one("SELECT password_hash FROM users")
        assert stored is not None and "m=19456,t=2" in stored["password_hash"]

    def test_concurrent_sign_ups_of_one_name_make_one_user(self, pool: Pool) -> None:
        outcomes: list[str] = []

        def attempt(i: int) -> None:
            try:
                pool.provider.sign_up("racer", PASSWORD, UserAttributes(email=f"r{i}@example.com"))
                outcomes.append("created")
            except UsernameExistsError:
                outcomes.append("exists")

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["created"] + ["exists"] * 19
