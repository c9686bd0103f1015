"""The local store, read side: segments (FAISS + BM25 arrays) over the catalog's records.

Opening reads the catalog's meta and segments tables and maps each segment's
arrays: a few KB whatever the size. Records (chunks, documents, sentence
vectors) are read by key when a search needs them (records.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import bm25, topn
from .records import Records
from .segment import Segment


class LocalStore(Records):
    """An open index: search its segments, and read its records by key."""

    def __init__(self, index_dir: Path) -> None:
        super().__init__(index_dir)
        rows, deleted = self._live
        self.segments = [Segment(self.path / name, n, kind, json.loads(info))
                         for name, n, kind, info in rows]
        # Per segment, its deleted rows (ascending): searches skip them, BM25 statistics
        # leave them out.
        self.deleted: list[np.ndarray] = [s.rows_of(deleted)[0] for s in self.segments]
        self.scorer = bm25.Scorer(self.segments, self.deleted)

    def _snapshot(self, db: sqlite3.Connection) -> None:
        """The commit's live segments and deleted keys."""
        rows = db.execute("SELECT name, rows, kind, files FROM segments ORDER BY seq").fetchall()
        deleted = np.array([r[0] for r in db.execute("SELECT key FROM deleted ORDER BY key")],
                           dtype=np.int64)
        self._live: tuple[list[Any], np.ndarray] = (rows, deleted)

    def __len__(self) -> int:
        return len(self.scorer)

    @property
    def vector_index(self) -> str:
        kinds = sorted({s.kind for s in self.segments}) or ["flat"]
        return "+".join("exact (flat)" if k == "flat" else "HNSW" for k in kinds)

    # --- search ------------------------------------------------------------

    def dense(self, q: np.ndarray, n: int, keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, inner product) of the n nearest live chunks, among `keys` if given."""
        q = np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)
        found: list[tuple[int, float]] = []
        for s, deleted in zip(self.segments, self.deleted, strict=True):
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

    def bm25(self, tokens: Sequence[str], k1: float, b: float,
             keys: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(keys, scores) of every live chunk with a BM25 score above 0, keys ascending; None if
        no query term is in the index. See bm25.py: the same scores as one bm25s index."""
        terms = self.scorer.terms(tokens, k1, b)
        if terms is None:
            return None
        got = self.scorer.everything(terms)
        if keys is not None:
            ok = np.isin(got[0], keys)
            got = (got[0][ok], got[1][ok])
        return got

    def bm25_top(self, tokens: Sequence[str], k1: float, b: float, n: int,
                 keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, BM25 score) of the n best live chunks with a score above 0, among `keys`."""
        terms = self.scorer.cached_terms(tokens, k1, b)
        if terms is None:
            return []
        if keys is not None:
            scores = self.scorer.of(terms, keys)
            order = np.lexsort((keys, -scores))[:n]
            return [(int(keys[i]), float(scores[i])) for i in order if scores[i] > 0]
        return topn.top(self.scorer.norm_min, self.deleted, [s.rows for s in self.segments],
                        [s.keys for s in self.segments], terms, n)

    def bm25_of(self, tokens: Sequence[str], k1: float, b: float, keys: Sequence[int]) -> np.ndarray:
        """BM25 scores of these chunks (0 where no query term occurs)."""
        terms = self.scorer.cached_terms(tokens, k1, b)
        arr = np.asarray(keys, dtype=np.int64)
        return self.scorer.of(terms, arr) if terms is not None else np.zeros(len(arr))
