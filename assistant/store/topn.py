"""The n best chunks by BM25 without scoring every posting: MaxScore, exact.

The result is the top n of scoring every live chunk (tests/test_store.py).
Terms are scored rarest first into one accumulator per segment. Each term has an
upper bound of what it adds to any chunk (its largest tf against the shortest
length norm). Before each further term, if the bounds of the terms left add up
to less than the n-th best partial score so far, no chunk that only those terms
reach can enter the top n: they are then looked up (binary search in their
row-sorted postings) for the chunks already found, heaviest first, and after
each lookup the chunks that can no longer reach the n-th best score are dropped.
(Splitting a common term into its largest contributions and the rest was tried
and measured slower on the 1M-chunk benchmark: docs/BENCHMARKS.md.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .bm25 import Term
from .bm25 import part as contribution

SLACK = 1e-6  # bounds are float sums; a relative margin keeps the pruning safe


@dataclass
class _Item:
    """A query term still to score: its weight, postings (segment, rows, tf) and bound."""

    weight: np.float32
    postings: list[tuple[int, np.ndarray, np.ndarray]]
    norms: list[np.ndarray]
    bound: float

    @property
    def size(self) -> int:
        return sum(len(r) for _, r, _ in self.postings)

    def contributions(self, j: int, rows: np.ndarray, tf: np.ndarray) -> np.ndarray:
        return contribution((self.weight, self.postings), self.norms, self.postings[j][0], rows,
                            tf)


def top(min_norm: list[float], deleted: list[np.ndarray], seg_rows: list[int], seg_keys: list[np.ndarray],
        qterms: list[tuple[Term, list[np.ndarray]]], n: int) -> list[tuple[int, float]]:
    """(key, score) of the n best live chunks, best first; ties to the lower key."""
    items = sorted((_Item(t[0], t[1], norms, _bound(min_norm, (t, norms))) for t, norms in qterms),
                   key=lambda it: it.size)
    rest = float(sum(it.bound for it in items))
    acc: dict[int, np.ndarray] = {}
    touched: dict[int, list[np.ndarray]] = {}
    theta = -math.inf
    pos = 0
    while pos < len(items):
        it = items[pos]
        # The n-th best partial score is at most the best one (a cheap test first).
        if pos and rest < max((float(sc.max()) for sc in acc.values()), default=0.0) * (1 - SLACK):
            theta = _nth([_top_values(sc, touched[i], n) for i, sc in acc.items()], n)
            if rest < theta * (1 - SLACK):
                break  # no chunk the remaining terms alone reach can enter the top n
        _add(it, acc, touched, seg_rows, deleted)
        rest -= it.bound
        pos += 1
    # Candidates: every chunk found so far that can still reach the n-th best score.
    cands = {}
    for i, sc in acc.items():
        rows = _candidates(sc, touched[i])
        part = sc[rows]
        if pos < len(items):
            keep = part >= theta * (1 - SLACK) - rest
            rows, part = rows[keep], part[keep]
        cands[i] = (rows, part)
    left = sorted(items[pos:], key=lambda it: -it.bound)  # heaviest first
    for step, it in enumerate(left):
        cands = {i: (rows, part + _lookup(it, i, rows)) for i, (rows, part) in cands.items()}
        rest -= it.bound
        if step == len(left) - 1:
            break  # the last one: the selection below takes the n best
        lo = _nth([_top(part, n) for _, part in cands.values()], n) * (1 - SLACK) - rest
        cands = {i: (rows[part >= lo], part[part >= lo]) for i, (rows, part) in cands.items()}
    keys, scores = [], []
    for i, (rows, part) in cands.items():
        if len(part) > n:  # keep this segment's n best, ties included
            keep = part >= np.partition(part, len(part) - n)[len(part) - n]
            rows, part = rows[keep], part[keep]
        keys.append(np.asarray(seg_keys[i][rows]))
        scores.append(part)
    k = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    s = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    best = np.lexsort((k, -s))[:n]
    return [(int(k[j]), float(s[j])) for j in best if s[j] > 0]


def _bound(min_norm: list[float], qterm: tuple[Term, list[np.ndarray]]) -> float:
    """Largest possible contribution: tf / (norm + tf) grows with tf and shrinks with norm."""
    best = 0.0
    for i, _, tf in qterm[0][1]:
        top_tf = float(tf.max())
        best = max(best, top_tf / (min_norm[i] + top_tf))
    return float(qterm[0][0]) * best * (1 + SLACK)


def _add(it: _Item, acc: dict[int, np.ndarray], touched: dict[int, list[np.ndarray]],
         seg_rows: list[int], deleted: list[np.ndarray]) -> None:
    """Add the term's contribution to every chunk it occurs in."""
    for j, (i, rows, tf) in enumerate(it.postings):
        _accumulate(i, rows, it.contributions(j, rows, tf), acc, touched, seg_rows, deleted)


