"""The local store, read side: segments (FAISS + BM25 arrays) and records in SQLite.

Opening reads the catalog's meta and segments tables and maps each segment's
arrays: a few KB whatever the size. Records (chunks, documents, sentence
vectors) are read by key when a search needs them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from ..types import Chunk, Document
from . import bm25, catalog, topn
from .segment import REBUILD_HINT, Segment


class Documents(Mapping[str, Document]):
    """doc_id -> Document, read from the catalog on demand (a few kept in memory)."""

    def __init__(self, store: LocalStore) -> None:
        self._store = store

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._store.document(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._store.query("SELECT doc_id FROM documents ORDER BY source")])

    def __len__(self) -> int:
        return int(self._store.query("SELECT count(*) FROM documents")[0][0])

    def __contains__(self, doc_id: object) -> bool:
        return bool(self._store.query("SELECT 1 FROM documents WHERE doc_id = ?", (doc_id,)))


class LocalStore:
    """An open index: search it, and read its records by key."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir
        self._lock = threading.Lock()
        try:
            self._db = catalog.connect(index_dir)
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    self.manifest: dict[str, Any] = catalog.get_meta(self._db, "manifest", {})
                    self.generation: int = int(catalog.get_meta(self._db, "generation", 0))
                    seg_rows = self._db.execute(
                        "SELECT name, rows, kind, files FROM segments ORDER BY seq").fetchall()
                    deleted = np.array([r[0] for r in self._db.execute(
                        "SELECT key FROM deleted ORDER BY key")], dtype=np.int64)
                finally:
                    self._db.execute("COMMIT")
        except (sqlite3.DatabaseError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{index_dir}/{catalog.CATALOG} is damaged ({exc}); "
                                    f"{REBUILD_HINT}") from None
        self.segments = self._open_segments(seg_rows)
        # Per segment, its deleted rows (ascending): searches skip them, BM25 statistics
        # leave them out.
        self._deleted: list[np.ndarray] = [s.rows_of(deleted)[0] for s in self.segments]
        self._documents = Documents(self)
        self._norm: list[np.ndarray] = []
        self._norm_min: list[float] = []  # per segment, the smallest norm (for score bounds)
        self._norm_params: tuple[float, float] | None = None
        self._last_terms: tuple[Any, Any] = (None, None)
        self._recent: OrderedDict[str, Document | None] = OrderedDict()

    def _open_segments(self, rows: list[Any]) -> list[Segment]:
        """The catalog's live segments, mapped (another backend keeps its rows elsewhere)."""
        return [Segment(self.path / name, n, kind, json.loads(info)) for name, n, kind, info in rows]

    @property
    def documents(self) -> Documents:
        return self._documents

    def close(self) -> None:
        self._db.close()

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"{self.path}/{catalog.CATALOG} cannot be read ({exc}); "
                                    f"{REBUILD_HINT}") from None

    def __len__(self) -> int:
        return sum(s.rows - len(d) for s, d in zip(self.segments, self._deleted, strict=True))

    @property
    def vector_index(self) -> str:
        kinds = sorted({s.kind for s in self.segments}) or ["flat"]
        return "+".join("exact (flat)" if k == "flat" else "HNSW" for k in kinds)

    # --- records -----------------------------------------------------------

    def document(self, doc_id: str) -> Document | None:
        """The document, or None when it is not in the index (a few recent ones kept)."""
        with self._lock:
            if doc_id in self._recent:
                self._recent.move_to_end(doc_id)
                return self._recent[doc_id]
        rows = self.query(catalog.DOC_QUERY, (doc_id,))
        doc = catalog.document_of(rows[0]) if rows else None
        with self._lock:
            self._recent[doc_id] = doc
            while len(self._recent) > 64:
                self._recent.popitem(last=False)
        return doc

    def listing(self) -> list[tuple[str, str, str]]:
        """(doc_id, title, source) of every document, by source; no text is read."""
        return [tuple(r) for r in self.query("SELECT doc_id, title, source FROM documents "
                                             "ORDER BY source")]

    def chunks(self, keys: Sequence[int]) -> list[Chunk | None]:
        """The chunks with these keys (None for one removed since this store was opened)."""
        wanted = [int(k) for k in keys]
        found: dict[int, tuple[str, str, str]] = {}
        for a in range(0, len(wanted), 500):  # one query per 500 keys, not one per key
            part = wanted[a:a + 500]
            found.update((r[0], r[1:]) for r in self.query(
                f"SELECT key, doc_id, chunk_id, record FROM chunks WHERE key IN "
                f"({','.join('?' * len(part))})", part))
        out: list[Chunk | None] = []
        for key in wanted:
            row = found.get(key)
            doc = self.document(row[0]) if row else None
            out.append(catalog.chunk_of(row[1], row[2], doc) if row and doc else None)
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every live chunk, document by document (for checks and tools, not for searching)."""
        for doc_id in list(self.documents):
            yield from self.document_chunks(doc_id)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        doc = self.document(doc_id)
        if doc is None:
            return []
        rows = self.query("SELECT chunk_id, record FROM chunks WHERE doc_id = ? ORDER BY key", (doc_id,))
        return [catalog.chunk_of(cid, rec, doc) for cid, rec in rows]

    def keys_of(self, doc_ids: Collection[str]) -> np.ndarray:
        keys: list[int] = []
        for d in doc_ids:
            keys.extend(r[0] for r in self.query("SELECT key FROM chunks WHERE doc_id = ?", (d,)))
        return np.array(sorted(keys), dtype=np.int64)

    def sentence_vectors(self, doc_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(spans (n, 2) int64, vectors (n, dim) float16) stored for a document, or None."""
        rows = self.query("SELECT n, dim, spans, vectors FROM sentences WHERE doc_id = ?", (doc_id,))
        return catalog.sentences_of(rows[0]) if rows else None

    # --- search ------------------------------------------------------------

    def dense(self, q: np.ndarray, n: int, keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, inner product) of the n nearest live chunks, among `keys` if given."""
        q = np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)
        found: list[tuple[int, float]] = []
        for s, deleted in zip(self.segments, self._deleted, strict=True):
            allowed = None
            if keys is not None:
                allowed = s.rows_of(keys)[0]
                if not len(allowed):
                    continue
            scores, rows = s.search(q, n, allowed, deleted)
            found.extend(zip(s.keys[rows].tolist(), scores.tolist(), strict=True))
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found[:n]

    def vectors(self, keys: Sequence[int]) -> np.ndarray:
        """Stored vectors of these keys (rows of zeros for keys not found)."""
        arr = np.asarray(keys, dtype=np.int64)
        dim = int(self.manifest.get("dim", 0))
        out = np.zeros((len(arr), dim), dtype=np.float32)
        for s in self.segments:
            rows, hit = s.rows_of(arr)
            if len(rows):
                out[hit] = s.reconstruct(rows)
        return out

    def _norms(self, k1: float, b: float) -> list[np.ndarray]:
        """Per segment, k1 * (1 - b + b * length / average length) of every row (float32)."""
        if self._norm_params != (k1, b):
            total = sum(s.length - int(np.asarray(s.arrays["doclen"])[d].sum())
                        for s, d in zip(self.segments, self._deleted, strict=True))
            avgdl = total / max(len(self), 1)
            # As bm25s computes it: the length term in float64, then float32 against tf.
            self._norm = [(k1 * ((1 - b) + b * np.asarray(s.arrays["doclen"], dtype=np.float64)
                                 / avgdl)).astype(np.float32) for s in self.segments]
            self._norm_min = [float(x.min()) if len(x) else 1.0 for x in self._norm]
            self._norm_params = (k1, b)
        return self._norm

    def _terms(self, tokens: Sequence[str], k1: float, b: float) -> Any:
        """The query's postings, kept for the next call (top-n, then candidates' scores)."""
        key = (tuple(tokens), k1, b)
        last = self._last_terms  # read once: other threads replace it while this one asks
        if last[0] != key:
            last = (key, bm25.terms(self, tokens, k1, b))
            self._last_terms = last
        return last[1]

    def bm25(self, tokens: Sequence[str], k1: float, b: float,
             keys: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(keys, scores) of every live chunk with a BM25 score above 0, keys ascending; None if
        no query term is in the index. See bm25.py: the same scores as one bm25s index."""
        terms = bm25.terms(self, tokens, k1, b)
        if terms is None:
            return None
        got = bm25.everything(self, terms)
        if keys is not None:
            ok = np.isin(got[0], keys)
            got = (got[0][ok], got[1][ok])
        return got

    def bm25_top(self, tokens: Sequence[str], k1: float, b: float, n: int,
                 keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, BM25 score) of the n best live chunks with a score above 0, among `keys`."""
        terms = self._terms(tokens, k1, b)
        if terms is None:
            return []
        if keys is not None:
            scores = bm25.of(self, terms, keys)
            order = np.lexsort((keys, -scores))[:n]
            return [(int(keys[i]), float(scores[i])) for i in order if scores[i] > 0]
        return topn.top(self._norm_min, self._deleted, [s.rows for s in self.segments],
                        [s.keys for s in self.segments], terms, n)

    def bm25_of(self, tokens: Sequence[str], k1: float, b: float, keys: Sequence[int]) -> np.ndarray:
        """BM25 scores of these chunks (0 where no query term occurs)."""
        terms = self._terms(tokens, k1, b)
        arr = np.asarray(keys, dtype=np.int64)
        return bm25.of(self, terms, arr) if terms is not None else np.zeros(len(arr))
