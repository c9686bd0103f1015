"""A team's server: accounts, collections, one policy, private history and an audit trail.

    database.py     the team database (SQLite, WAL; INDEX/team.sqlite) and its schema
    passwords.py    Argon2id hashes
    accounts.py     users, groups, grants, personal API keys, login sessions, failed logins
    collections.py  named documents folders with an index each (TOML or `collection add`)
    policy.py       the one place that decides who may do what with a collection
    history.py      conversations per user, on the server
    audit.py        who asked, cited, uploaded, granted, logged in

`Team` bundles them for one server. Without any login configured (no user in the
database, no ASSISTANT_AUTH, no OIDC, no trusted proxy) the server is *open*: everyone is
the local user with every right, as on a laptop; that is refused off loopback (web/server.py).
"""

from __future__ import annotations

import hmac
from pathlib import Path

from ..config import Settings
from .accounts import Accounts, TeamError
from .audit import Audit
from .collections import Collections
from .database import Database
from .history import History
from .policy import ACTIONS, Forbidden, Identity, NoSuchCollection, Policy

__all__ = ["ACTIONS", "Forbidden", "Identity", "NoSuchCollection", "Team", "TeamError"]

LOCAL = "local"  # who asks on an open server
WINDOW = 15 * 60.0  # seconds over which failed logins are counted


class TooManyAttempts(TeamError):
    """Logins refused for a while after too many failures (per account or per address)."""


class Team:
    """One server's team database, collections and policy, over its settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(Path(settings.team_db or Path(settings.index_dir) / "team.sqlite"))
        self.accounts = Accounts(self.db)
        self.history = History(self.db)
        self.audit = Audit(self.db, settings.audit_days)
        self.collections = Collections(settings, self.db)
        self.policy = Policy(self.collections.names())
        self._legacy = tuple(settings.auth.split(":", 1)) if settings.auth else None

    @property
    def sso(self) -> bool:
        return bool(self.settings.oidc_issuer or self.settings.trusted_proxies)

    def is_open(self) -> bool:
        """No login of any kind is configured: everyone is the local user (loopback only)."""
        return not (self._legacy or self.sso or self.accounts.has_users())

    def identity(self, name: str | None) -> Identity | None:
        """Who `name` is (None: nobody signed in, or an account that no longer exists)."""
        if self.is_open():
            return Identity(LOCAL, admin=True)
        if name is None:
            return None
        if self._legacy is not None and name == self._legacy[0]:
            return Identity(name, admin=True)  # ASSISTANT_AUTH's one account
        user = self.accounts.user(name)
        if user is None:
            return None
        return Identity(user.name, user.admin, self.accounts.roles(user), user.groups)

    def authenticate(self, name: str, password: str, address: str) -> bool:
        """Check a password login; TooManyAttempts once the account or the address has
        failed `login_attempts` times in 15 minutes (checked before the password, so that
        guessing on stops costing the server an Argon2 hash)."""
        limit = self.settings.login_attempts
        who = [f"user:{name}", f"addr:{address}"]
        if any(self.accounts.failures(w, WINDOW) >= limit for w in who):
            self.audit.record(name, "login_refused", address=address, reason="too many attempts")
            raise TooManyAttempts("too many failed logins: wait 15 minutes and try again")
        if self._legacy is not None and name == self._legacy[0]:
            ok = hmac.compare_digest(password.encode(), self._legacy[1].encode())
        else:
            ok = self.accounts.check_password(name, password)
        if ok:
            self.accounts.clear_failures(who[0])
            self.audit.record(name, "login", address=address, method="password")
        else:
            self.accounts.record_failure(who)
            self.audit.record(name, "login_failed", address=address)
        return ok
