"""BM25 across segments: the scores of one bm25s index (Lucene idf) over the live chunks.

N, each term's document frequency and the average length are taken across all
live segments minus deletions when a query runs, so an update never rescans
old segments and k1, b can change without a rebuild. The top-n search skips the
postings of common terms that cannot lift any chunk into the top n (MaxScore):
their contributions are then added only to the candidates found by rarer terms.
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


def top(store: LocalStore, qterms: list[tuple[Term, list[np.ndarray]]], n: int) -> list[tuple[int, float]]:
    """(key, score) of the n best chunks, best first; ties to the lower key.

    MaxScore, exact: terms are scored rarest first into one accumulator per segment;
    before each further term, if the remaining terms' upper bounds together stay below
    the n-th best partial score so far, no chunk they alone reach can enter the top n,
    and they are only looked up for the chunks already found.
    """
    order = sorted(qterms, key=lambda t: sum(len(r) for _, r, _ in t[0][1]))
    bounds = [_bound(store, t) for t in order]
    rest = float(sum(bounds))
    acc: dict[int, np.ndarray] = {}
    touched: dict[int, list[np.ndarray]] = {}
    done = 0
    for term, norms in order:
        if done and rest < _nth(store, acc, touched, n) * (1 - 1e-6):
            break  # no chunk the remaining terms alone reach can enter the top n
        _add(store, acc, touched, term, norms)
        rest -= bounds[done]
        done += 1
    keys, scores = [], []
    for i, sc in acc.items():
        rows = _candidates(sc, touched[i])
        part = sc[rows]
        for term, norms in order[done:]:
            part = part + _lookup([(term, norms)], i, rows)
        if len(part) > n:  # keep this segment's n best, ties included
            keep = part >= np.partition(part, len(part) - n)[len(part) - n]
            rows, part = rows[keep], part[keep]
        keys.append(np.asarray(store.segments[i].keys[rows]))
        scores.append(part)
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    best = np.lexsort((k, -s))[:n]
    return [(int(k[j]), float(s[j])) for j in best if s[j] > 0]


def _bound(store: LocalStore, qterm: tuple[Term, list[np.ndarray]]) -> float:
    """An upper bound of the term's contribution to any chunk: its largest tf against the
    shortest length norm of each segment it occurs in (tf / (norm + tf) grows with tf)."""
    term, _ = qterm
    best = 0.0
    for i, _, tf in term[1]:
        top_tf = float(tf.max())
        best = max(best, top_tf / (store._norm_min[i] + top_tf))
    return float(term[0]) * best * (1 + 1e-6)


def _add(store: LocalStore, acc: dict[int, np.ndarray], touched: dict[int, list[np.ndarray]],
         term: Term, norms: list[np.ndarray]) -> None:
    """Add one term's contribution to every chunk it occurs in (deleted rows stay 0)."""
    for i, rows, tf in term[1]:
        if i not in acc:
            acc[i] = np.zeros(store.segments[i].rows, dtype=np.float32)
            touched[i] = []
        acc[i][rows] += _part(term, norms, i, rows, tf)  # a term's rows are distinct
        deleted = store._deleted[i]
        if len(deleted):
            acc[i][deleted] = 0
        touched[i].append(rows)


def _candidates(sc: np.ndarray, touched: list[np.ndarray]) -> np.ndarray:
    """Rows of segment i with a partial score above 0, ascending."""
    if sum(len(r) for r in touched) * 8 < len(sc):
        rows = np.unique(np.concatenate(touched)) if len(touched) > 1 else np.asarray(touched[0])
        return rows[sc[rows] > 0].astype(np.int64)
    return np.flatnonzero(sc)


def _nth(store: LocalStore, acc: dict[int, np.ndarray], touched: dict[int, list[np.ndarray]],
         n: int) -> float:
    """The n-th best partial score so far (a lower bound of the final n-th best)."""
    vals = [sc[_candidates(sc, touched[i])] for i, sc in acc.items()]
    v = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float32)
    if len(v) < n:
        return -math.inf  # fewer than n candidates: nothing can be skipped
    return float(np.partition(v, len(v) - n)[len(v) - n])


def _sorted(keys: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    order = np.argsort(k, kind="stable")  # sorted runs: about linear
    return k[order], s[order]
