"""The one place that decides what someone may do with a collection.

Every way in asks it: the chat's handlers, the Gradio API, document views and page images,
uploads, exports, reference edits, the HTTP API and MCP. A collection someone may not read
is answered exactly like one that does not exist (NotFound, the same message), so neither
an error nor a list reveals that it is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import AssistantError
from .accounts import ROLES

# The least role each action needs.
ACTIONS: dict[str, str] = {
    "ask": "reader", "read": "reader", "export": "reader",
    "upload": "editor", "delete": "editor", "edit_references": "editor",
    "grant": "admin",
}


class Forbidden(AssistantError):
    """The user may see the collection but not do this there (HTTP 403)."""


class NoSuchCollection(AssistantError):
    """No collection of that name, or none this user may read (HTTP 404, the same text)."""


@dataclass(frozen=True)
class Identity:
    """Who is asking, resolved once per request: their name and their role per collection."""

    name: str
    admin: bool = False  # every role on every collection
    roles: Mapping[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()


class Policy:
    """Rules over a server's collections (their names, in order)."""

    def __init__(self, collections: list[str]) -> None:
        self.collections = collections

    def role(self, who: Identity | None, collection: str) -> str | None:
        if who is None or collection not in self.collections:
            return None
        return "admin" if who.admin else who.roles.get(collection)

    def may(self, who: Identity | None, action: str, collection: str) -> bool:
        role = self.role(who, collection)
        return role is not None and ROLES.index(role) >= ROLES.index(ACTIONS[action])

    def readable(self, who: Identity | None) -> list[str]:
        """The collections `who` may read, in the server's order."""
        return [c for c in self.collections if self.may(who, "read", c)]

    def require(self, who: Identity | None, action: str, collection: str) -> str:
        """`collection` if `who` may do `action` there; else NoSuchCollection or Forbidden."""
        if not self.may(who, "read", collection):
            raise NoSuchCollection(f"no collection {collection!r} here; yours: "
                                   f"{', '.join(self.readable(who)) or 'none'}")
        if not self.may(who, action, collection):
            need = ACTIONS[action]
            raise Forbidden(f"you may read {collection!r} but not {action.replace('_', ' ')} "
                            f"there: that needs the {need} role (ask an administrator for "
                            f"`assistant grant YOU {need} {collection}`)")
        return collection
