"""API keys and their usage, kept beside the local pool in `usage.sqlite3`.

A key is stored as its SHA-256 and a short public prefix (to recognise it in a list);
its value is shown once, when it is created. Keys are long random strings, so a fast
hash is enough: there is nothing to guess, unlike a password.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import string
import time
from datetime import date
from pathlib import Path
from typing import NamedTuple

from app.errors import InvalidParameterError, NotFoundError, UsernameExistsError
from app.storage import SqliteStore

USAGE_DB_FILE = "usage.sqlite3"
PREFIX_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    plan         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    enabled      INTEGER NOT NULL DEFAULT 1,
    created_at   REAL NOT NULL
);
-- What quota each key has spent (or reserved) in each quota period.
CREATE TABLE IF NOT EXISTS quota_used (
    key_id        TEXT NOT NULL,
    period_start  TEXT NOT NULL,
    used          INTEGER NOT NULL,
    PRIMARY KEY (key_id, period_start)
);
-- Requests served per key and UTC day, for `keys usage` (as API Gateway's GetUsage).
CREATE TABLE IF NOT EXISTS daily_usage (
    key_id  TEXT NOT NULL,
    day     TEXT NOT NULL,
    used    INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
);
"""


def _check_value(value: str) -> None:
    # Printable ASCII: the header arrives as bytes, and other characters could be read
    # back differently from how they were stored, so the key would never match.
    if not 20 <= len(value) <= 128 or not all("!" <= c <= "~" for c in value):
        raise InvalidParameterError(
            "A key value must be 20 to 128 printable ASCII characters, with no spaces."
        )


class ApiKey(NamedTuple):
    id: str
    name: str
    plan: str
    prefix: str
    enabled: bool
    description: str
    created_at: float

    def public(self) -> dict[str, object]:
        """The record as `keys list --json` prints it (never the value)."""
        return {"id": self.id, "name": self.name, "plan": self.plan, "enabled": self.enabled,
                "prefix": self.prefix, "description": self.description,
                "created_at": self.created_at}


def hash_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_key_value() -> str:
    # 40 characters of [A-Za-z0-9], API Gateway's own shape (it needs 20 to 128).
    return "".join(secrets.choice(_ALPHABET) for _ in range(40))


def _row_to_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(row["id"], row["name"], row["plan"], row["prefix"], bool(row["enabled"]),
                  row["description"], row["created_at"])


class KeyStore:
    def __init__(self, directory: Path) -> None:
        # NORMAL: a quota write must survive a killed process, not a power cut, and
        # skipping the fsync keeps it off the request path's critical cost.
        self.store = SqliteStore(directory / USAGE_DB_FILE, schema=_SCHEMA, schema_version=1,
                                 synchronous="NORMAL")

    # ---------------------------------------------------------------- keys

    def create(self, name: str, plan: str, *, value: str | None = None, description: str = "",
               enabled: bool = True) -> tuple[ApiKey, str]:
        """Store a new key; return it and its value (the only time the value is seen)."""
        value = value or new_key_value()
        _check_value(value)
        key_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        try:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO api_keys (id, name, description, plan, prefix, key_hash, "
                    "enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key_id, name, description, plan, value[:PREFIX_LENGTH], hash_key(value),
                     int(enabled), time.time()),
                )
        except sqlite3.IntegrityError:
            raise UsernameExistsError("A key with this value already exists.") from None
        return self.get(key_id), value

    def get(self, key_id: str) -> ApiKey:
        row = self.store.read_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFoundError(f"No API key with id {key_id!r}. `keys list` shows them.")
        return _row_to_key(row)

    def find_by_name(self, name: str) -> ApiKey | None:
        row = self.store.read_one(
            "SELECT * FROM api_keys WHERE name = ? ORDER BY created_at LIMIT 1", (name,))
        return _row_to_key(row) if row else None

    def list(self) -> list[ApiKey]:
        rows = self.store.read("SELECT * FROM api_keys ORDER BY created_at")
        return [_row_to_key(row) for row in rows]

    def by_hash(self) -> dict[str, ApiKey]:
        """Every key by the hash of its value: what the enforcer looks requests up in."""
        rows = self.store.read("SELECT * FROM api_keys")
        return {row["key_hash"]: _row_to_key(row) for row in rows}

    def import_key(self, name: str, plan: str, *, value: str, description: str = "",
                   enabled: bool = True) -> tuple[ApiKey, bool]:
        """Create the key, or overwrite the one with the same value (name, description,
        plan, enabled), as API Gateway's import does; True when it was created."""
        _check_value(value)
        with self.store.write() as conn:
            existing = conn.execute(
                "SELECT id FROM api_keys WHERE key_hash = ?", (hash_key(value),)
            ).fetchone()
            if existing is not None:
                conn.execute(
                    "UPDATE api_keys SET name = ?, description = ?, plan = ?, enabled = ? "
                    "WHERE id = ?", (name, description, plan, int(enabled), existing["id"]),
                )
        if existing is not None:
            return self.get(existing["id"]), False
        return self.create(name, plan, value=value, description=description,
                           enabled=enabled)[0], True

    def set_enabled(self, key_id: str, enabled: bool) -> ApiKey:
        self.get(key_id)
        with self.store.write() as conn:
            conn.execute("UPDATE api_keys SET enabled = ? WHERE id = ?", (int(enabled), key_id))
        return self.get(key_id)

    # ---------------------------------------------------------------- quota

    def reserve(self, key_id: str, period_start: str, limit: int, wanted: int) -> int:
        """Reserve up to `wanted` requests of the period's quota; return how many."""
        with self.store.write() as conn:
            row = conn.execute(
                "SELECT used FROM quota_used WHERE key_id = ? AND period_start = ?",
                (key_id, period_start),
            ).fetchone()
            used = row["used"] if row else 0
            granted = max(0, min(wanted, limit - used))
            if granted:
                conn.execute(
                    "INSERT INTO quota_used (key_id, period_start, used) VALUES (?, ?, ?) "
                    "ON CONFLICT (key_id, period_start) DO UPDATE SET used = used + ?",
                    (key_id, period_start, granted, granted),
                )
        return granted

    def release(self, reservations: dict[tuple[str, str], int]) -> None:
        """Give back reserved requests that were not used (at a clean shutdown)."""
        with self.store.write() as conn:
            for (key_id, period_start), unused in reservations.items():
                conn.execute(
                    "UPDATE quota_used SET used = MAX(0, used - ?) "
                    "WHERE key_id = ? AND period_start = ?",
                    (unused, key_id, period_start),
                )

    def quota_used(self, key_id: str, period_start: str) -> int:
        row = self.store.read_one(
            "SELECT used FROM quota_used WHERE key_id = ? AND period_start = ?",
            (key_id, period_start),
        )
        return int(row["used"]) if row else 0

    # ---------------------------------------------------------------- usage report

    def add_daily(self, counts: dict[tuple[str, str], int]) -> None:
        with self.store.write() as conn:
            conn.executemany(
                "INSERT INTO daily_usage (key_id, day, used) VALUES (?, ?, ?) "
                "ON CONFLICT (key_id, day) DO UPDATE SET used = used + excluded.used",
                [(key_id, day, count) for (key_id, day), count in counts.items()],
            )

    def daily(self, key_id: str, start: date, end: date) -> dict[str, int]:
        rows = self.store.read(
            "SELECT day, used FROM daily_usage WHERE key_id = ? AND day BETWEEN ? AND ?",
            (key_id, start.isoformat(), end.isoformat()),
        )
        return {row["day"]: int(row["used"]) for row in rows}
