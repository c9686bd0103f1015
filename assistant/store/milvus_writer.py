"""The Milvus store, write side: the local Writer's catalog commit, with rows in Milvus.

Order of a commit (the catalog transaction stays the one commit point):

1. new rows are upserted into Milvus under fresh keys (>= the catalog's next key,
   so no committed reader can see them: their keys are in no chunk record);
2. one SQLite transaction records the documents, chunks, BM25 vocabulary and
   statistics, and the keys to purge from Milvus (milvus_purge);
3. the purged keys are deleted from Milvus; then, if the average length moved more
   than milvus_bm25.REWEIGH_DRIFT (or k1/b changed), the older rows are re-weighted.

A kill at any point leaves work the next writer finishes when it opens: rows
with keys >= next key are deleted, milvus_purge is emptied, a re-weighting is
resumed. A rebuild writes new collections and drops the old ones after its commit.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import catalog, milvus, milvus_bm25
from .commit import CatalogWriter
from .milvus_bm25 import Stats

log = logging.getLogger(__name__)

BATCH = 1000  # rows per Milvus request (well under its 64 MB message limit at 384-d)


class MilvusWriter(CatalogWriter):
    """Changes to an index whose vectors and BM25 weights live in Milvus."""

    def __init__(self, index_dir: Path, manifest: Callable[[], dict[str, Any]], uri: str | None,
                 token: str | None, k1: float, b: float) -> None:
        super().__init__(index_dir, manifest)
        self.db.executescript(milvus_bm25.SCHEMA)
        self.k1, self.b = k1, b
        self.uri = milvus.uri_of(uri, index_dir)
        self.client = milvus.client(self.uri, token)
        meta = catalog.get_meta(self.db, "milvus")
        if meta is None:
            meta = {"collection": f"assistant_{uuid.uuid4().hex[:12]}", "version": 1}
            self.db.execute("BEGIN IMMEDIATE")
            catalog.set_meta(self.db, "milvus", meta)
            self.db.execute("COMMIT")
        self.meta: dict[str, Any] = meta
        self.target: dict[str, Any] = meta  # the collections this commit writes
        self._plan: tuple[Stats, list[int], dict[int, tuple[np.ndarray, np.ndarray]],
                          dict[str, int]] | None = None
        self._recover()

    def rebuild(self, manifest: dict[str, Any]) -> None:
        super().rebuild(manifest)
        self.target = {**self.meta, "version": int(self.meta["version"]) + 1}

    # --- one commit --------------------------------------------------------

    def commit(self) -> None:
        if "dim" in self.manifest:
            milvus.create(self.client, self.target, int(self.manifest["dim"]), milvus.is_lite(self.uri))
        old = self.meta
        try:
            super().commit()
        finally:
            self._plan = None
        self.meta = self.target
        if old["version"] != self.meta["version"]:
            for name in milvus.names(old):
                self.client.drop_collection(name)
        self._finish()
        if milvus.is_lite(self.uri):
            # milvus-lite searches unsealed rows by brute force, ~15x slower (SciFact: 3.9 s
            # against 0.33 s per query); a server indexes growing segments and seals them itself.
            for name in milvus.names(self.meta):
                self.client.flush(name)

    def _prepare(self, keys: np.ndarray, tokens: Sequence[Sequence[str]]) -> None:
        """Statistics after this commit, rows leaving, rows arriving (ids, tf), new terms."""
        db = self.db
        stats = Stats.read(db)
        gone_docs = self._removes | {a.doc.doc_id for a in self._adds}
        gone = [r[0] for d in gone_docs
                for r in db.execute("SELECT key FROM chunks WHERE doc_id = ?", (d,))]
        leaving = milvus_bm25.rows_of(db, gone)
        planned, fresh = milvus_bm25.plan(db, tokens, stats)
        rows = stats.rows - len(leaving) + len(planned)
        length = (stats.length - int(sum(tf.sum() for _, tf in leaving.values()))
                  + int(sum(tf.sum() for _, tf in planned)))
        if stats.drifted(rows, length, self.k1, self.b):
            stats.avgdl, stats.k1, stats.b = length / rows, self.k1, self.b
            if rows > len(planned) and self.target is self.meta:  # older rows stay: re-weight them
                stats.reweigh_below = int(keys[0]) if len(keys) else \
                    int(catalog.get_meta(db, "next_key", 0))
        stats.rows, stats.length = rows, length
        stats.next_term += len(fresh)
        self._plan = (stats, list(leaving), dict(zip(keys.tolist(), planned, strict=True)), fresh)

    def _write_rows(self, name: str, keys: np.ndarray, vectors: np.ndarray,
                    tokens: Sequence[Sequence[str]]) -> tuple[str, dict[str, Any]]:
        self._prepare(keys, tokens)
        assert self._plan is not None
        stats, _, rows, _ = self._plan
        dense, bm25 = milvus.names(self.target)
        keys_list = keys.tolist()
        for i in range(0, len(keys_list), BATCH):
            part = keys_list[i:i + BATCH]
            self.client.upsert(dense, [{"key": k, "vector": v.tolist()}
                                       for k, v in zip(part, vectors[i:i + BATCH], strict=True)])
            self.client.upsert(bm25, [{"key": k, "bm25": self._sparse(rows[k], stats)} for k in part])
        kind = "flat" if milvus.is_lite(self.uri) else "hnsw"
        return kind, {"length": int(sum(tf.sum() for _, tf in rows.values()))}

    @staticmethod
    def _sparse(row: tuple[np.ndarray, np.ndarray], stats: Stats) -> dict[int, float]:
        ids, tf = row
        return milvus_bm25.sparse(ids, milvus_bm25.weights(tf, stats.k1, stats.b, stats.avgdl))

    def _committing(self, db: Any) -> None:
        if self._plan is None:  # nothing added: removals and touches only
            self._prepare(np.zeros(0, dtype=np.int64), [])
        assert self._plan is not None
        stats, leaving, rows, fresh = self._plan
        milvus_bm25.new_terms(db, fresh)
        df: Counter[int] = Counter()
        for ids, _ in rows.values():
            df.update(ids.tolist())
        for _, (ids, _) in milvus_bm25.rows_of(db, leaving).items():
            df.subtract(ids.tolist())
        milvus_bm25.df_changes(db, df)
        db.executemany("DELETE FROM bm25_rows WHERE key = ?", [(k,) for k in leaving])
        db.executemany("INSERT OR REPLACE INTO bm25_rows VALUES (?, ?, ?)",
                       [(k, *milvus_bm25.encode(ids, tf)) for k, (ids, tf) in rows.items()])
        if self.target is self.meta:  # a rebuild drops the old collections instead
            db.execute("INSERT OR IGNORE INTO milvus_purge SELECT key FROM deleted")
        db.execute("DELETE FROM deleted")  # the local store's tombstones: Milvus deletes rows
        stats.write(db)
        catalog.set_meta(db, "milvus", self.target)

    # --- after a commit, or a crash ----------------------------------------------

    def _finish(self) -> None:
        """Delete purged keys from Milvus; re-weight older BM25 rows if the statistics moved."""
        dense, bm25 = milvus.names(self.meta)
        keys = [r[0] for r in self.db.execute("SELECT key FROM milvus_purge")]
        for i in range(0, len(keys), BATCH):
            part = keys[i:i + BATCH]
            for name in (dense, bm25):
                if self.client.has_collection(name):
                    self.client.delete(name, ids=part)
            self.db.executemany("DELETE FROM milvus_purge WHERE key = ?", [(k,) for k in part])
        stats = Stats.read(self.db)
        if stats.reweigh_below is None:
            return
        log.info("re-weighting BM25 rows in Milvus (average length now %.2f)", stats.avgdl)
        last = -1
        while True:
            got = self.db.execute("SELECT key, ids, tf FROM bm25_rows WHERE key > ? AND key < ? "
                                  "ORDER BY key LIMIT ?", (last, stats.reweigh_below, BATCH)).fetchall()
            if not got:
                break
            self.client.upsert(bm25, [
                {"key": int(k), "bm25": self._sparse(
                    (np.frombuffer(ids, dtype="<u4"), np.frombuffer(tf, dtype="<f4")), stats)}
                for k, ids, tf in got])
            last = int(got[-1][0])
        self.db.execute("BEGIN IMMEDIATE")
        stats = Stats.read(self.db)
        stats.reweigh_below = None
        stats.write(self.db)
        self.db.execute("COMMIT")

    def _recover(self) -> None:
        """Undo what a killed writer left in Milvus past the last commit, then finish its work."""
        prefix = f"{self.meta['collection']}_"
        current = set(milvus.names(self.meta))
        for name in self.client.list_collections():
            if name.startswith(prefix) and name not in current:
                self.client.drop_collection(name)  # a rebuild that never committed
        next_key = int(catalog.get_meta(self.db, "next_key", 0))
        for name in current:
            if self.client.has_collection(name):
                self.client.delete(name, filter=f"key >= {next_key}")
        self._finish()
