"""The embedded pool's SQLite database: its schema, on the app's `SqliteStore`.

`synchronous=FULL`: a confirmed user must survive a killed process and a power cut.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from app.identity.local.names import subject_key
from app.storage import SqliteStore

log = logging.getLogger(__name__)

# 2: names compare after NFKC as well as case folding (`app.identity.local.names`).
SCHEMA_VERSION = 2

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




def _compare_names_after_nfkc(conn: sqlite3.Connection) -> None:
    """Recompute every user's name keys with NFKC. A user whose new key another already
    holds (two names that only differed invisibly) keeps the old one, and is logged."""
    for sub, username, email in conn.execute(
        "SELECT sub, username, email FROM users"
    ).fetchall():
        try:
            conn.execute(
                "UPDATE users SET username_key = ?, email_key = ? WHERE sub = ?",
                (subject_key(username), subject_key(email) if email else None, sub),
            )
        except sqlite3.IntegrityError:
            log.warning("a user keeps its old name key: another has the same name once "
                        "normalised", extra={"user_sub": sub})


def open_pool_store(path: Path) -> SqliteStore:
    return SqliteStore(
        path, schema=_SCHEMA, schema_version=SCHEMA_VERSION,
        migrations={2: _compare_names_after_nfkc}, synchronous="FULL",
    )
