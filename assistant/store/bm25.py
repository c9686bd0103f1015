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
from typing import TYPE_CHECKING

import numpy as np

from .segment import term_hash

if TYPE_CHECKING:
    from .local import LocalStore

# A query term: (idf x count in the query, its live postings per segment: (segment, rows, tf)).
Term = tuple[np.float32, list[tuple[int, np.ndarray, np.ndarray]]]


def terms(store: LocalStore, tokens: Sequence[str], k1: float, b: float) -> list[tuple[Term, list[np.ndarray]]] | None:
    """Each known query term with its postings, and the per-segment length norms; None if none is known."""
    counts = Counter(tokens)
    if not counts or not len(store):
        return None
    norms = store._norms(k1, b)
    n_docs = len(store)
    out = []
    known = False
    for count, h in zip(counts.values(), term_hash(list(counts)).tolist(), strict=True):
        hits = []
        df = 0
        for i, (s, deleted) in enumerate(zip(store.segments, store._deleted, strict=True)):
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


def _part(term: Term, norms: list[np.ndarray], i: int, rows: np.ndarray, tf: np.ndarray) -> np.ndarray:
    return term[0] * (tf / (norms[i][rows] + tf))


def everything(store: LocalStore, qterms: list[tuple[Term, list[np.ndarray]]]
               ) -> tuple[np.ndarray, np.ndarray]:
    """(keys ascending, scores) of every chunk with a score above 0."""
    acc: dict[int, np.ndarray] = {}
    for term, norms in qterms:
        for i, rows, tf in term[1]:
            if i not in acc:
                acc[i] = np.zeros(store.segments[i].rows, dtype=np.float32)
            acc[i][rows] += _part(term, norms, i, rows, tf)  # a term's rows are distinct
    for i, sc in acc.items():
        sc[store._deleted[i]] = 0
    keys, scores = [], []
    for i, sc in acc.items():
        nz = np.flatnonzero(sc > 0)
        keys.append(np.asarray(store.segments[i].keys[nz]))
        scores.append(sc[nz])
    return _sorted(keys, scores)


def of(store: LocalStore, qterms: list[tuple[Term, list[np.ndarray]]], keys: np.ndarray) -> np.ndarray:
    """Exact scores of the chunks with these keys."""
    out = np.zeros(len(keys), dtype=np.float32)
    for i, s in enumerate(store.segments):
        rows, hit = s.rows_of(keys)
        if len(rows):
            out[np.flatnonzero(hit)] += _lookup(qterms, i, rows)
    return out


def _lookup(qterms: list[tuple[Term, list[np.ndarray]]], i: int, rows: np.ndarray) -> np.ndarray:
    """Summed contributions of `qterms` to these rows of segment i (postings are row-sorted)."""
    out = np.zeros(len(rows), dtype=np.float32)
    for term, norms in qterms:
        for j, prow, tf in term[1]:
            if j != i or not len(prow):
                continue
            pos = np.clip(np.searchsorted(prow, rows), 0, len(prow) - 1)
            found = prow[pos] == rows
            if found.any():
                out[found] += _part(term, norms, i, rows[found], tf[pos[found]])
    return out


def _sorted(keys: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    order = np.argsort(k, kind="stable")  # sorted runs: about linear
    return k[order], s[order]
