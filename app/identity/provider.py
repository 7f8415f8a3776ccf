"""What every user-pool backend does, and the plain values it hands back.

The values are NamedTuples: immutable like frozen dataclasses, and several times cheaper
to define, which counts on a Lambda cold start where this module is always imported.

Both backends (the embedded pool and Amazon Cognito) implement `IdentityProvider` and raise
only the errors of `app.errors`, so nothing outside `identity/` knows which one runs.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Protocol

from app.errors import InvalidParameterError

# Token lifetimes, Cognito's defaults; the stack gives its app client the same.
ID_TOKEN_TTL_SECONDS = 3600
ACCESS_TOKEN_TTL_SECONDS = 3600
REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600

ChallengeName = Literal["SOFTWARE_TOKEN_MFA", "SMS_MFA", "NEW_PASSWORD_REQUIRED"]
VerifiableAttribute = Literal["email", "phone_number"]


class UserAttributes(NamedTuple):
    email: str | None = None
    phone_number: str | None = None


class CodeDelivery(NamedTuple):
    """Where a code went, masked as Cognito masks it (`u***@e***`)."""

    medium: Literal["EMAIL", "SMS"]
    destination: str
    attribute: VerifiableAttribute


class SignUpResult(NamedTuple):
    username: str
    user_sub: str
    confirmed: bool
    delivery: CodeDelivery | None


class TokenSet(NamedTuple):
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"


class Challenge(NamedTuple):
    name: ChallengeName
    session: str
    username: str
    delivery: CodeDelivery | None = None


AuthOutcome = TokenSet | Challenge


class UserRecord(NamedTuple):
    """A user as an operator or `/auth/current_user` sees it."""

    username: str
    sub: str
    email: str | None
    email_verified: bool
    phone_number: str | None
    phone_number_verified: bool
    status: str
    enabled: bool
    mfa_enabled: bool = False
    groups: tuple[str, ...] = ()
    created_at: float | None = None
    preferred_mfa: str | None = None


class AwsCredentials(NamedTuple):
    identity_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str


class TokenSubject(NamedTuple):
    """The parts of verified claims a backend needs to say whether they still hold."""

    username: str
    sub: str
    token_use: Literal["id", "access"]
    issued_at: int
    origin_jti: str | None
    claims: Mapping[str, Any] = MappingProxyType({})


class Caller(NamedTuple):
    """A signed-in caller: the token it presented, already verified and checked."""

    token: str
    subject: TokenSubject

    @property
    def has_access_token(self) -> bool:
        return self.subject.token_use == "access"


class IdentityProvider(Protocol):
    """A user pool with Cognito's semantics.

    Every method raises `app.errors.AppError` subclasses only: `NotAuthorizedError` for a
    wrong password and an unknown user alike, `ServiceUnavailableError` when the pool
    cannot be reached, `NotImplementedFeatureError` for what a backend cannot do.
    """

    @property
    def issuer(self) -> str:
        """The `iss` of this pool's tokens."""
        ...

    @property
    def client_id(self) -> str:
        """The app client: `aud` of ID tokens, `client_id` of access tokens."""
        ...

    # Sign-up.
    def sign_up(self, username: str, password: str, attributes: UserAttributes) -> SignUpResult:
        """Create an unconfirmed user and send a code to the email.

        Raises:
            UsernameExistsError, InvalidPasswordError, InvalidParameterError.
        """
        ...

    def confirm_sign_up(self, username: str, code: str) -> None:
        """Confirm with the code sent at sign-up; an unknown user is a `CodeMismatchError`."""
        ...

    def resend_confirmation_code(self, username: str) -> CodeDelivery:
        """Send a new sign-up code; the same answer for an unknown user."""
        ...

    # Sign-in.
    def initiate_auth(self, username: str, password: str) -> AuthOutcome:
        """Check a password (username or verified email) and sign in or ask a challenge.

        Raises:
            NotAuthorizedError, UserNotConfirmedError, PasswordResetRequiredError,
            TooManyFailedAttemptsError.
        """
        ...

    def respond_to_challenge(
        self, username: str, challenge: ChallengeName, session: str, responses: Mapping[str, str]
    ) -> AuthOutcome:
        """Answer a challenge with `code` or `new_password`."""
        ...

    def refresh(self, refresh_token: str, username: str | None) -> TokenSet:
        """New ID and access tokens from a refresh token (the refresh token is kept)."""
        ...

    def global_sign_out(self, caller: Caller | None, refresh_token: str | None) -> None:
        """Revoke every session of the caller (or of the refresh token's user).

        Quiet when there is nothing to revoke: signing out is idempotent.
        """
        ...

    def cached_subject(self, subject: TokenSubject) -> UserRecord | None:
        """A recent `check_subject` answer that still holds, found without any I/O.

        None means "ask `check_subject`". Called on the event loop for every request, so
        it must never block.
        """
        ...

    def check_subject(self, subject: TokenSubject) -> UserRecord:
        """The user behind verified claims, if they still exist, are enabled and signed in.

        Raises:
            NotAuthorizedError: the user is gone, disabled or signed out.
        """
        ...

    # Account.
    def forgot_password(self, username: str) -> CodeDelivery:
        ...

    def confirm_forgot_password(self, username: str, code: str, password: str) -> None:
        ...

    def change_password(self, caller: Caller, old_password: str, new_password: str) -> None:
        ...

    def get_user_attribute_verification_code(
        self, caller: Caller, attribute: VerifiableAttribute
    ) -> CodeDelivery:
        ...

    def verify_user_attribute(
        self, caller: Caller, attribute: VerifiableAttribute, code: str
    ) -> None:
        ...

    def update_user_attributes(
        self, caller: Caller, attributes: UserAttributes
    ) -> list[CodeDelivery]:
        """Change the email or phone number; a changed one is unverified until confirmed.

        A code is sent to each changed attribute, as Cognito does with auto-verification on.
        """
        ...

    def set_sms_mfa(self, caller: Caller, enabled: bool) -> None:
        """Turn SMS MFA on (needs a verified phone number) or off."""
        ...

    def associate_software_token(self, caller: Caller) -> str:
        """Start TOTP enrolment; returns the base32 secret."""
        ...

    def verify_software_token(self, caller: Caller, code: str) -> None:
        """Finish TOTP enrolment and make TOTP the preferred MFA."""
        ...

    def disable_software_token(self, caller: Caller, code: str) -> None:
        """Turn TOTP MFA off, after checking a current code."""
        ...

    def get_aws_credentials(self, id_token: str) -> AwsCredentials:
        """Temporary AWS credentials for the signed-in user from the identity pool."""
        ...

    # Operators.
    def admin_list_users(self, limit: int = 60) -> list[UserRecord]:
        ...

    def admin_get_user(self, username: str) -> UserRecord:
        ...

    def admin_create_user(
        self, username: str, temporary_password: str, attributes: UserAttributes
    ) -> UserRecord:
        ...

    def admin_confirm_sign_up(self, username: str) -> None:
        ...

    def admin_set_enabled(self, username: str, enabled: bool) -> None:
        ...

    def admin_delete_user(self, username: str) -> None:
        ...

    def admin_reset_user_password(self, username: str) -> None:
        """Refuse sign-in until the user resets their password (compromised credentials)."""
        ...