def _accumulate(i: int, rows: np.ndarray, part: np.ndarray, acc: dict[int, np.ndarray],
                touched: dict[int, list[np.ndarray]], seg_rows: list[int], deleted: list[np.ndarray]) -> None:
    if i not in acc:
        acc[i] = np.zeros(seg_rows[i], dtype=np.float32)
        touched[i] = []
    acc[i][rows] += part  # a term's rows are distinct
    if len(deleted[i]):
        acc[i][deleted[i]] = 0  # deleted rows stay 0: never candidates
    touched[i].append(rows)


def _lookup(it: _Item, i: int, rows: np.ndarray) -> np.ndarray:
    """The term's contribution to these rows of segment i (0 where it does not occur)."""
    out = np.zeros(len(rows), dtype=np.float32)
    for j, (s, prow, tf) in enumerate(it.postings):
        if s != i or not len(prow) or not len(rows):
            continue
        if len(rows) * 16 < len(prow):  # few rows: binary search in the postings
            pos = np.clip(np.searchsorted(prow, rows), 0, len(prow) - 1)
            found = prow[pos] == rows
            if found.any():
                out[found] += it.contributions(j, rows[found], tf[pos[found]])
            continue
        # Many rows: one pass over the postings through a row -> position table.
        where = np.full(max(int(prow[-1]), int(rows[-1])) + 1, -1, dtype=np.int32)
        where[rows] = np.arange(len(rows), dtype=np.int32)
        at = where[prow]
        hit = at >= 0
        if hit.any():
            out[at[hit]] += it.contributions(j, np.asarray(prow)[hit], tf[hit])
    return out


def _few(sc: np.ndarray, touched: list[np.ndarray]) -> bool:
    return sum(len(r) for r in touched) * 8 < len(sc)


def _candidates(sc: np.ndarray, touched: list[np.ndarray]) -> np.ndarray:
    """Rows of a segment's accumulator with a partial score above 0, ascending."""
    if _few(sc, touched):
        if len(touched) > 1:
            touched[:] = [np.unique(np.concatenate(touched))]  # merged once, reused after
        rows = np.asarray(touched[0])
        return rows[sc[rows] > 0].astype(np.int64)
    return np.flatnonzero(sc)


def _top_values(sc: np.ndarray, touched: list[np.ndarray], n: int) -> np.ndarray:
    """The n largest partial scores above 0 of a segment's accumulator (fewer if fewer)."""
    if _few(sc, touched):
        return _top(sc[_candidates(sc, touched)], n)
    top = _top(sc, n)  # the whole accumulator: cheaper than finding its non-zero rows
    return top[top > 0]


def _top(values: np.ndarray, n: int) -> np.ndarray:
    return values if len(values) <= n else np.partition(values, len(values) - n)[len(values) - n:]


def _nth(tops: list[np.ndarray], n: int) -> float:
    """The n-th best of the partial scores (a lower bound of the final n-th best score)."""
    v = np.concatenate(tops) if tops else np.zeros(0, dtype=np.float32)
    if len(v) < n:
        return -math.inf  # fewer than n candidates: nothing can be skipped
    return float(np.partition(v, len(v) - n)[len(v) - n])
