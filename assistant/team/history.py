"""Conversations kept on the server, per user: list, reopen, rename, delete.

Every query names the owner, so a conversation is found only by the user who had it: an
id guessed or copied from someone else's address finds nothing (and says only that).
The records are the chat's own (cite/records.py), stored as JSON.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .database import Database

MAX_TITLE = 120


@dataclass(frozen=True)
class Conversation:
    id: str
    collection: str
    title: str
    created: float
    updated: float
    records: list[dict[str, Any]]


def title_of(records: list[dict[str, Any]]) -> str:
    """A conversation's first question, shortened, as its title."""
    for r in records:
        q = str(r.get("question") or "").strip()
        if q:
            return q if len(q) <= 60 else q[:57].rstrip() + "\u2026"
    return "New conversation"


class History:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, user: str, conv_id: str | None, collection: str,
             records: list[dict[str, Any]]) -> str:
        """Store `records` as conversation `conv_id` of `user` (a new one when None or not
        theirs); returns its id. The title is kept once set (renamed or first question)."""
        now = time.time()
        body = json.dumps(records, ensure_ascii=False)
        with self.db.connect() as db:
            if conv_id and db.execute("UPDATE conversations SET records = ?, updated = ?, "
                                      "collection = ? WHERE id = ? AND user = ?",
                                      (body, now, collection, conv_id, user)).rowcount:
                return conv_id
            new_id = secrets.token_urlsafe(12)
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (new_id, user, collection, title_of(records), now, now, body))
            return new_id

    def list(self, user: str) -> list[Conversation]:
        """The user's conversations, the latest first (without their records)."""
        with self.db.read() as db:
            rows = db.execute("SELECT id, collection, title, created, updated FROM conversations "
                              "WHERE user = ? ORDER BY updated DESC", (user,)).fetchall()
        return [Conversation(r[0], r[1], r[2], r[3], r[4], []) for r in rows]

    def get(self, user: str, conv_id: str) -> Conversation | None:
        with self.db.read() as db:
            row = db.execute("SELECT id, collection, title, created, updated, records "
                             "FROM conversations WHERE id = ? AND user = ?",
                             (conv_id, user)).fetchone()
        if row is None:
            return None
        return Conversation(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))

    def rename(self, user: str, conv_id: str, title: str) -> bool:
        title = " ".join(title.split())[:MAX_TITLE]
        if not title:
            return False
        with self.db.connect() as db:
            return bool(db.execute("UPDATE conversations SET title = ? WHERE id = ? AND user = ?",
                                   (title, conv_id, user)).rowcount)

    def delete(self, user: str, conv_id: str) -> bool:
        with self.db.connect() as db:
            return bool(db.execute("DELETE FROM conversations WHERE id = ? AND user = ?",
                                   (conv_id, user)).rowcount)
