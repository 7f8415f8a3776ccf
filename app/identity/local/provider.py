"""`LocalIdentityProvider`: the embedded user pool, with Cognito's semantics.

Data lives in SQLite (`store.py`); secrets in files beside it (`keys.py`). Every method
that decides something from a read does the read and the write in one `BEGIN IMMEDIATE`
transaction, so concurrent requests and several server processes agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.errors import (
    AliasExistsError,
    AppError,
    CodeMismatchError,
    ExpiredCodeError,
    InvalidParameterError,
    LimitExceededError,
    NotAuthorizedError,
    NotFoundError,
    NotImplementedFeatureError,
    PasswordResetRequiredError,
    TooManyFailedAttemptsError,
    UsernameExistsError,
    UserNotConfirmedError,
)
from app.identity.local.codes import CodeBook, CodeCheck
from app.identity.local.issuer import LocalTokenIssuer, TokenUser, new_refresh_token
from app.identity.local.keys import PoolKeys
from app.identity.local.mailer import Mailer
from app.identity.local.messages import CodeMessages
from app.identity.local.names import check_username, subject_key
from app.identity.local.passwords import PasswordHashing, PasswordPolicy
from app.identity.local.session_cache import SessionCheckCache
from app.identity.local.store import open_pool_store
from app.identity.local.throttles import CodeSendLimit, SignInLockout, StandInCodeTries
from app.identity.local.totp import TotpCodes
from app.identity.provider import (
    ID_TOKEN_TTL_SECONDS,
    REFRESH_TOKEN_TTL_SECONDS,
    AuthOutcome,
    AwsCredentials,
    Caller,
    Challenge,
    ChallengeName,
    CodeDelivery,
    SignUpResult,
    TokenSet,
    TokenSubject,
    UserAttributes,
    UserRecord,
    VerifiableAttribute,
)
from app.tokens.errors import TokenRevokedError

log = logging.getLogger(__name__)

DB_FILE = "pool.sqlite3"
SESSIONS_CHANGED_FILE = "sessions.changed"
CHALLENGE_TTL_SECONDS = 180  # Cognito's challenge sessions last 3 minutes.
CHALLENGE_MAX_WRONG_CODES = 5

# Account states, named as Cognito names them.
UNCONFIRMED = "UNCONFIRMED"
CONFIRMED = "CONFIRMED"
FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"
RESET_REQUIRED = "RESET_REQUIRED"
EXTERNAL_PROVIDER = "EXTERNAL_PROVIDER"
_SIGNED_IN_STATES = (CONFIRMED, EXTERNAL_PROVIDER)




def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _refuse_federated_mfa(row: sqlite3.Row) -> None:
    # Federated sign-in never asks for this pool's MFA (the provider does its own, as with
    # Cognito), so turning it on would only make `mfa_enabled` claim a protection.
    if row["status"] == EXTERNAL_PROVIDER:
        raise InvalidParameterError(
            "This account signs in with an identity provider, which asks for its own MFA; "
            "MFA here protects password sign-ins only."
        )


def _mfa_key(sub: str) -> str:
    # Wrong MFA codes lock on a count of their own: a right password clears the sign-in
    # count, and whoever knows the password could otherwise guess codes without end.
    return f"{sub}/mfa"


def _record(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        username=row["username"],
        sub=row["sub"],
        email=row["email"],
        email_verified=bool(row["email_verified"]),
        phone_number=row["phone_number"],
        phone_number_verified=bool(row["phone_number_verified"]),
        status=row["status"],
        enabled=bool(row["enabled"]),
        mfa_enabled=bool(row["totp_enabled"] or row["sms_mfa_enabled"]),
        created_at=row["created_at"],
        preferred_mfa=(
            "SOFTWARE_TOKEN_MFA" if row["totp_enabled"]
            else "SMS_MFA" if row["sms_mfa_enabled"] else None
        ),
    )


def _token_user(row: sqlite3.Row) -> TokenUser:
    return TokenUser(
        sub=row["sub"],
        username=row["username"],
        email=row["email"],
        email_verified=bool(row["email_verified"]),
        phone_number=row["phone_number"],
        phone_number_verified=bool(row["phone_number_verified"]),
    )


@dataclass
class _Deferred:
    """An error decided inside a transaction, raised once the transaction has committed."""

    error: AppError | None = None


class LocalIdentityProvider:
    """The embedded user pool.

    Args:
        directory: where the database, the signing key and the pool secret live.
        issuer: the `iss` of the pool's tokens.
        mailer: how codes reach users.
        policy: the password policy.
        hashing: the password hasher (Argon2id).
        clock: seconds since the epoch; tests pass their own.
    """

    def __init__(
        self,
        directory: Path,
        *,
        issuer: str,
        mailer: Mailer,
        policy: PasswordPolicy | None = None,
        hashing: PasswordHashing | None = None,
        app_name: str = "authgate",
        user_check_ttl_seconds: float = 60,
        federated_providers: Sequence[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self._federated_providers = tuple(federated_providers)
        self.issuer = issuer
        self.app_name = app_name
        self.store = open_pool_store(directory / DB_FILE)
        self.keys = PoolKeys(directory)
        self._messages = CodeMessages(mailer, app_name, lambda: self.keys.secret)
        self._lockout = SignInLockout(self.store)
        self._policy = policy or PasswordPolicy()
        self._hashing = hashing or PasswordHashing()
        self._clock = clock
        self._client_id: str | None = None
        self._token_issuer: LocalTokenIssuer | None = None
        self._codes: CodeBook | None = None
        self._totp: TotpCodes | None = None
        self._checks: SessionCheckCache[UserRecord] = SessionCheckCache(
            directory / SESSIONS_CHANGED_FILE, ttl_seconds=user_check_ttl_seconds
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def client_id(self) -> str:
        """The pool's one app client, created with the pool and kept in it."""
        if self._client_id is None:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('client_id', ?)",
                    (secrets.token_hex(13),),
                )
                row = conn.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
            self._client_id = str(row["value"])
        return self._client_id

    @property
    def _issuer(self) -> LocalTokenIssuer:
        if self._token_issuer is None:
            self._token_issuer = LocalTokenIssuer(
                self.keys, issuer=self.issuer, client_id=self.client_id, clock=self._clock
            )
        return self._token_issuer

    @property
    def codes(self) -> CodeBook:
        if self._codes is None:
            self._codes = CodeBook(self.keys.secret)
        return self._codes

    @property
    def totp(self) -> TotpCodes:
        if self._totp is None:
            self._totp = TotpCodes(self.keys.secret)
        return self._totp

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self.keys.jwks

    def _find(
        self, conn: sqlite3.Connection | None, name: str, *, alias: bool = True
    ) -> sqlite3.Row | None:
        """A user by username or, once verified, by email."""
        key = subject_key(name)
        query = "SELECT * FROM users WHERE username_key = ?"
        params: tuple[str, ...] = (key,)
        if alias and "@" in key:
            query = (
                "SELECT * FROM users WHERE email_key = ? AND email_verified = 1 "
                "AND status != 'UNCONFIRMED'"
            )
        if conn is None:
            return self.store.read_one(query, params)
        row: sqlite3.Row | None = conn.execute(query, params).fetchone()
        return row

    def _by_sub(self, conn: sqlite3.Connection, sub: str) -> sqlite3.Row:
        query = "SELECT * FROM users WHERE sub = ?"
        row: sqlite3.Row | None = conn.execute(query, (sub,)).fetchone()
        if row is None:
            raise NotAuthorizedError("User does not exist.")
        return row

    @staticmethod
    def _code_error(check: CodeCheck) -> AppError | None:
        if check in (CodeCheck.MISMATCH, CodeCheck.MISSING):
            return CodeMismatchError()
        if check is CodeCheck.EXPIRED:
            return ExpiredCodeError()
        if check is CodeCheck.EXHAUSTED:
            return TooManyFailedAttemptsError(
                "Too many wrong codes. Ask for a new code, then try again.", retry_after=1
            )
        return None

    def _check_code_for_name(
        self, conn: sqlite3.Connection, sub: str | None, name: str, purpose: str, code: str,
        now: float,
    ) -> CodeCheck:
        """A code typed by someone not signed in, for the user `sub` (None: no such user, or
        one that no code of this purpose can be for). Where no code waits, the tries are
        counted against the typed name, so every name answers alike down to the sixth."""
        check = self.codes.check(conn, sub, purpose, code, now) if sub else CodeCheck.MISSING
        if check is not CodeCheck.MISSING:
            return check
        exhausted = StandInCodeTries.wrong(conn, name, purpose, now)
        return CodeCheck.EXHAUSTED if exhausted else CodeCheck.MISMATCH

    # ------------------------------------------------------------------ sign-up

    def sign_up(self, username: str, password: str, attributes: UserAttributes) -> SignUpResult:
        check_username(username, federated_providers=self._federated_providers)
        if not attributes.email:
            raise InvalidParameterError("An email is required.")
        self._policy.check(password)
        password_hash = self._hashing.hash(password)
        now = self._clock()
        sub = str(uuid.uuid4())
        row = {
            "sub": sub, "username": username, "email": attributes.email,
        }
        try:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO users (sub, username, username_key, email, email_key, "
                    "phone_number, password_hash, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sub, username, subject_key(username), attributes.email,
                     subject_key(attributes.email), attributes.phone_number, password_hash,
                     UNCONFIRMED, now, now),
                )
                code = self.codes.issue(conn, sub, "signup", now)
                CodeSendLimit.allow(conn, username, "send_signup", now)
        except sqlite3.IntegrityError:
            raise UsernameExistsError() from None
        log.info("user signed up", extra={"user_sub": sub})
        delivery = self._messages.send(row, "email", code, "signup")
        return SignUpResult(username=username, user_sub=sub, confirmed=False, delivery=delivery)

    def confirm_sign_up(self, username: str, code: str) -> None:
        now = self._clock()
        deferred = _Deferred()
        try:
            with self.store.write() as conn:
                row = self._find(conn, username, alias=False)
                # An unknown or already confirmed user answers as a wrong code would:
                # nothing says who has an account, or in what state.
                waiting = row["sub"] if row is not None and row["status"] == UNCONFIRMED else None
                check = self._check_code_for_name(conn, waiting, username, "signup", code, now)
                deferred.error = self._code_error(check)
                if deferred.error is None:
                    assert row is not None
                    self.codes.consume(conn, row["sub"], "signup")
                    conn.execute(
                        "UPDATE users SET status = ?, email_verified = 1, updated_at = ? "
                        "WHERE sub = ?",
                        (CONFIRMED, now, row["sub"]),
                    )
        except sqlite3.IntegrityError:
            # The partial unique index: another confirmed user verified this email first.
            raise AliasExistsError() from None
        if deferred.error is not None:
            raise deferred.error
        log.info("user confirmed", extra={"user_sub": row["sub"] if row else None})

    def resend_confirmation_code(self, username: str) -> CodeDelivery:
        now = self._clock()
        code: str | None = None
        with self.store.write() as conn:
            allowed = CodeSendLimit.allow(conn, username, "send_signup", now)
            row = self._find(conn, username, alias=False)
            if allowed and row is not None and row["status"] == UNCONFIRMED:
                code = self.codes.issue(conn, row["sub"], "signup", now)
            elif allowed:  # a pretend code: its wrong tries start over, as a real one's
                StandInCodeTries.forget(conn, username, "signup")
        if not allowed:
            raise LimitExceededError(retry_after=3600)
        if row is None:
            return self._messages.decoy(username)
        if code is None:
            # Already confirmed: nothing to send, and the answer looks the same.
            return self._messages.delivery(row, "email")
        return self._messages.send(row, "email", code, "signup")

    # ------------------------------------------------------------------ sign-in

    def initiate_auth(self, username: str, password: str) -> AuthOutcome:
        now = self._clock()
        row = self._find(None, username)
        # Failures count against the account, whichever of its names is typed; an unknown
        # name keeps a count of its own, so that it locks exactly like a real one.
        lockout_key = row["sub"] if row else username
        with self._lockout.attempt(lockout_key, now) as failures:
            # Unknown users cost one hash too, and get the same answer as a wrong password.
            if not self._hashing.verify(row["password_hash"] if row else None, password):
                log.info("sign-in failed", extra={"failures": failures})
                raise NotAuthorizedError()
            with self.store.write() as conn:
                self._lockout.clear(conn, lockout_key)
        assert row is not None
        if self._hashing.needs_rehash(row["password_hash"]):
            self._set_password(row["sub"], password, keep_status=True)
        if not row["enabled"]:
            raise NotAuthorizedError("User is disabled.")
        if row["status"] == UNCONFIRMED:
            raise UserNotConfirmedError()
        if row["status"] == RESET_REQUIRED:
            raise PasswordResetRequiredError()
        if row["status"] == FORCE_CHANGE_PASSWORD:
            return self._challenge(row, "NEW_PASSWORD_REQUIRED")
        return self._after_first_factor(row)

    def _after_first_factor(self, row: sqlite3.Row) -> AuthOutcome:
        if row["totp_enabled"]:
            return self._challenge(row, "SOFTWARE_TOKEN_MFA")
        if row["sms_mfa_enabled"] and row["phone_number_verified"]:
            return self._challenge(row, "SMS_MFA")
        return self._start_session(row)

    def _challenge(self, row: sqlite3.Row, name: ChallengeName) -> Challenge:
        session = secrets.token_urlsafe(48)
        now = self._clock()
        delivery = None
        with self.store.write() as conn:
            conn.execute("DELETE FROM challenges WHERE expires_at < ?", (now,))
            conn.execute(
                "INSERT INTO challenges (session_hash, user_sub, name, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (_sha256(session), row["sub"], name, now + CHALLENGE_TTL_SECONDS),
            )
            # Texts are limited per account: past the hour's allowance the challenge looks
            # the same, but no text goes out and the last code sent stays valid.
            code = None
            if name == "SMS_MFA" and CodeSendLimit.allow(conn, row["sub"], "send_sms_mfa", now):
                code = self.codes.issue(conn, row["sub"], "sms_mfa", now)
        if name == "SMS_MFA":
            if code is None:
                log.warning("SMS MFA code not sent: the hour's allowance is spent",
                            extra={"user_sub": row["sub"]})
                delivery = self._messages.delivery(row, "phone_number")
            else:
                delivery = self._messages.send(row, "phone_number", code, "sms_mfa")
        return Challenge(name=name, session=session, username=row["username"], delivery=delivery)

    def _start_session(self, row: sqlite3.Row) -> TokenSet:
        now = self._clock()
        origin_jti = str(uuid.uuid4())
        refresh = new_refresh_token()
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO sessions (origin_jti, user_sub, refresh_hash, auth_time, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (origin_jti, row["sub"], _sha256(refresh), int(now),
                 now + REFRESH_TOKEN_TTL_SECONDS),
            )
        id_token, access_token = self._issuer.issue(
            _token_user(row), origin_jti=origin_jti, auth_time=int(now)
        )
        log.info("user signed in", extra={"user_sub": row["sub"]})
        return TokenSet(id_token, access_token, refresh, expires_in=ID_TOKEN_TTL_SECONDS)

    def respond_to_challenge(
        self, username: str, challenge: ChallengeName, session: str, responses: Mapping[str, str]
    ) -> AuthOutcome:
        now = self._clock()
        row = self._challenged_user(username, challenge, session, now)
        if challenge == "NEW_PASSWORD_REQUIRED":
            new_password = responses.get("new_password") or ""
            self._policy.check(new_password)
            password_hash = self._hashing.hash(new_password)
            with self._write_affecting_sessions() as conn:
                self._claim_challenge(conn, session)
                conn.execute(
                    "UPDATE users SET password_hash = ?, status = ?, updated_at = ? WHERE sub = ?",
                    (password_hash, CONFIRMED, now, row["sub"]),
                )
                row = self._by_sub(conn, row["sub"])
            return self._after_first_factor(row)
        code = responses.get("code") or ""
        deferred = _Deferred()
        with self._lockout.attempt(_mfa_key(row["sub"]), now), self.store.write() as conn:
            if challenge == "SOFTWARE_TOKEN_MFA":
                deferred.error = self._check_totp(conn, row, code, now)
            else:
                deferred.error = self._code_error(
                    self.codes.check(conn, row["sub"], "sms_mfa", code, now)
                )
                if deferred.error is None:
                    self.codes.consume(conn, row["sub"], "sms_mfa")
                    self._lockout.clear(conn, _mfa_key(row["sub"]))
            if deferred.error is None:
                self._claim_challenge(conn, session)
            else:
                self._count_challenge_failure(conn, session)
            row = self._by_sub(conn, row["sub"])
        if deferred.error is not None:
            raise deferred.error
        return self._start_session(row)

    def _challenged_user(
        self, username: str, challenge: ChallengeName, session: str, now: float
    ) -> sqlite3.Row:
        """The user a challenge session was issued to, if it may still be answered."""
        found = self.store.read_one(
            "SELECT c.*, u.enabled, u.status FROM challenges c "
            "JOIN users u ON u.sub = c.user_sub WHERE c.session_hash = ?",
            (_sha256(session),),
        )
        owner = self._find(None, username)
        # Bound to the user and the challenge it was issued for, and only while the user is
        # in the state it was issued in: a reset or a disable meanwhile ends it.
        expected_status = (
            (FORCE_CHANGE_PASSWORD,) if challenge == "NEW_PASSWORD_REQUIRED" else _SIGNED_IN_STATES
        )
        if (
            found is None
            or found["expires_at"] < now
            or found["attempts"] >= CHALLENGE_MAX_WRONG_CODES
            or found["name"] != challenge
            or owner is None
            or owner["sub"] != found["user_sub"]
            or not found["enabled"]
            or found["status"] not in expected_status
        ):
            raise NotAuthorizedError("Invalid session for the user, session is expired.")
        return owner

    @staticmethod
    def _claim_challenge(conn: sqlite3.Connection, session: str) -> None:
        """Use a challenge session up, inside the transaction that answers it: of two
        answers at once, only one gets through."""
        claimed = conn.execute(
            "DELETE FROM challenges WHERE session_hash = ?", (_sha256(session),)
        ).rowcount
        if claimed != 1:
            raise NotAuthorizedError("Invalid session for the user, session is expired.")

    @staticmethod
    def _count_challenge_failure(conn: sqlite3.Connection, session: str) -> None:
        # The session dies after a few wrong codes, so 3 minutes cannot be spent guessing.
        conn.execute(
            "UPDATE challenges SET attempts = attempts + 1 WHERE session_hash = ?",
            (_sha256(session),),
        )

    def refresh(self, refresh_token: str, username: str | None) -> TokenSet:
        now = self._clock()
        with self.store.write() as conn:
            found = conn.execute(
                "SELECT s.origin_jti, s.auth_time, s.expires_at, s.revoked_at, u.* "
                "FROM sessions s JOIN users u ON u.sub = s.user_sub WHERE s.refresh_hash = ?",
                (_sha256(refresh_token),),
            ).fetchone()
        if (
            found is None
            or found["revoked_at"] is not None
            or found["expires_at"] < now
            or not found["enabled"]
            or found["status"] not in _SIGNED_IN_STATES
        ):
            raise NotAuthorizedError("Invalid Refresh Token")
        id_token, access_token = self._issuer.issue(
            _token_user(found), origin_jti=found["origin_jti"], auth_time=found["auth_time"]
        )
        return TokenSet(id_token, access_token, None, expires_in=ID_TOKEN_TTL_SECONDS)

    def _revoke_sessions(
        self, conn: sqlite3.Connection, sub: str, now: float, keep: str | None = None
    ) -> None:
        conn.execute(
            "UPDATE sessions SET revoked_at = ? WHERE user_sub = ? AND revoked_at IS NULL "
            "AND origin_jti != ?",
            (now, sub, keep or ""),
        )
        # A sign-in waiting for its second step started under the old state: it ends too.
        conn.execute("DELETE FROM challenges WHERE user_sub = ?", (sub,))

    def global_sign_out(self, caller: Caller | None, refresh_token: str | None) -> None:
        now = self._clock()
        with self._write_affecting_sessions() as conn:
            sub = caller.subject.sub if caller else None
            if sub is None and refresh_token:
                found = conn.execute(
                    "SELECT user_sub FROM sessions WHERE refresh_hash = ?",
                    (_sha256(refresh_token),),
                ).fetchone()
                sub = found["user_sub"] if found else None
            if sub is not None:
                self._revoke_sessions(conn, sub, now)
        if sub is not None:
            log.info("user signed out", extra={"user_sub": sub})

    @staticmethod
    def _session_key(subject: TokenSubject) -> str:
        return f"{subject.sub}:{subject.origin_jti}"

    def cached_subject(self, subject: TokenSubject) -> UserRecord | None:
        return self._checks.get(self._session_key(subject))

    def check_subject(self, subject: TokenSubject) -> UserRecord:
        stamp = self._checks.current_stamp()
        row = self.store.read_one(
            "SELECT u.*, s.revoked_at AS session_revoked_at FROM users u "
            "JOIN sessions s ON s.user_sub = u.sub AND s.origin_jti = ? WHERE u.sub = ?",
            (subject.origin_jti or "", subject.sub),
        )
        if row is None:
            raise TokenRevokedError("no such session or user")
        if not row["enabled"]:  # said before the revocation that disabling also made
            raise NotAuthorizedError("User is disabled.")
        if row["session_revoked_at"] is not None:
            raise TokenRevokedError("the session was signed out")
        if row["status"] not in _SIGNED_IN_STATES:
            raise TokenRevokedError(f"the user's status is {row['status']}")
        record = _record(row)
        self._checks.put(self._session_key(subject), record, stamp)
        return record

    @contextmanager
    def _write_affecting_sessions(self) -> Iterator[sqlite3.Connection]:
        """A write that can change what `check_subject` answers (a sign-out, a disabled
        user, new attributes): once committed, cached answers in every process are dropped."""
        with self.store.write() as conn:
            yield conn
        self._checks.invalidate()

    # ------------------------------------------------------------------ passwords

    def _set_password(self, sub: str, password: str, *, keep_status: bool = False) -> None:
        password_hash = self._hashing.hash(password)
        with self._write_affecting_sessions() as conn:
            if keep_status:
                conn.execute(
                    "UPDATE users SET password_hash = ? WHERE sub = ?", (password_hash, sub)
                )
            else:
                conn.execute(
                    "UPDATE users SET password_hash = ?, status = ?, updated_at = ? WHERE sub = ?",
                    (password_hash, CONFIRMED, self._clock(), sub),
                )

    def forgot_password(self, username: str) -> CodeDelivery:
        now = self._clock()
        code: str | None = None
        with self.store.write() as conn:
            row = self._find(conn, username)
            # Per account, whether its username or email is typed (as the lockout).
            allowed = CodeSendLimit.allow(conn, row["sub"] if row else username, "send_reset", now)
            usable = row is not None and row["enabled"] and row["status"] in (
                CONFIRMED, RESET_REQUIRED, FORCE_CHANGE_PASSWORD
            )
            if allowed and row is not None and usable:
                code = self.codes.issue(conn, row["sub"], "reset", now)
            elif allowed:  # a pretend code: its wrong tries start over, as a real one's
                StandInCodeTries.forget(conn, username, "reset")
        if not allowed:
            raise LimitExceededError(retry_after=3600)
        if row is None or code is None:
            return self._messages.decoy(username)
        return self._messages.send(row, "email", code, "reset")

    def confirm_forgot_password(self, username: str, code: str, password: str) -> None:
        now = self._clock()
        deferred = _Deferred()
        with self.store.write() as conn:
            row = self._find(conn, username)
            deferred.error = self._code_error(self._check_code_for_name(
                conn, row["sub"] if row else None, username, "reset", code, now
            ))
        if deferred.error is not None:
            raise deferred.error
        assert row is not None
        # Checked after the code, and without using it up: a refused password can be retried.
        self._policy.check(password)
        password_hash = self._hashing.hash(password)
        with self._write_affecting_sessions() as conn:
            if self.codes.check(conn, row["sub"], "reset", code, now) is not CodeCheck.OK:
                raise ExpiredCodeError()  # used by a concurrent request meanwhile
            self.codes.consume(conn, row["sub"], "reset")
            status = row["status"] if row["status"] == UNCONFIRMED else CONFIRMED
            conn.execute(
                "UPDATE users SET password_hash = ?, status = ?, updated_at = ? WHERE sub = ?",
                (password_hash, status, now, row["sub"]),
            )
            self._lockout.clear(conn, row["sub"])
            self._revoke_sessions(conn, row["sub"], now)
        log.info("password reset", extra={"user_sub": row["sub"]})

    def change_password(self, caller: Caller, old_password: str, new_password: str) -> None:
        row = self.store.read_one("SELECT * FROM users WHERE sub = ?", (caller.subject.sub,))
        if row is None:
            raise NotAuthorizedError()
        with self._lockout.attempt(row["sub"], self._clock()) as failures:
            if not self._hashing.verify(row["password_hash"], old_password):
                log.info("password change refused", extra={"failures": failures})
                raise NotAuthorizedError("Incorrect username or password.")
            with self.store.write() as conn:
                self._lockout.clear(conn, row["sub"])
        self._policy.check(new_password)
        self._set_password(row["sub"], new_password)
        with self._write_affecting_sessions() as conn:
            self._revoke_sessions(conn, row["sub"], self._clock(), keep=caller.subject.origin_jti)

    # ------------------------------------------------------------------ attributes

    def get_user_attribute_verification_code(
        self, caller: Caller, attribute: VerifiableAttribute
    ) -> CodeDelivery:
        now = self._clock()
        purpose = f"verify_{attribute}"
        with self.store.write() as conn:
            row = self._by_sub(conn, caller.subject.sub)
            if not row[attribute]:
                raise InvalidParameterError(f"The user has no {attribute} to verify.")
            if not CodeSendLimit.allow(conn, row["username"], purpose, now):
                raise LimitExceededError(retry_after=3600)
            code = self.codes.issue(conn, row["sub"], purpose, now)
        return self._messages.send(row, attribute, code, purpose)

    def verify_user_attribute(
        self, caller: Caller, attribute: VerifiableAttribute, code: str
    ) -> None:
        now = self._clock()
        purpose = f"verify_{attribute}"
        deferred = _Deferred()
        try:
            with self._write_affecting_sessions() as conn:
                row = self._by_sub(conn, caller.subject.sub)
                deferred.error = self._code_error(
                    self.codes.check(conn, row["sub"], purpose, code, now)
                )
                if deferred.error is None:
                    self.codes.consume(conn, row["sub"], purpose)
                    conn.execute(
                        f"UPDATE users SET {attribute}_verified = 1, updated_at = ? WHERE sub = ?",  # noqa: S608 - attribute is a Literal
                        (now, row["sub"]),
                    )
        except sqlite3.IntegrityError:
            raise AliasExistsError() from None
        if deferred.error is not None:
            raise deferred.error

    def update_user_attributes(
        self, caller: Caller, attributes: UserAttributes
    ) -> list[CodeDelivery]:
        now = self._clock()
        sent: list[tuple[str, str]] = []
        with self._write_affecting_sessions() as conn:
            row = self._by_sub(conn, caller.subject.sub)
            changed = [
                attribute for attribute, value in (
                    ("email", attributes.email), ("phone_number", attributes.phone_number))
                if value is not None and value != row[attribute]
            ]
            # Each change sends a code: the same hourly allowance as verify_attribute, so
            # changes cannot flood an inbox or buy fresh guesses at a code.
            for attribute in changed:
                if not CodeSendLimit.allow(conn, row["username"], f"verify_{attribute}", now):
                    raise LimitExceededError(retry_after=3600)
            if attributes.email is not None and attributes.email != row["email"]:
                # Unverified until confirmed, and so no sign-in alias meanwhile.
                conn.execute(
                    "UPDATE users SET email = ?, email_key = ?, email_verified = 0, "
                    "updated_at = ? WHERE sub = ?",
                    (attributes.email, subject_key(attributes.email), now, row["sub"]),
                )
                sent.append(("email", self.codes.issue(conn, row["sub"], "verify_email", now)))
            if (
                attributes.phone_number is not None
                and attributes.phone_number != row["phone_number"]
            ):
                conn.execute(
                    "UPDATE users SET phone_number = ?, phone_number_verified = 0, "
                    "sms_mfa_enabled = 0, updated_at = ? WHERE sub = ?",
                    (attributes.phone_number, now, row["sub"]),
                )
                sent.append(
                    ("phone_number",
                     self.codes.issue(conn, row["sub"], "verify_phone_number", now))
                )
            row = self._by_sub(conn, caller.subject.sub)
        return [
            self._messages.send(row, attribute, code, f"verify_{attribute}")
            for attribute, code in sent
        ]

    # ------------------------------------------------------------------ TOTP

    def _check_totp(
        self, conn: sqlite3.Connection, row: sqlite3.Row, code: str, now: float
    ) -> AppError | None:
        secret = row["totp_secret"]
        if not secret:
            return NotAuthorizedError("Software token MFA is not set up.")
        step = self.totp.match(secret, code, now, after_step=row["totp_last_step"])
        if step is None:
            return CodeMismatchError()
        # `row` may predate a concurrent answer with the same code: only a later step wins.
        used = conn.execute(
            "UPDATE users SET totp_last_step = ? WHERE sub = ? AND totp_last_step < ?",
            (step, row["sub"], step),
        ).rowcount
        if used != 1:
            return CodeMismatchError()
        self._lockout.clear(conn, _mfa_key(row["sub"]))
        return None

    def associate_software_token(self, caller: Caller) -> str:
        secret, sealed = self.totp.new_secret()
        with self.store.write() as conn:
            _refuse_federated_mfa(self._by_sub(conn, caller.subject.sub))
            conn.execute(
                "UPDATE users SET totp_secret = ?, totp_enabled = 0, totp_last_step = 0 "
                "WHERE sub = ? AND totp_enabled = 0",
                (sealed, caller.subject.sub),
            )
            updated = conn.execute("SELECT changes()").fetchone()[0]
        if not updated:
            raise InvalidParameterError(
                "Software token MFA is already on. Disable it before enrolling a new device."
            )
        return secret

    def verify_software_token(self, caller: Caller, code: str) -> None:
        now = self._clock()
        with (
            self._lockout.attempt(_mfa_key(caller.subject.sub), now),
            self._write_affecting_sessions() as conn,
        ):
            row = self._by_sub(conn, caller.subject.sub)
            if not row["totp_secret"]:
                raise InvalidParameterError("Call /auth/mfa/totp/setup first.")
            error = self._check_totp(conn, row, code, now)
            if error is None:
                conn.execute(
                    "UPDATE users SET totp_enabled = 1, updated_at = ? WHERE sub = ?",
                    (now, row["sub"]),
                )
        if error is not None:
            raise error

    def disable_software_token(self, caller: Caller, code: str) -> None:
        now = self._clock()
        with (
            self._lockout.attempt(_mfa_key(caller.subject.sub), now),
            self._write_affecting_sessions() as conn,
        ):
            row = self._by_sub(conn, caller.subject.sub)
            if not row["totp_enabled"]:
                raise InvalidParameterError("Software token MFA is not on.")
            error = self._check_totp(conn, row, code, now)
            if error is None:
                conn.execute(
                    "UPDATE users SET totp_enabled = 0, totp_secret = NULL, updated_at = ? "
                    "WHERE sub = ?",
                    (now, row["sub"]),
                )
        if error is not None:
            raise error

    def set_sms_mfa(self, caller: Caller, enabled: bool) -> None:
        with self._write_affecting_sessions() as conn:
            row = self._by_sub(conn, caller.subject.sub)
            if enabled:
                _refuse_federated_mfa(row)
            if enabled and not row["phone_number_verified"]:
                raise InvalidParameterError("Verify a phone number before turning SMS MFA on.")
            conn.execute(
                "UPDATE users SET sms_mfa_enabled = ?, updated_at = ? WHERE sub = ?",
                (int(enabled), self._clock(), row["sub"]),
            )

    def get_aws_credentials(self, id_token: str) -> AwsCredentials:
        raise NotImplementedFeatureError(
            "AWS credentials come from a Cognito identity pool, which the local user pool does "
            "not have. Set AUTH_BACKEND=cognito and COGNITO_IDENTITY_POOL_ID to use this route."
        )

    # ------------------------------------------------------------------ operators

    def _admin_row(self, username: str) -> sqlite3.Row:
        row = self._find(None, username)
        if row is None:
            raise NotFoundError(f"No user named {username!r}.")
        return row

    def admin_list_users(self, limit: int = 60) -> list[UserRecord]:
        rows = self.store.read(
            "SELECT * FROM users ORDER BY created_at LIMIT ?", (limit,)
        )
        return [_record(row) for row in rows]

    def admin_get_user(self, username: str) -> UserRecord:
        return _record(self._admin_row(username))

    def admin_create_user(
        self, username: str, temporary_password: str, attributes: UserAttributes
    ) -> UserRecord:
        check_username(username, federated_providers=self._federated_providers)
        self._policy.check(temporary_password)
        password_hash = self._hashing.hash(temporary_password)
        now = self._clock()
        sub = str(uuid.uuid4())
        try:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO users (sub, username, username_key, email, email_key, "
                    "email_verified, phone_number, password_hash, status, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sub, username, subject_key(username), attributes.email,
                     subject_key(attributes.email) if attributes.email else None,
                     int(attributes.email is not None), attributes.phone_number,
                     password_hash, FORCE_CHANGE_PASSWORD, now, now),
                )
        except sqlite3.IntegrityError:
            # The username's unique index, or the verified email's (another user holds it).
            if self._find(None, username, alias=False) is None:
                raise AliasExistsError() from None
            raise UsernameExistsError() from None
        return self.admin_get_user(username)

    def admin_confirm_sign_up(self, username: str) -> None:
        row = self._admin_row(username)
        if row["status"] != UNCONFIRMED:  # as AdminConfirmSignUp refuses
            raise NotAuthorizedError(
                f"User cannot be confirmed. Current status is {row['status']}."
            )
        try:
            with self.store.write() as conn:
                conn.execute(
                    "UPDATE users SET status = ?, email_verified = 1, updated_at = ? "
                    "WHERE sub = ? AND status = ?",
                    (CONFIRMED, self._clock(), row["sub"], UNCONFIRMED),
                )
                self.codes.consume(conn, row["sub"], "signup")
        except sqlite3.IntegrityError:
            raise AliasExistsError() from None

    def admin_set_enabled(self, username: str, enabled: bool) -> None:
        row = self._admin_row(username)
        now = self._clock()
        with self._write_affecting_sessions() as conn:
            conn.execute(
                "UPDATE users SET enabled = ?, updated_at = ? WHERE sub = ?",
                (int(enabled), now, row["sub"]),
            )
            if not enabled:  # as AdminDisableUser: enabling again brings no session back
                self._revoke_sessions(conn, row["sub"], now)

    def admin_delete_user(self, username: str) -> None:
        row = self._admin_row(username)
        with self._write_affecting_sessions() as conn:
            conn.execute("DELETE FROM users WHERE sub = ?", (row["sub"],))

    def admin_reset_user_password(self, username: str) -> None:
        """Mark the credentials compromised: sign-in is refused until a password reset."""
        row = self._admin_row(username)
        now = self._clock()
        with self._write_affecting_sessions() as conn:
            conn.execute(
                "UPDATE users SET status = ?, updated_at = ? WHERE sub = ?",
                (RESET_REQUIRED, now, row["sub"]),
            )
            self._revoke_sessions(conn, row["sub"], now)
            code = self.codes.issue(conn, row["sub"], "reset", now)
        if row["email"]:
            self._messages.send(row, "email", code, "reset")

    def link_external_user(
        self, provider: str, provider_sub: str, email: str | None, email_verified: bool
    ) -> TokenSet:
        """Find or create `<provider>_<sub>` for a federated sign-in, then sign it in.

        Only a user this method created for the same provider and sub is reused. Usernames
        compare without case but subs are case-sensitive, and anyone may sign up with a
        password as `Google_<sub>`: matching the username alone would hand one person's
        provider sign-in another's account. The email is the provider's at each sign-in;
        it is verified (a sign-in alias) only when the provider says so and no other
        confirmed user holds it verified.

        Raises:
            NotAuthorizedError: the username belongs to another user, or the user is disabled.
        """
        username = f"{provider}_{provider_sub}"
        identity = {"providerName": provider, "userId": provider_sub}
        email_key = subject_key(email) if email else None
        now = self._clock()
        with self._write_affecting_sessions() as conn:
            row = self._find(conn, username, alias=False)
            if row is None:
                conn.execute(
                    "INSERT INTO users (sub, username, username_key, email, email_key, "
                    "email_verified, status, identities, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), username, subject_key(username), email, email_key,
                     EXTERNAL_PROVIDER, json.dumps([identity]), now, now),
                )
            elif row["status"] != EXTERNAL_PROVIDER or identity not in json.loads(
                row["identities"] or "[]"
            ):
                log.warning("federated sign-in refused: the username is another user's",
                            extra={"provider": provider, "user_sub": row["sub"]})
                raise NotAuthorizedError("This account cannot be signed in with that provider.")
            else:
                conn.execute(
                    "UPDATE users SET email = ?, email_key = ?, email_verified = 0, "
                    "updated_at = ? WHERE sub = ?",
                    (email, email_key, now, row["sub"]),
                )
            row = self._find(conn, username, alias=False)
            assert row is not None
            if email_verified and email:
                # The partial unique index refuses a second confirmed holder of the email.
                try:
                    conn.execute("SAVEPOINT verify_email")
                    conn.execute(
                        "UPDATE users SET email_verified = 1 WHERE sub = ?", (row["sub"],)
                    )
                    conn.execute("RELEASE verify_email")
                except sqlite3.IntegrityError:
                    conn.execute("ROLLBACK TO verify_email")
                    conn.execute("RELEASE verify_email")
                    log.info("federated email left unverified: another user holds it",
                             extra={"provider": provider, "user_sub": row["sub"]})
                row = self._find(conn, username, alias=False)
        assert row is not None
        if not row["enabled"]:
            raise NotAuthorizedError("User is disabled.")
        return self._start_session(row)

