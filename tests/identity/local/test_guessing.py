"""Guessing against the embedded pool: MFA codes, concurrent passwords, and what a code
costs to send. Each limit holds per account, across sessions and sign-ins."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyotp
import pytest

from app.errors import (
    CodeMismatchError,
    LimitExceededError,
    NotAuthorizedError,
    TooManyFailedAttemptsError,
)
from app.identity.provider import UserAttributes
from tests.identity.local.conftest import Pool

PHONE = "+15550100123"


def _wrong_code(pool: Pool, device: pyotp.TOTP) -> str:
    accepted = {device.at(pool.clock.now + drift) for drift in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222") if code not in accepted)


class TestMfaCodes:
    def test_wrong_codes_lock_the_account_across_fresh_sign_ins(self, pool: Pool) -> None:
        _, device = pool.with_totp("guarded")
        wrong = _wrong_code(pool, device)
        for _ in range(3):  # each sign-in is a new session, and the password was right
            session = pool.challenge("guarded").session
            for _ in range(2):
                with pytest.raises(CodeMismatchError):
                    pool.provider.respond_to_challenge(
                        "guarded", "SOFTWARE_TOKEN_MFA", session, {"code": wrong})
        session = pool.challenge("guarded").session
        with pytest.raises(TooManyFailedAttemptsError) as locked:
            pool.provider.respond_to_challenge(
                "guarded", "SOFTWARE_TOKEN_MFA", session,
                {"code": device.at(pool.clock.now + 30)})
        assert locked.value.retry_after == 1

        pool.clock.advance(31)  # the lock is over; a right code signs in and forgets the count
        session = pool.challenge("guarded").session
        pool.provider.respond_to_challenge(
            "guarded", "SOFTWARE_TOKEN_MFA", session, {"code": device.at(pool.clock.now)})
        session = pool.challenge("guarded").session
        with pytest.raises(CodeMismatchError):
            pool.provider.respond_to_challenge(
                "guarded", "SOFTWARE_TOKEN_MFA", session, {"code": wrong})

    def test_wrong_codes_to_turn_mfa_off_lock_too(self, pool: Pool) -> None:
        caller, device = pool.with_totp("keeper")
        wrong = _wrong_code(pool, device)
        for _ in range(6):
            with pytest.raises(CodeMismatchError):
                pool.provider.disable_software_token(caller, wrong)
        with pytest.raises(TooManyFailedAttemptsError):
            pool.provider.disable_software_token(caller, device.at(pool.clock.now + 30))


def _at_once(count: int, sign_in: Callable[[], object]) -> list[str]:
    """`count` sign-ins started together; what each answered."""
    start = threading.Barrier(count)
    answers: list[str] = []

    def one() -> None:
        start.wait()
        try:
            sign_in()
            answers.append("signed in")
        except (NotAuthorizedError, TooManyFailedAttemptsError) as exc:
            answers.append(exc.code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


class TestConcurrentPasswords:
    def test_each_guess_is_counted_before_any_is_checked(self, pool: Pool) -> None:
        pool.confirmed("rushed")
        answers = _at_once(12, lambda: pool.provider.initiate_auth("rushed", "Wrong-pass-1"))
        # The sixth guess locks (the clock stands still): six were checked, six refused.
        assert answers == ["NotAuthorized"] * 6 + ["TooManyFailedAttempts"] * 6

    def test_concurrent_right_passwords_all_sign_in(self, pool: Pool) -> None:
        pool.confirmed("busy")
        answers = _at_once(12, lambda: pool.tokens("busy"))
        assert answers == ["signed in"] * 12


class TestSendingCodes:
    def test_sms_challenges_text_at_most_five_codes_an_hour(self, pool: Pool) -> None:
        pool.confirmed("texted")
        caller = pool.caller(pool.tokens("texted").id_token)
        pool.provider.update_user_attributes(caller, UserAttributes(phone_number=PHONE))
        pool.provider.verify_user_attribute(caller, "phone_number", pool.mailbox.last_code(PHONE))
        pool.provider.set_sms_mfa(caller, True)
        texts_before = sum(message.to == PHONE for message in pool.mailbox.messages)

        challenges = [pool.challenge("texted") for _ in range(6)]
        texts = sum(message.to == PHONE for message in pool.mailbox.messages) - texts_before
        assert texts == 5
        assert len({challenge.delivery for challenge in challenges}) == 1, "the same answer"
        # The sixth sent nothing; the last code sent still answers it.
        pool.provider.respond_to_challenge(
            "texted", "SMS_MFA", challenges[-1].session, {"code": pool.mailbox.last_code(PHONE)})

        pool.clock.advance(3601)
        pool.challenge("texted")
        assert sum(message.to == PHONE for message in pool.mailbox.messages) == (
            texts_before + texts + 1)

    def test_changing_an_attribute_sends_within_the_same_allowance(self, pool: Pool) -> None:
        pool.confirmed("mover")
        caller = pool.caller(pool.tokens("mover").id_token)
        for number in range(5):
            pool.provider.update_user_attributes(
                caller, UserAttributes(email=f"mover{number}@example.com"))
        with pytest.raises(LimitExceededError):
            pool.provider.update_user_attributes(
                caller, UserAttributes(email="victim@example.com"))
        assert pool.provider.admin_get_user("mover").email == "mover4@example.com"
        assert not any(message.to == "victim@example.com" for message in pool.mailbox.messages)


class TestCodesTypedForAName:
    """Unknown users, users past that step, and users with a code waiting answer alike."""

    @staticmethod
    def _answers(attempt: Callable[..., object], *args: str, tries: int = 6) -> list[str]:
        answers = []
        for _ in range(tries):
            try:
                attempt(*args)
            except (CodeMismatchError, TooManyFailedAttemptsError) as exc:
                answers.append(exc.code)
        return answers

    def test_confirming_sign_up(self, pool: Pool) -> None:
        pool.sign_up("pending")
        pool.confirmed("done")
        expected = ["CodeMismatch"] * 5 + ["TooManyFailedAttempts"]
        for name in ("pending", "done", "nobody"):
            answers = self._answers(pool.provider.confirm_sign_up, name, "000000")
            assert answers == expected, name
            pool.provider.resend_confirmation_code(name)  # a new (or pretend) code: tries anew
            again = self._answers(pool.provider.confirm_sign_up, name, "000000", tries=1)
            assert again == ["CodeMismatch"], name

    def test_confirming_a_password_reset(self, pool: Pool) -> None:
        asked = pool.confirmed("asked")
        pool.confirmed("never-asked")
        pool.provider.forgot_password(asked)
        expected = ["CodeMismatch"] * 5 + ["TooManyFailedAttempts"]
        for name in (asked, "never-asked", "nobody@example.com"):
            answers = self._answers(
                pool.provider.confirm_forgot_password, name, "000000", "New-Pass-word-9")
            assert answers == expected, name
