"""The team database: one SQLite file (WAL), opened per operation, with its schema in one place.

Every table of the team lives here: accounts.py, history.py and audit.py read and write
through `Database.connect()` only, so a shared server database replaces SQLite by giving
those three the same methods (the protocols in __init__.py), not by editing call sites.
A connection per operation keeps it safe across the chat's threads and the processes of
`assistant user|grant|key ...` running beside a server; WAL lets them read while one writes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import AssistantError

VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, password TEXT, admin INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'local', created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    PRIMARY KEY (grp, user));
CREATE TABLE IF NOT EXISTS grants (
    subject TEXT NOT NULL, collection TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (subject, collection));
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY, docs TEXT NOT NULL, idx TEXT, title TEXT);
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    digest BLOB NOT NULL UNIQUE, created REAL NOT NULL, revoked REAL);
CREATE TABLE IF NOT EXISTS sessions (
    digest BLOB PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (who TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_who ON failures (who, at);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, collection TEXT NOT NULL, title TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, records TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS audit (
    at REAL NOT NULL, user TEXT, action TEXT NOT NULL, collection TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""


class Database:
    """The SQLite file at `path`, made (mode 0600: it holds password hashes) on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False

    def _prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._open() as db:
            db.executescript(SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('version', ?)", (str(VERSION),))
            elif int(row[0]) > VERSION:
                raise AssistantError(f"the team database {self.path.name} was written by a newer "
                                     "version of assistant; upgrade this one")
        self._ready = True

    @contextlib.contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise AssistantError(f"cannot open the team database {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading (never blocked by a writer, in WAL mode)."""
        if not self._ready:
            self._prepare()
        with self._open() as db:
            yield db

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        if not self._ready:
            self._prepare()
        with self._open() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