MAX_USERNAME_LENGTH = 128
_USERNAME_CATEGORIES = frozenset("LMSNP")  # the first letter of a Unicode category


def check_username_characters(username: str) -> None:
    """Cognito's username pattern, `[\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+` of at most 128.

    Both backends apply it before a user is created: no spaces, and none of the invisible
    or control characters that would make two names look alike or act on a terminal.
    Cognito checks it too, but its stand-ins (moto) do not.

    Raises:
        InvalidParameterError: the name breaks the pattern.
    """
    if not 1 <= len(username) <= MAX_USERNAME_LENGTH or any(
        unicodedata.category(character)[0] not in _USERNAME_CATEGORIES
        for character in username
    ):
        raise InvalidParameterError(
            f"Username must be 1 to {MAX_USERNAME_LENGTH} letters, digits, marks, symbols or "
            "punctuation: no spaces or invisible characters."
        )


def mask_email(email: str) -> str:
    """`user@example.com` -> `u***@e***`, as Cognito shows a delivery destination.

    Lower case: emails compare without case, so the mask must not show how one was typed.
    """
    local, _, domain = email.strip().partition("@")
    return f"{local[:1].lower()}***@{domain[:1].lower()}***"


def decoy_delivery(name: str, key: bytes) -> CodeDelivery:
    """A plausible, stable destination for a user who does not exist.

    Cognito with user-existence errors prevented answers unknown users this way, so the
    answer cannot tell who has an account. A typed email is masked just as the account's
    own email would be; any other name gets letters drawn from an HMAC of it, the same
    each time it is asked about.
    """
    if "@" in name:
        return CodeDelivery("EMAIL", mask_email(name), "email")
    digest = hmac.new(key, name.strip().casefold().encode(), hashlib.sha256).digest()
    letters = "abcdefghijklmnopqrstuvwxyz"
    return CodeDelivery(
        "EMAIL", f"{letters[digest[0] % 26]}***@{letters[digest[1] % 26]}***", "email"
    )


def mask_phone(phone: str) -> str:
    """`+15551234567` -> `+*******4567`."""
    return "+" + "*" * max(len(phone) - 5, 0) + phone[-4:]
