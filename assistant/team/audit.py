"""The audit trail: who asked what in which collection and what was cited, who logged in,
uploaded, deleted, granted. A cited document is recorded with its content hash at the time,
so a report's citation can be traced to the exact version it quoted.

Events older than `audit_days` (ASSISTANT_AUDIT_DAYS; 0 keeps everything) are dropped,
at most once an hour. Passwords and keys are never recorded; a failed login records the
name that was typed and the address it came from.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from .database import Database

PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class Event:
    at: float
    user: str | None
    action: str
    collection: str | None
    detail: dict[str, Any]

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))
        return out


class Audit:
    def __init__(self, db: Database, keep_days: int = 365) -> None:
        self.db = db
        self.keep_days = keep_days
        self._pruned = 0.0

    def record(self, user: str | None, action: str, collection: str | None = None,
               **detail: Any) -> None:
        now = time.time()
        with self.db.connect() as db:
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?)",
                       (now, user, action, collection, json.dumps(detail, ensure_ascii=False)))
            if self.keep_days and now - self._pruned > PRUNE_EVERY:
                db.execute("DELETE FROM audit WHERE at < ?", (now - self.keep_days * 86400,))
                self._pruned = now

    def asked(self, user: str | None, collection: str | None, question: str, answer: Any,
              documents: Any, via: str) -> None:
        """A question and what its answer cited: each document with its content hash then.

        `answer` is a types.Answer; `documents` maps doc_id -> Document (the index generation
        the answer was read from), so the hash is the one of the version quoted.
        """
        cited = []
        for c in answer.citations:
            doc = documents.get(c.chunk.doc_id) if hasattr(documents, "get") else None
            cited.append({"n": c.n, "doc_id": c.chunk.doc_id, "source": c.chunk.source,
                          "start": c.start, "end": c.end,
                          "content_hash": getattr(doc, "content_hash", None)})
        self.record(user, "ask", collection, question=question, via=via, cited=cited)

    def events(self, since: float | None = None, user: str | None = None,
               action: str | None = None) -> list[Event]:
        where, args = [], []
        for column, value in (("at >= ?", since), ("user = ?", user), ("action = ?", action)):
            if value is not None:
                where.append(column)
                args.append(value)
        sql = "SELECT at, user, action, collection, detail FROM audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.db.read() as db:
            rows = db.execute(sql + " ORDER BY at, rowid", args).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def as_csv(events: list[Event]) -> str:
    """One row per event: time, user, action, collection, detail (as JSON)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["time", "user", "action", "collection", "detail"])
    for e in events:
        w.writerow([e.row()["time"], e.user or "", e.action, e.collection or "",
                    json.dumps(e.detail, ensure_ascii=False)])
    return out.getvalue()
