"""The commit point of every store: records in the SQLite catalog, changed in one transaction.

Use inside `store.locked(index_dir)`. An update records the documents added or
changed with their chunks, marks the chunks of changed and removed documents
as deleted, and commits all of it at once; nothing that did not change is
rewritten. Where the new rows' vectors and BM25 postings go is the store's own
(writer.py: segment folders; milvus_writer.py: Milvus).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Chunk, Document
from . import catalog
from .base import Known
from .manifest import FORMAT_VERSION


@dataclass
class _Add:
    doc: Document
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    tokens: Sequence[Sequence[str]]
    size: int | None
    mtime_ns: int | None
    sentences: tuple[np.ndarray, np.ndarray] | None


class CatalogWriter:
    """Changes to one index's records, made live together by `commit()`.

    A store's writer adds where its rows go (`_write_rows`: the local store's segment
    folders, or Milvus), what it records inside the commit's transaction
    (`_committing`) and what it does once the commit is live (`_committed`).
    """

    def __init__(self, index_dir: Path, manifest: Callable[[], dict[str, Any]]) -> None:
        """`manifest` is called only when the index is new (it may need the model loaded)."""
        index_dir.mkdir(parents=True, exist_ok=True)
        self.index_dir = index_dir
        self.db = catalog.connect(index_dir, create=True)
        if catalog.get_meta(self.db, "format_version") is None:
            m = {**manifest(), "format_version": FORMAT_VERSION}
            self.db.execute("BEGIN IMMEDIATE")
            catalog.set_meta(self.db, "format_version", FORMAT_VERSION)
            catalog.set_meta(self.db, "generation", 0)
            catalog.set_meta(self.db, "next_key", 0)
            catalog.set_meta(self.db, "manifest", m)
            self.db.execute("COMMIT")
        self.manifest: dict[str, Any] = catalog.get_meta(self.db, "manifest", {})
        self._adds: list[_Add] = []
        self._removes: set[str] = set()
        self._touches: dict[str, tuple[int, int]] = {}
        self._manifest: dict[str, Any] | None = None

    def close(self) -> None:
        self.db.close()

    # --- what is there -----------------------------------------------------

    def known(self, doc_ids: Collection[str] | None = None) -> dict[str, Known]:
        """What the catalog records about these documents (every document if None).

        With `doc_ids` the rows are read by primary key, so the cost follows the number
        asked for, not the size of the index.
        """
        sql = "SELECT doc_id, path, size, mtime_ns, content_hash, title FROM documents"
        if doc_ids is None:
            return {r[0]: Known._make(r[1:]) for r in self.db.execute(sql)}
        ids = list(dict.fromkeys(doc_ids))
        out: dict[str, Known] = {}
        for a in range(0, len(ids), 500):  # SQLite's limit on bound parameters is 999+
            part = ids[a:a + 500]
            rows = self.db.execute(f"{sql} WHERE doc_id IN ({','.join('?' * len(part))})", part)
            out.update((r[0], Known._make(r[1:])) for r in rows)
        return out

    def stats(self) -> dict[str, tuple[str, int | None, int | None]]:
        """doc_id -> (path, size, mtime_ns) of every document: what a folder scan compares
        each file's stat with (hashes and titles are read only for files whose stat changed)."""
        rows = self.db.execute("SELECT doc_id, path, size, mtime_ns FROM documents")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def any_documents(self) -> bool:
        return self.db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None

    def add(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
            tokens: Sequence[Sequence[str]], size: int | None = None, mtime_ns: int | None = None,
            sentences: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Add (or replace) a document with its chunks, their vectors and BM25 tokens."""
        if not (len(chunks) == len(vectors) == len(tokens)):
            raise ValueError(f"{doc.source}: chunks, vectors and tokens differ in number")
        self._adds.append(_Add(doc, chunks, np.asarray(vectors, dtype=np.float32), tokens,
                               size, mtime_ns, sentences))

    def remove(self, doc_id: str) -> None:
        self._removes.add(doc_id)

    def rebuild(self, manifest: dict[str, Any]) -> None:
        """Replace every document, and the manifest (model, chunking...), at the next commit."""
        self._removes.update(self.known())
        self._manifest = self.manifest = {**manifest, "format_version": FORMAT_VERSION}

    @property
    def rebuilding(self) -> bool:
        return self._manifest is not None

    def touch(self, doc_id: str, size: int, mtime_ns: int) -> None:
        """Record a new stat for a document whose content did not change."""
        self._touches[doc_id] = (size, mtime_ns)

    @property
    def pending(self) -> int:
        return sum(len(a.chunks) for a in self._adds)

    def commit(self) -> None:
        """Write the new segment, then make everything live in one transaction."""
        if not (self._adds or self._removes or self._touches or self._manifest):
            return
        db = self.db
        n = self.pending
        name, info, kind, keys = None, None, "flat", np.zeros(0, dtype=np.int64)
        if n:
            start = int(catalog.get_meta(db, "next_key", 0))
            keys = np.arange(start, start + n, dtype=np.int64)
            name = new_segment_name(db)
            vectors = np.concatenate([a.vectors for a in self._adds if len(a.chunks)])
            tokens = [t for a in self._adds for t in a.tokens]
            kind, info = self._write_rows(name, keys, vectors, tokens)
        db.execute("BEGIN IMMEDIATE")
        try:
            for doc_id in self._removes | {a.doc.doc_id for a in self._adds}:
                self._delete(doc_id)
            if name is not None:
                seq = int(catalog.get_meta(db, "generation", 0)) + 1
                db.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)",
                           (name, n, n, kind, json.dumps(info), seq))
                catalog.set_meta(db, "next_key", int(keys[-1]) + 1)
            i = 0
            for a in self._adds:
                db.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?)",
                           catalog.document_row(a.doc, len(a.chunks), a.size, a.mtime_ns))
                db.execute("INSERT INTO texts VALUES (?,?)", catalog.text_row(a.doc))
                db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?)", catalog.chunk_rows(
                    a.chunks, keys[i:i + len(a.chunks)].tolist(), str(name)))
                i += len(a.chunks)
                if a.sentences is not None:
                    db.execute("INSERT OR REPLACE INTO sentences VALUES (?,?,?,?,?)",
                               catalog.sentence_row(a.doc.doc_id, *a.sentences))
            for doc_id, (size, mtime) in self._touches.items():
                db.execute("UPDATE documents SET size = ?, mtime_ns = ? WHERE doc_id = ?",
                           (size, mtime, doc_id))
            self._committing(db)
            self._drop_empty()
            if self._manifest is not None:
                catalog.set_meta(db, "manifest", self._manifest)
            bump_generation(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._adds, self._removes, self._touches, self._manifest = [], set(), {}, None
        self._committed()

    def _write_rows(self, name: str, keys: np.ndarray, vectors: np.ndarray,
                    tokens: Sequence[Sequence[str]]) -> tuple[str, dict[str, Any]]:
        """Write the new rows where searches find them; returns (kind, info) for the catalog."""
        raise NotImplementedError

    def _committing(self, db: Any) -> None:
        """Inside the commit's transaction, before emptied segments are dropped: a store
        records what it must do to its own engine here (milvus_writer.py)."""

    def _committed(self) -> None:
        """After a commit is live (merges, cleanups, work in another engine)."""

    def merge(self, everything: bool = False) -> int:
        """Merge segments (all with `everything`); returns how many (a store that compacts its
        own rows merges none)."""
        return 0

    def summary(self) -> tuple[str, int]:
        """(the vector index in use, live chunks), for the index report."""
        rows = self.db.execute("SELECT kind, sum(live) FROM segments GROUP BY kind").fetchall()
        kinds = sorted(k for k, _ in rows) or ["flat"]
        return ("+".join("exact (flat)" if k == "flat" else "HNSW" for k in kinds),
                int(sum(n for _, n in rows)))

    def _delete(self, doc_id: str) -> None:
        db = self.db
        for seg, count in db.execute("SELECT segment, count(*) FROM chunks WHERE doc_id = ? "
                                     "GROUP BY segment", (doc_id,)).fetchall():
            db.execute("UPDATE segments SET live = live - ? WHERE name = ?", (count, seg))
        db.execute("INSERT INTO deleted SELECT key, segment FROM chunks WHERE doc_id = ?", (doc_id,))
        for table in ("chunks", "documents", "texts", "sentences"):
            db.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))

    def _drop_empty(self) -> None:
        for (seg,) in self.db.execute("SELECT name FROM segments WHERE live <= 0").fetchall():
            self.db.execute("DELETE FROM deleted WHERE segment = ?", (seg,))
            self.db.execute("DELETE FROM segments WHERE name = ?", (seg,))


def new_segment_name(db: Any) -> str:
    return f"seg-{int(catalog.get_meta(db, 'generation', 0)) + 1:08d}-{uuid.uuid4().hex[:8]}"


def bump_generation(db: Any) -> None:
    catalog.set_meta(db, "generation", int(catalog.get_meta(db, "generation", 0)) + 1)
