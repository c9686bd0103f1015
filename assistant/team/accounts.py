"""Users, groups, grants, personal API keys and login sessions, in the team database.

Passwords are stored as Argon2 hashes (passwords.py); API keys and session tokens as
SHA-256 digests: both are long random strings, so a digest cannot be turned back into the
key, and a lookup by digest reveals nothing by its timing. A key is shown once, when made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from ..errors import AssistantError
from . import passwords
from .database import Database

ROLES = ("reader", "editor", "admin")  # each may do what the one before it may, and more
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
KEY_PREFIX = "ask_"


class TeamError(AssistantError):
    """A team command cannot be done as asked (unknown user, bad name, ...)."""


@dataclass(frozen=True)
class User:
    name: str
    admin: bool  # a server administrator: every role on every collection
    source: str  # "local" (a password here), "oidc" or "proxy" (signed in elsewhere)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Key:
    id: str
    user: str
    created: float
    revoked: float | None


def checked_name(kind: str, name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise TeamError(f"{kind} name {name!r} is not allowed: use letters, digits and . _ @ + - "
                        "(at most 128, starting with a letter or digit)")
    return name


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def higher(a: str | None, b: str | None) -> str | None:
    """The stronger of two roles (None: no role)."""
    return max((r for r in (a, b) if r is not None), key=ROLES.index, default=None)


class Accounts:
    """Everything about who someone is and what they were granted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- users ----------------------------------------------------------------

    def add_user(self, name: str, password: str | None, admin: bool = False,
                 source: str = "local") -> None:
        checked_name("user", name)
        if password is not None and (why := passwords.weak(password)):
            raise TeamError(why)
        digest = passwords.hash_password(password) if password is not None else None
        with self.db.connect() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise TeamError(f"user {name!r} exists already")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                       (name, digest, int(admin), source, time.time()))

    def ensure_user(self, name: str, source: str) -> None:
        """The account of someone signed in elsewhere (OIDC, a proxy), made on first sign-in."""
        checked_name("user", name)
        with self.db.connect() as db:
            db.execute("INSERT OR IGNORE INTO users VALUES (?, NULL, 0, ?, ?)",
                       (name, source, time.time()))

    def set_password(self, name: str, password: str) -> None:
        if why := passwords.weak(password):
            raise TeamError(why)
        with self.db.connect() as db:
            if not db.execute("UPDATE users SET password = ? WHERE name = ?",
                              (passwords.hash_password(password), name)).rowcount:
                raise TeamError(f"no user {name!r}")
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def check_password(self, name: str, password: str) -> bool:
        with self.db.read() as db:
            row = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        return passwords.verify(row[0] if row else None, password)

    def remove_user(self, name: str) -> None:
        """The user, their groups, grants, keys and sessions go; their conversations too."""
        with self.db.connect() as db:
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise TeamError(f"no user {name!r}")
            db.execute("DELETE FROM grants WHERE subject = ?", (name,))
            db.execute("DELETE FROM conversations WHERE user = ?", (name,))

    def user(self, name: str) -> User | None:
        with self.db.read() as db:
            row = db.execute("SELECT name, admin, source FROM users WHERE name = ?",
                             (name,)).fetchone()
            if row is None:
                return None
            groups = [g for (g,) in db.execute(
                "SELECT grp FROM members WHERE user = ? ORDER BY grp", (name,))]
        return User(row[0], bool(row[1]), row[2], tuple(groups))

    def users(self) -> list[User]:
        with self.db.read() as db:
            rows = db.execute("SELECT name FROM users ORDER BY name").fetchall()
        return [u for (name,) in rows if (u := self.user(name)) is not None]

    def has_users(self) -> bool:
        with self.db.read() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    # --- groups ---------------------------------------------------------------

    def add_members(self, group: str, names: list[str]) -> None:
        checked_name("group", group)
        with self.db.connect() as db:
            for name in names:
                if not db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                    raise TeamError(f"no user {name!r}: add it first (`assistant user add`)")
                db.execute("INSERT OR IGNORE INTO members VALUES (?, ?)", (group, name))

    def remove_members(self, group: str, names: list[str]) -> None:
        with self.db.connect() as db:
            for name in names:
                db.execute("DELETE FROM members WHERE grp = ? AND user = ?", (group, name))

    def set_groups(self, name: str, groups: list[str]) -> None:
        """Exactly these groups for `name` (an identity provider's groups claim, at sign-in)."""
        with self.db.connect() as db:
            db.execute("DELETE FROM members WHERE user = ?", (name,))
            for g in groups:
                if NAME.fullmatch(g):
                    db.execute("INSERT OR IGNORE INTO members VALUES (?, ?)", (g, name))

    def groups(self) -> dict[str, list[str]]:
        with self.db.read() as db:
            rows = db.execute("SELECT grp, user FROM members ORDER BY grp, user").fetchall()
        out: dict[str, list[str]] = {}
        for g, u in rows:
            out.setdefault(g, []).append(u)
        return out

    # --- grants ---------------------------------------------------------------

    def grant(self, subject: str, role: str, collection: str) -> None:
        """`subject` is a user name or "@group"."""
        if role not in ROLES:
            raise TeamError(f"unknown role {role!r}: use {', '.join(ROLES)}")
        checked_name("group" if subject.startswith("@") else "user", subject.removeprefix("@"))
        with self.db.connect() as db:
            if not subject.startswith("@") and not db.execute(
                    "SELECT 1 FROM users WHERE name = ?", (subject,)).fetchone():
                raise TeamError(f"no user {subject!r}: add it first, or grant @GROUP")
            db.execute("INSERT OR REPLACE INTO grants VALUES (?, ?, ?)",
                       (subject, collection, role))

    def revoke(self, subject: str, collection: str) -> bool:
        with self.db.connect() as db:
            return bool(db.execute("DELETE FROM grants WHERE subject = ? AND collection = ?",
                                   (subject, collection)).rowcount)

    def grants(self) -> list[tuple[str, str, str]]:
        """(subject, collection, role) for every grant."""
        with self.db.read() as db:
            return [tuple(r) for r in db.execute(
                "SELECT subject, collection, role FROM grants ORDER BY collection, subject")]

    def roles(self, user: User) -> dict[str, str]:
        """Collection -> the strongest role `user` holds there, by name or by a group."""
        subjects = [user.name, *(f"@{g}" for g in user.groups)]
        marks = ",".join("?" * len(subjects))
        with self.db.read() as db:
            rows = db.execute(f"SELECT collection, role FROM grants WHERE subject IN ({marks})",
                              subjects).fetchall()
        out: dict[str, str] = {}
        for collection, role in rows:
            if role in ROLES:
                out[collection] = higher(out.get(collection), role) or role
        return out

    # --- personal API keys ----------------------------------------------------

    def create_key(self, user: str) -> tuple[str, str]:
        """(id, key): the key is returned once and only its digest is kept."""
        key_id = secrets.token_hex(4)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        with self.db.connect() as db:
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (user,)).fetchone():
                raise TeamError(f"no user {user!r}")
            db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, NULL)",
                       (key_id, user, _digest(key), time.time()))
        return key_id, key

    def revoke_key(self, key_id: str) -> bool:
        with self.db.connect() as db:
            return bool(db.execute("UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                                   (time.time(), key_id)).rowcount)

    def keys(self, user: str | None = None) -> list[Key]:
        with self.db.read() as db:
            rows = db.execute("SELECT id, user, created, revoked FROM keys"
                              + (" WHERE user = ?" if user else "") + " ORDER BY created",
                              (user,) if user else ()).fetchall()
        return [Key(*r) for r in rows]

    def key_user(self, key: str) -> str | None:
        """The user a key belongs to, or None for an unknown or revoked key."""
        if not key.startswith(KEY_PREFIX):
            return None
        with self.db.read() as db:
            row = db.execute("SELECT user FROM keys WHERE digest = ? AND revoked IS NULL",
                             (_digest(key),)).fetchone()
        return row[0] if row else None

    # --- sessions and failed logins --------------------------------------------

    def open_session(self, user: str, seconds: float) -> str:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.connect() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                       (_digest(token), user, now, now + seconds))
        return token

    def session_user(self, token: str) -> str | None:
        with self.db.read() as db:
            row = db.execute("SELECT user FROM sessions WHERE digest = ? AND expires > ?",
                             (_digest(token), time.time())).fetchone()
        return row[0] if row else None

    def close_session(self, token: str) -> None:
        with self.db.connect() as db:
            db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(token),))

    def record_failure(self, who: list[str]) -> None:
        now = time.time()
        with self.db.connect() as db:
            db.execute("DELETE FROM failures WHERE at < ?", (now - 86400,))
            db.executemany("INSERT INTO failures VALUES (?, ?)", [(w, now) for w in who])

    def failures(self, who: str, seconds: float) -> int:
        with self.db.read() as db:
            return db.execute("SELECT COUNT(*) FROM failures WHERE who = ? AND at > ?",
                              (who, time.time() - seconds)).fetchone()[0]

    def clear_failures(self, who: str) -> None:
        with self.db.connect() as db:
            db.execute("DELETE FROM failures WHERE who = ?", (who,))
