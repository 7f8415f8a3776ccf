"""The embedded pool in process, with a clock and a mailbox the tests control."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest

from app.identity.local.mailer import Message
from app.identity.local.passwords import PasswordHashing
from app.identity.local.provider import LocalIdentityProvider
from app.identity.provider import Caller, Challenge, TokenSet, UserAttributes
from app.tokens.claims import subject_of
from app.tokens.jwks import JwksCache
from app.tokens.verifier import TokenVerifier
from tests.support.clock import Clock
from tests.support.users import PASSWORD


@dataclass
class Mailbox:
    messages: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> None:
        self.messages.append(message)

    def last_code(self, to: str) -> str:
        return next(m.code for m in reversed(self.messages) if m.to == to)


@dataclass
class Pool:
    provider: LocalIdentityProvider
    clock: Clock
    mailbox: Mailbox

    def sign_up(self, username: str, email: str | None = None, **attributes: str) -> str:
        email = email or f"{username}@example.com"
        self.provider.sign_up(username, PASSWORD, UserAttributes(email=email, **attributes))
        return email

    def confirmed(self, username: str, email: str | None = None) -> str:
        email = self.sign_up(username, email)
        self.provider.confirm_sign_up(username, self.mailbox.last_code(email))
        return email

    def tokens(self, username: str, password: str = PASSWORD) -> TokenSet:
        outcome = self.provider.initiate_auth(username, password)
        assert isinstance(outcome, TokenSet), outcome
        return outcome

    def challenge(self, username: str, password: str = PASSWORD) -> Challenge:
        outcome = self.provider.initiate_auth(username, password)
        assert isinstance(outcome, Challenge), outcome
        return outcome

    def with_totp(self, username: str) -> tuple[Caller, pyotp.TOTP]:
        """A confirmed user with TOTP MFA on, and their authenticator; the clock has moved
        past the step whose code the enrolment used."""
        self.confirmed(username)
        caller = self.caller(self.tokens(username).id_token)
        device = pyotp.TOTP(self.provider.associate_software_token(caller))
        self.provider.verify_software_token(caller, device.at(self.clock.now))
        self.clock.advance(30)
        return caller, device

    def caller(self, token: str) -> Caller:
        """The caller a route would see for `token`, verified against the pool's keys."""
        verifier = TokenVerifier(
            issuers=[self.provider.issuer], client_id=self.provider.client_id,
            jwks=JwksCache(preload=self.provider.jwks), clock=self.clock,
        )
        return Caller(token, subject_of(verifier.verify(token, ("id", "access"))))


@pytest.fixture
def pool(tmp_path: Path) -> Pool:
    clock, mailbox = Clock(1_800_000_000.0), Mailbox()
    provider = LocalIdentityProvider(
        tmp_path / "pool", issuer="https://pool.test", mailer=mailbox, clock=clock,
        hashing=PasswordHashing(),
    )
    return Pool(provider, clock, mailbox)
