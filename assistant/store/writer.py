"""The local store, write side: buffer changes, write a segment, commit in one transaction.

Use inside `store.locked(index_dir)`. An update writes one new segment with the
documents added or changed, records the chunks of changed and removed documents
as deleted, and commits both at once; nothing that did not change is rewritten.
Past `max_segments` the smallest segments are merged into one.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..types import Chunk, Document
from . import catalog, segment
from .local import LocalStore

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
ANN_THRESHOLD = 50_000  # rows from which a segment gets an HNSW index (docs/BENCHMARKS.md)
MAX_SEGMENTS = 8
MERGE_RATIO = 4  # see _tier


class Known(NamedTuple):
    """What the catalog knows about one indexed document, for change detection.

    A NamedTuple, not a dataclass: an update builds one per indexed document.
    """

    path: str
    size: int | None
    mtime_ns: int | None
    content_hash: str
    title: str


@dataclass
class _Add:
    doc: Document
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    tokens: Sequence[Sequence[str]]
    size: int | None
    mtime_ns: int | None
    sentences: tuple[np.ndarray, np.ndarray] | None


class Writer:
    """Changes to one index folder, made live together by `commit()`."""

    def __init__(self, index_dir: Path, manifest: Callable[[], dict[str, Any]],
                 ann_threshold: int = ANN_THRESHOLD, max_segments: int = MAX_SEGMENTS) -> None:
        """`manifest` is called only when the index is new (it may need the model loaded)."""
        index_dir.mkdir(parents=True, exist_ok=True)
        self.index_dir = index_dir
        self.ann_threshold = ann_threshold
        self.max_segments = max_segments
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
        self.cleanup()

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
            name = _new_name(db)
            vectors = np.concatenate([a.vectors for a in self._adds if len(a.chunks)])
            tokens = [t for a in self._adds for t in a.tokens]
            kind, info = self._write_segment(name, keys, vectors, tokens)
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
            _bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._adds, self._removes, self._touches, self._manifest = [], set(), {}, None
        self.cleanup()
        if self.segment_count() > self.max_segments:
            self.merge()

    def _write_segment(self, name: str, keys: np.ndarray, vectors: np.ndarray,
                       tokens: Sequence[Sequence[str]]) -> tuple[str, dict[str, Any]]:
        """Write the new rows where searches find them; returns (kind, info) for the catalog."""
        kind = "hnsw" if len(keys) >= self.ann_threshold else "flat"
        return kind, segment.write(self.index_dir / name, keys, vectors, segment.postings(tokens),
                                   kind)

    def _committing(self, db: Any) -> None:
        """Inside the commit's transaction, before emptied segments are dropped: another
        backend (milvus_writer.py) records what it must do to its own engine here."""

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

    def segment_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM segments").fetchone()[0])

    # --- merging -----------------------------------------------------------

    def merge(self, everything: bool = False) -> int:
        """Merge the smallest segments (all of them with `everything`); returns how many."""
        rows = self.db.execute("SELECT name, live FROM segments ORDER BY live, seq").fetchall()
        if everything:
            names = [r[0] for r in rows]
            if len(names) == 1:
                deleted = self.db.execute("SELECT count(*) FROM deleted").fetchone()[0]
                if not deleted:
                    return 0
        else:
            names = [r[0] for r in _tier(rows, len(rows) - self.max_segments // 2 + 1)]
        if not names:
            return 0
        reader = LocalStore(self.index_dir)
        try:
            by_name = {s.folder.name: (s, d) for s, d in zip(reader.segments, reader._deleted,
                                                               strict=True)}
            parts = [by_name[n] for n in names]
            name = _new_name(self.db)
            keys, vectors, lexical = _merged(parts)
            kind = "hnsw" if len(keys) >= self.ann_threshold else "flat"
            info = segment.write(self.index_dir / name, keys, vectors, lexical, kind)
        finally:
            reader.close()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            seq = int(catalog.get_meta(db, "generation", 0)) + 1
            db.execute("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)",
                       (name, len(keys), len(keys), kind, json.dumps(info), seq))
            marks = ",".join("?" * len(names))
            db.execute(f"DELETE FROM deleted WHERE segment IN ({marks})", names)
            db.execute(f"UPDATE chunks SET segment = ? WHERE segment IN ({marks})", [name, *names])
            db.execute(f"DELETE FROM segments WHERE name IN ({marks})", names)
            _bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.cleanup()
        log.info("merged %d segments into %s (%d chunks)", len(names), name, len(keys))
        return len(names)

    def cleanup(self) -> None:
        """Remove segment folders no commit names (a crash's leftovers, merged or emptied ones)."""
        live = {r[0] for r in self.db.execute("SELECT name FROM segments")}
        for entry in self.index_dir.iterdir():
            if entry.name.startswith("seg-") and entry.name not in live:
                shutil.rmtree(entry, ignore_errors=True)


def _tier(rows: Sequence[tuple[str, int]], want: int) -> list[tuple[str, int]]:
    """The smallest segments to merge (`rows` by live rows ascending): up to `want` of them, and a
    larger one only while it is at most MERGE_RATIO times the rows taken so far.

    So a one-document update never rewrites a big segment (and rebuilds its HNSW graph):
    small segments merge with small ones, and a row is rewritten about log(N) times.
    """
    taken: list[tuple[str, int]] = []
    total = 0
    for name, live in rows[:max(want, 2)]:
        if len(taken) >= 2 and live > MERGE_RATIO * max(total, 1):
            break
        taken.append((name, live))
        total += live
    return taken


def _new_name(db: Any) -> str:
    return f"seg-{int(catalog.get_meta(db, 'generation', 0)) + 1:08d}-{uuid.uuid4().hex[:8]}"


def _bump(db: Any) -> None:
    catalog.set_meta(db, "generation", int(catalog.get_meta(db, "generation", 0)) + 1)


def _merged(parts: Sequence[tuple[segment.Segment, np.ndarray]]
            ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Live keys (ascending), their vectors and merged postings of several segments."""
    all_keys, vecs, lens, terms, rows, tfs = [], [], [], [], [], []
    offset = 0
    for s, deleted in parts:
        live = np.ones(s.rows, dtype=bool)
        live[deleted] = False
        new_row = np.cumsum(live) - 1 + offset
        a = s.arrays
        all_keys.append(np.asarray(s.keys)[live])
        vecs.append(s.reconstruct(np.flatnonzero(live)) if live.any() else None)
        lens.append(np.asarray(a["doclen"])[live])
        counts = np.diff(np.asarray(a["indptr"]))
        t = np.repeat(np.asarray(a["terms"]), counts)
        r = np.asarray(a["rows"]).astype(np.int64)
        ok = live[r]
        terms.append(t[ok])
        rows.append(new_row[r[ok]])
        tfs.append(np.asarray(a["tf"])[ok])
        offset += int(live.sum())
    keys = np.concatenate(all_keys)
    order = np.argsort(keys, kind="stable")  # rows in key order, as every segment keeps them
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    t = np.concatenate(terms)
    r = inverse[np.concatenate(rows)]
    tf = np.concatenate(tfs)
    by = np.lexsort((r, t))
    t, r, tf = t[by], r[by], tf[by]
    uniq, first = np.unique(t, return_index=True)
    indptr = np.append(first, len(t)).astype(np.int64)
    dim = next((v.shape[1] for v in vecs if v is not None), 0)
    vectors = np.concatenate([v for v in vecs if v is not None]) if dim else np.zeros((0, 0))
    lexical = {"doclen": np.concatenate(lens)[order].astype(np.int32), "terms": uniq,
               "indptr": indptr, "rows": r.astype(np.int32), "tf": tf.astype(np.float32)}
    return keys[order], vectors[order], lexical
