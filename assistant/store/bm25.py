"""BM25 across segments: the scores of one bm25s index (Lucene idf) over the live chunks.

N, each term's document frequency and the average length are taken across all
live segments minus deletions when a query runs, so an update never rescans
old segments and k1, b can change without a rebuild. The top-n search (topn.py)
skips the postings that cannot lift any chunk into the top n.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from .segment import Segment, term_hash

# A query term: (idf x count in the query, its live postings per segment: (segment, rows, tf)).
Term = tuple[np.float32, list[tuple[int, np.ndarray, np.ndarray]]]
QueryTerms = list[tuple[Term, list[np.ndarray]]]  # each query term and the norms it is scored with


class Scorer:
    """BM25 over the live rows of a store's segments: length norms and query postings.

    `deleted` holds, per segment, its deleted rows (ascending). The norms for one
    (k1, b) and the last query's postings are kept, since a search asks for the
    top n and then for its candidates' exact scores with the same query.
    """

    def __init__(self, segments: Sequence[Segment], deleted: Sequence[np.ndarray]) -> None:
        self.segments = list(segments)
        self.deleted = list(deleted)
        self.rows = sum(s.rows - len(d) for s, d in zip(self.segments, self.deleted, strict=True))
        self._norm: list[np.ndarray] = []
        self.norm_min: list[float] = []  # per segment, the smallest norm (for score bounds)
        self._norm_params: tuple[float, float] | None = None
        self._last: tuple[Any, Any] = (None, None)

    def __len__(self) -> int:
        return self.rows

    def norms(self, k1: float, b: float) -> list[np.ndarray]:
        """Per segment, k1 * (1 - b + b * length / average length) of every row (float32)."""
        if self._norm_params != (k1, b):
            total = sum(s.length - int(np.asarray(s.arrays["doclen"])[d].sum())
                        for s, d in zip(self.segments, self.deleted, strict=True))
            avgdl = total / max(self.rows, 1)
            # As bm25s computes it: the length term in float64, then float32 against tf.
            self._norm = [(k1 * ((1 - b) + b * np.asarray(s.arrays["doclen"], dtype=np.float64)
                                 / avgdl)).astype(np.float32) for s in self.segments]
            self.norm_min = [float(x.min()) if len(x) else 1.0 for x in self._norm]
            self._norm_params = (k1, b)
        return self._norm

    def cached_terms(self, tokens: Sequence[str], k1: float, b: float) -> QueryTerms | None:
        """`terms`, kept for the next call with the same query (top-n, then candidates)."""
        key = (tuple(tokens), k1, b)
        last = self._last  # read once: other threads replace it while this one asks
        if last[0] != key:
            last = (key, self.terms(tokens, k1, b))
            self._last = last
        return last[1]

    def terms(self, tokens: Sequence[str], k1: float, b: float) -> QueryTerms | None:
        """Each known query term with its postings, and the per-segment length norms; None if none is known."""
        counts = Counter(tokens)
        if not counts or not len(self):
            return None
        norms = self.norms(k1, b)
        n_docs = len(self)
        out = []
        known = False
        for count, h in zip(counts.values(), term_hash(list(counts)).tolist(), strict=True):
            hits = []
            df = 0
            for i, (s, deleted) in enumerate(zip(self.segments, self.deleted, strict=True)):
                p = s.term(h)
                if p is None:
                    continue
                known = True
                rows, tf = p  # views of the mapped arrays: deleted rows are zeroed after scoring
                df += len(rows)
                if len(deleted) and len(rows):
                    pos = np.clip(np.searchsorted(rows, deleted), 0, len(rows) - 1)
                    df -= int(np.count_nonzero(rows[pos] == deleted))
                if len(rows):
                    hits.append((i, rows, tf))
            idf = np.float32(math.log(1 + (n_docs - df + 0.5) / (df + 0.5)))
            out.append(((np.float32(idf * np.float32(count)), hits), norms))
        return out if known else None

    def everything(self, qterms: QueryTerms
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(keys ascending, scores) of every chunk with a score above 0."""
        acc: dict[int, np.ndarray] = {}
        for term, norms in qterms:
            for i, rows, tf in term[1]:
                if i not in acc:
                    acc[i] = np.zeros(self.segments[i].rows, dtype=np.float32)
                acc[i][rows] += part(term, norms, i, rows, tf)  # a term's rows are distinct
        for i, sc in acc.items():
            sc[self.deleted[i]] = 0
        keys, scores = [], []
        for i, sc in acc.items():
            nz = np.flatnonzero(sc > 0)
            keys.append(np.asarray(self.segments[i].keys[nz]))
            scores.append(sc[nz])
        return _sorted(keys, scores)

    def of(self, qterms: QueryTerms, keys: np.ndarray) -> np.ndarray:
        """Exact scores of the chunks with these keys."""
        out = np.zeros(len(keys), dtype=np.float32)
        for i, s in enumerate(self.segments):
            rows, hit = s.rows_of(keys)
            if len(rows):
                out[np.flatnonzero(hit)] += _lookup(qterms, i, rows)
        return out


def part(term: Term, norms: list[np.ndarray], i: int, rows: np.ndarray, tf: np.ndarray) -> np.ndarray:
    """What a term adds to the BM25 score of these rows of segment i."""
    return term[0] * (tf / (norms[i][rows] + tf))


def _lookup(qterms: QueryTerms, i: int, rows: np.ndarray) -> np.ndarray:
    """Summed contributions of `qterms` to these rows of segment i (postings are row-sorted)."""
    out = np.zeros(len(rows), dtype=np.float32)
    for term, norms in qterms:
        for j, prow, tf in term[1]:
            if j != i or not len(prow):
                continue
            pos = np.clip(np.searchsorted(prow, rows), 0, len(prow) - 1)
            found = prow[pos] == rows
            if found.any():
                out[found] += part(term, norms, i, rows[found], tf[pos[found]])
    return out


def _sorted(keys: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    order = np.argsort(k, kind="stable")  # sorted runs: about linear
    return k[order], s[order]
