"""The local store, write side: each commit's new rows in one immutable segment folder; merges.

Past `max_segments` the smallest segments are merged into one (a bigger one only
while it is at most MERGE_RATIO times the rows taken so far), so a one-document
update never rewrites a big segment and its HNSW graph.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import catalog, segment
from .commit import CatalogWriter, bump_generation, new_segment_name
from .local import LocalStore

log = logging.getLogger(__name__)

ANN_THRESHOLD = 50_000  # rows from which a segment gets an HNSW index (docs/BENCHMARKS.md)
MAX_SEGMENTS = 8
MERGE_RATIO = 4  # see _tier


class LocalWriter(CatalogWriter):
    """Changes to one local index folder: records in the catalog, rows in segment folders."""

    def __init__(self, index_dir: Path, manifest: Callable[[], dict[str, Any]],
                 ann_threshold: int = ANN_THRESHOLD, max_segments: int = MAX_SEGMENTS) -> None:
        super().__init__(index_dir, manifest)
        self.ann_threshold = ann_threshold
        self.max_segments = max_segments
        self.cleanup()

    def _write_rows(self, name: str, keys: np.ndarray, vectors: np.ndarray,
                    tokens: Sequence[Sequence[str]]) -> tuple[str, dict[str, Any]]:
        """Write the new rows where searches find them; returns (kind, info) for the catalog."""
        kind = "hnsw" if len(keys) >= self.ann_threshold else "flat"
        return kind, segment.write(self.index_dir / name, keys, vectors, segment.postings(tokens),
                                   kind)

    def _committed(self) -> None:
        self.cleanup()
        if self.segment_count() > self.max_segments:
            self.merge()

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
            by_name = {s.folder.name: (s, d) for s, d in zip(reader.segments, reader.deleted,
                                                               strict=True)}
            parts = [by_name[n] for n in names]
            name = new_segment_name(self.db)
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
            bump_generation(db)
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
