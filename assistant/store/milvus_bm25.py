"""BM25 for the Milvus store: app-side sparse vectors with the local store's exact scores.

A chunk's Milvus row holds its document-side weights, one per term id:

    w(t, d) = tf / (tf + k1 * (1 - b + b * len(d) / avgdl))

and a query holds idf(t) x its count, so the inner product Milvus computes is
the BM25 score bm25s gives (Lucene idf, as bm25.py). Corpus-wide statistics
stay right under incremental updates because they live in the catalog, in the
same transaction as the records:

- the vocabulary (term -> id, document frequency) in `bm25_terms`: ids are
  persisted, never re-numbered; df goes up and down with every add and delete,
  so the query side (idf) is always exact;
- each chunk's term ids and counts in `bm25_rows` (to take its df back out on
  delete, and to re-weight it);
- N, the total length and the avgdl the Milvus weights were computed with (meta
  "bm25"). When the real avgdl drifts more than REWEIGH_DRIFT from that reference,
  or k1/b change, the writer re-weights every row (milvus_writer.py), so the
  document side is within REWEIGH_DRIFT of exact and exact after a fresh build.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from . import catalog

SCHEMA = """
CREATE TABLE IF NOT EXISTS bm25_terms (
    term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, df INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bm25_rows (key INTEGER PRIMARY KEY, ids BLOB NOT NULL, tf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS milvus_purge (key INTEGER PRIMARY KEY);
"""
REWEIGH_DRIFT = 0.01  # re-weight every row once the average length moved 1 % from the reference
EMPTY = "\x00"  # bm25s indexes an empty chunk as one placeholder token (as segment.postings)


@dataclass
class Stats:
    """Corpus statistics (meta "bm25"); `avgdl` is the reference the stored weights used."""

    rows: int = 0
    length: int = 0
    avgdl: float = 0.0
    k1: float = 0.0
    b: float = 0.0
    next_term: int = 0
    reweigh_below: int | None = None  # rows with a smaller key still carry older weights

    @classmethod
    def read(cls, db: sqlite3.Connection) -> Stats:
        return cls(**catalog.get_meta(db, "bm25", {}))

    def write(self, db: sqlite3.Connection) -> None:
        catalog.set_meta(db, "bm25", asdict(self))

    def drifted(self, rows: int, length: int, k1: float, b: float) -> bool:
        if not rows:
            return False
        avgdl = length / rows
        return (self.avgdl <= 0 or (self.k1, self.b) != (k1, b)
                or abs(avgdl / self.avgdl - 1) > REWEIGH_DRIFT)


def counts(tokens: Sequence[str]) -> Counter[str]:
    return Counter(tokens or [EMPTY])


def weights(tf: np.ndarray, k1: float, b: float, avgdl: float) -> np.ndarray:
    """Document-side weights of one chunk's terms (float32, as bm25.py computes them)."""
    tf = np.asarray(tf, dtype=np.float32)
    norm = np.float32(k1 * ((1 - b) + b * float(tf.sum(dtype=np.float64)) / avgdl))
    return tf / (norm + tf)


def sparse(ids: np.ndarray, w: np.ndarray) -> dict[int, float]:
    return {int(i): float(x) for i, x in zip(ids.tolist(), w.tolist(), strict=True)}


def term_ids(db: sqlite3.Connection, terms: Iterable[str]) -> dict[str, tuple[int, int]]:
    """term -> (id, df) of the known ones among `terms`."""
    out: dict[str, tuple[int, int]] = {}
    batch = list(dict.fromkeys(terms))
    for i in range(0, len(batch), 500):
        part = batch[i:i + 500]
        marks = ",".join("?" * len(part))
        for term, tid, df in db.execute(
                f"SELECT term, id, df FROM bm25_terms WHERE term IN ({marks})", part):
            out[term] = (int(tid), int(df))
    return out


def rows_of(db: sqlite3.Connection, keys: Sequence[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """key -> (term ids uint32, tf float32) of these chunks."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in range(0, len(keys), 500):
        part = [int(k) for k in keys[i:i + 500]]
        marks = ",".join("?" * len(part))
        for key, ids, tf in db.execute(
                f"SELECT key, ids, tf FROM bm25_rows WHERE key IN ({marks})", part):
            out[int(key)] = (np.frombuffer(ids, dtype="<u4"), np.frombuffer(tf, dtype="<f4"))
    return out


def query(db: sqlite3.Connection, tokens: Sequence[str], stats: Stats) -> dict[int, float] | None:
    """The query's sparse vector {term id: idf x count}; None when no term is known."""
    c = Counter(tokens)
    known = term_ids(db, c)
    if not known or not stats.rows:
        return None
    out: dict[int, float] = {}
    for term, count in c.items():
        if term in known:
            tid, df = known[term]
            idf = np.float32(math.log(1 + (stats.rows - df + 0.5) / (df + 0.5)))
            out[tid] = float(np.float32(idf * np.float32(count)))
    return out


def score(q: dict[int, float], ids: np.ndarray, w: np.ndarray) -> float:
    """The inner product of a query and one row's weights (what Milvus computes)."""
    return float(np.float32(sum(np.float32(q[i]) * x for i, x in zip(ids.tolist(), w, strict=True)
                                if i in q)))


def encode(ids: np.ndarray, tf: np.ndarray) -> tuple[bytes, bytes]:
    return (np.ascontiguousarray(ids, dtype="<u4").tobytes(),
            np.ascontiguousarray(tf, dtype="<f4").tobytes())


def df_changes(db: sqlite3.Connection, changes: Counter[int]) -> None:
    db.executemany("UPDATE bm25_terms SET df = df + ? WHERE id = ?",
                   [(d, i) for i, d in changes.items() if d])


def new_terms(db: sqlite3.Connection, terms: dict[str, int]) -> None:
    db.executemany("INSERT INTO bm25_terms VALUES (?, ?, 0)", list(terms.items()))


def plan(db: sqlite3.Connection, all_tokens: Sequence[Sequence[str]], stats: Stats
         ) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, int]]:
    """Per row (term ids, tf), and the new terms with the ids they get (not yet stored)."""
    per_row = [counts(t) for t in all_tokens]
    known = term_ids(db, (t for c in per_row for t in c))
    fresh: dict[str, int] = {}
    out = []
    for c in per_row:
        ids = np.empty(len(c), dtype=np.uint32)
        for j, term in enumerate(c):
            if term in known:
                ids[j] = known[term][0]
            else:
                ids[j] = fresh.setdefault(term, stats.next_term + len(fresh))
        out.append((ids, np.fromiter(c.values(), dtype=np.float32, count=len(c))))
    return out, fresh
