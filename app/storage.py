"""SQLite for the app's own state: connections per thread, WAL, write transactions.

One connection per thread, WAL so readers never wait for writers, and `BEGIN IMMEDIATE`
for every write so two processes never interleave a read-modify-write. A storage fault
(read-only directory, full disk) becomes `503 ServiceUnavailable` with a message that
says which, never a 500.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

from app.errors import ServiceUnavailableError

log = logging.getLogger(__name__)


def _reason(exc: Exception, directory: Path) -> str:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or not os.access(directory, os.W_OK):
        return "its directory is read-only"
    if "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return "the disk is full"
    if "locked" in text or "busy" in text:
        return "it is busy"
    return "it cannot be opened"


class SqliteStore:
    """Connections to one database, one per thread, with its schema applied on first use.

    Args:
        path: the database file (created with mode 0600).
        schema: SQL statements separated by ";", applied while `user_version` is older.
        schema_version: the version `schema` brings the file to.
        migrations: by version, what brings existing rows to it from the one before (run in
            the same transaction as the schema, in order, for each version the file lacks).
        synchronous: FULL survives a power cut; NORMAL survives a killed process.
    """

    def __init__(
        self, path: Path, *, schema: str, schema_version: int,
        migrations: Mapping[int, Callable[[sqlite3.Connection], None]] | None = None,
        synchronous: Literal["FULL", "NORMAL"] = "FULL", busy_timeout_ms: int = 10_000,
    ) -> None:
        self.path = path
        self._schema = schema
        self._schema_version = schema_version
        self._migrations = dict(migrations or {})
        self._synchronous = synchronous
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
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        # One connection per thread of a 40-thread pool: SQLite's default 2 MB page cache
        # each would be 80 MB a database for data the OS caches anyway.
        conn.execute("PRAGMA cache_size = -512")
        return conn

    def _unavailable(self, exc: Exception) -> ServiceUnavailableError:
        """A storage fault as a 503 that says which; the connection is dropped, so the next
        request reconnects and service returns on its own once the fault clears."""
        self.close()
        reason = _reason(exc, self.path.parent)
        log.error("storage failure", extra={"database": self.path.name, "reason": reason,
                                            "sqlite_error": str(exc)})
        return ServiceUnavailableError(
            f"The service cannot store changes right now ({reason}). Try again shortly."
        )

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self._ensure_schema()
                conn = self._connect()
            except (sqlite3.Error, OSError) as exc:
                raise self._unavailable(exc) from exc
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
                if version < self._schema_version:
                    for statement in self._schema.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    for target in sorted(self._migrations):
                        if version < target <= self._schema_version:
                            self._migrations[target](conn)
                    conn.execute(f"PRAGMA user_version = {self._schema_version}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            self.path.chmod(0o600)
            self._schema_ready = True

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with suppress(sqlite3.Error):  # a failed rollback leaves the journal to recover
                conn.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, committed on success."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback(conn)
            raise self._unavailable(exc) from exc
        except BaseException:
            self._rollback(conn)
            raise

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc) from exc

    def read_one(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        rows = self.read(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        """Close this thread's connection (the next use opens a new one)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with suppress(sqlite3.Error):
                conn.close()
