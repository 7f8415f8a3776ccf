"""The embedded pool's SQLite database: schema, connections and transactions.

One connection per thread, WAL so readers never wait for writers, `synchronous=FULL` so a
committed confirmation survives a killed process and a power cut, and `BEGIN IMMEDIATE`
for every write so two processes never interleave a read-modify-write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    sub                   TEXT PRIMARY KEY,
    username              TEXT NOT NULL,
    username_key          TEXT NOT NULL UNIQUE,
    email                 TEXT,
    email_key             TEXT,
    email_verified        INTEGER NOT NULL DEFAULT 0,
    phone_number          TEXT,
    phone_number_verified INTEGER NOT NULL DEFAULT 0,
    password_hash         TEXT,
    status                TEXT NOT NULL,
    enabled               INTEGER NOT NULL DEFAULT 1,
    totp_secret           TEXT,
    totp_enabled          INTEGER NOT NULL DEFAULT 0,
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    sms_mfa_enabled       INTEGER NOT NULL DEFAULT 0,
    identities            TEXT,
    created_at            REAL NOT NULL,
    updated_at            REAL NOT NULL
);
-- The email is a sign-in alias once verified, so it must name one confirmed user only.
CREATE UNIQUE INDEX IF NOT EXISTS users_verified_email
    ON users(email_key) WHERE email_verified = 1 AND status != 'UNCONFIRMED';
CREATE INDEX IF NOT EXISTS users_email ON users(email_key);

CREATE TABLE IF NOT EXISTS codes (
    user_sub    TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_sub, purpose)
);

CREATE TABLE IF NOT EXISTS sessions (
    origin_jti    TEXT PRIMARY KEY,
    user_sub      TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    refresh_hash  TEXT NOT NULL UNIQUE,
    auth_time     INTEGER NOT NULL,
    expires_at    REAL NOT NULL,
    revoked_at    REAL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_sub);

CREATE TABLE IF NOT EXISTS challenges (
    session_hash  TEXT PRIMARY KEY,
    user_sub      TEXT NOT NULL REFERENCES users(sub) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    expires_at    REAL NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0
);

-- Keyed by what was typed (not by user), so unknown names lock out exactly like real ones.
CREATE TABLE IF NOT EXISTS sign_in_failures (
    subject_key     TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    locked_until    REAL NOT NULL,
    last_failure_at REAL NOT NULL
);

-- Sliding windows for actions Cognito rate-limits per user (LimitExceeded).
CREATE TABLE IF NOT EXISTS action_log (
    subject_key  TEXT NOT NULL,
    action       TEXT NOT NULL,
    at           REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS action_log_subject ON action_log(subject_key, action, at);

CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""


def _unavailable(exc: sqlite3.Error) -> ServiceUnavailableError:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        reason = "its directory is read-only"
    elif "full" in text:
        reason = "the disk is full"
    elif "locked" in text or "busy" in text:
        reason = "it is busy"
    else:
        reason = "it cannot be opened"
    log.error("user pool storage failure", extra={"reason": reason, "sqlite_error": str(exc)})
    return ServiceUnavailableError(
        f"The user pool cannot store changes right now ({reason}). Try again shortly."
    )


class PoolStore:
    """Connections to one pool database, one per thread."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self._ensure_schema()
                conn = self._connect()
            except sqlite3.Error as exc:
                raise _unavailable(exc) from exc
            self._local.conn = conn
        return conn

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._schema_ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            try:
                # WAL is a property of the file: set once, every later connection uses it.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            self.path.chmod(0o600)
            self._schema_ready = True

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, committed on success."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _unavailable(exc) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc

    def read_one(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        rows = self.read(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
