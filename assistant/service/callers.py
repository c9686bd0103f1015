"""Who calls the API: a personal key, a service key, or the local user of an open server.

    Authorization: Bearer ask_...   a personal key (`assistant key create USER`): that user,
                                    with their roles; looked up in the team database on every
                                    request, so a revoked key, or the key of a removed user,
                                    is refused on the very next one
    Authorization: Bearer KEY       one of ASSISTANT_API_KEYS (keys.Keys): a service key, which
                                    acts as the server's administrator (every collection)
    no key                          only where none is required (keys.Keys.required, and no
                                    account in the team database): the local user, as the chat

Every route asks `identify` first and hands the Identity to the library, which asks the
team's one policy. No key is logged, stored or repeated: only digests are compared.
"""

from __future__ import annotations

from collections.abc import Callable

from ..team import LOCAL, Identity, Team, TeamError
from ..team.accounts import KEY_PREFIX
from .keys import Keys, bearer

SERVICE = "(service key)"  # not a possible user name: the audit trail tells them apart


class Callers:
    """The key policy of one team's server."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.keys = Keys(team.settings)

    def required(self) -> bool:
        """A key is needed: keys are set, the chat has a login, accounts exist, or the server
        listens on more than loopback."""
        return self.keys.required or not self.team.is_open()

    def identify(self, authorization: str | None) -> Identity | None:
        """The caller of a request with this Authorization header; None: refused (401)."""
        key = bearer(authorization)
        if key is not None:
            if key.startswith(KEY_PREFIX):
                user = self.team.accounts.key_user(key)  # None: unknown or revoked
                if user is not None:
                    return self.team.identity(user)  # None: the account is gone
            if self.keys.known(key):
                return Identity(SERVICE, admin=True)
        if not self.required():
            return self.team.identity(None)  # an open server: the local user
        return None

    def none_configured(self) -> bool:
        """No key at all would be accepted: no service key and no personal key in force."""
        return not self.keys.configured and not any(
            k.revoked is None for k in self.team.accounts.keys())


def local(team: Team, user: str | None) -> Callable[[object], Identity | None]:
    """The caller of `assistant mcp` over stdio, where there is no key: whoever runs it reads
    the index folder already, so the local administrator; with `user`, that account's rights,
    looked up again for every message (a grant taken away, or the account removed, applies
    at once)."""
    if user is not None and (team.is_open() or team.identity(user) is None):
        raise TeamError(f"no user {user!r} in the team database (`assistant user list`)")

    def caller(request: object) -> Identity | None:
        if user is None:
            return Identity(LOCAL, admin=True)
        return None if team.is_open() else team.identity(user)  # open: nobody is `user`
    return caller
