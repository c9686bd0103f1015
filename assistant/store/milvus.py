"""The Milvus store, read side: vectors and BM25 weights in Milvus, records in the catalog.

Layout (docs/SCALE.md)::

    index/catalog.sqlite   the same records as the local store (documents, texts, chunks,
                           sentence vectors), the commit point, and BM25's vocabulary and
                           statistics (milvus_bm25.py); quotes are cut from these texts
    Milvus (ASSISTANT_MILVUS_URI: a .db file for milvus-lite, or http://host:19530)
      <name>_dense   key INT64 (the chunk key) -> vector FLOAT_VECTOR(dim), IP
      <name>_bm25    key INT64 -> bm25 SPARSE_FLOAT_VECTOR (document-side BM25 weights), IP

Scores mean what they mean in the local store: the inner product of unit
vectors (cosine) and the BM25 score bm25s gives, so fusion is unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssistantError, IndexMismatchError
from . import milvus_bm25
from .records import Records

log = logging.getLogger(__name__)

HNSW = {"M": 16, "efConstruction": 80}  # as the local store's HNSW segments
EF_SEARCH = 128
_clients: dict[tuple[str, str | None], Any] = {}
_clients_lock = threading.Lock()


def uri_of(uri: str | None, index_dir: Path) -> str:
    """ASSISTANT_MILVUS_URI, or INDEX/milvus.db (milvus-lite) when it is unset."""
    return uri or str(index_dir.resolve() / "milvus.db")


def is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def client(uri: str, token: str | None) -> Any:
    """One MilvusClient per URI in a process (milvus-lite runs one server per .db file)."""
    with _clients_lock:
        if (uri, token) not in _clients:
            try:
                from pymilvus import MilvusClient
            except ImportError:
                raise AssistantError("ASSISTANT_STORE=milvus needs pymilvus: "
                                     "pip install 'assistant[milvus]'") from None
            if is_lite(uri):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                _clients[(uri, token)] = MilvusClient(uri=uri, token=token or "")
            except Exception as exc:  # pymilvus raises MilvusException and grpc errors
                raise AssistantError(
                    f"cannot reach Milvus at {uri} ({str(exc)[:200]}); check "
                    "ASSISTANT_MILVUS_URI (a .db file, or http://host:19530) and "
                    "ASSISTANT_MILVUS_TOKEN") from None
        return _clients[(uri, token)]


def names(meta: dict[str, Any]) -> tuple[str, str]:
    """(dense, bm25) collection names of the catalog's current Milvus generation."""
    base = f"{meta['collection']}_{meta['version']}"
    return f"{base}_dense", f"{base}_bm25"


def create(c: Any, meta: dict[str, Any], dim: int, lite: bool) -> None:
    """Make the two collections of `meta` (strong consistency: a commit is seen at once)."""
    from pymilvus import DataType, MilvusClient

    dense, bm25 = names(meta)
    for name, field, kind in ((dense, "vector", DataType.FLOAT_VECTOR),
                              (bm25, "bm25", DataType.SPARSE_FLOAT_VECTOR)):
        if c.has_collection(name):
            continue
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.INT64, is_primary=True)
        if kind == DataType.FLOAT_VECTOR:
            schema.add_field(field, kind, dim=dim)
        else:
            schema.add_field(field, kind)
        params = c.prepare_index_params()
        if kind == DataType.SPARSE_FLOAT_VECTOR:
            params.add_index(field, index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        elif lite:  # milvus-lite is for development and tests: exact search
            params.add_index(field, index_type="FLAT", metric_type="IP")
        else:
            params.add_index(field, index_type="HNSW", metric_type="IP", params=HNSW)
        # pymilvus asks milvus-lite for a timestamp it does not serve while it waits for the
        # index; the call goes on without it, but the in-process server logs a traceback.
        quiet = logging.getLogger("grpc._server")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            c.create_collection(name, schema=schema, index_params=params,
                                consistency_level="Strong")
        finally:
            quiet.setLevel(level)


class MilvusStore(Records):
    """An open index whose vectors and BM25 postings are in Milvus; records in the catalog."""

    def __init__(self, index_dir: Path, uri: str | None, token: str | None) -> None:
        super().__init__(index_dir)
        meta = self.meta("milvus", None)
        if meta is None:
            raise IndexMismatchError(
                f"the index in {index_dir} was built for the local store; unset ASSISTANT_STORE "
                "or run `assistant index --rebuild` with ASSISTANT_STORE=milvus")
        self.uri = uri_of(uri, index_dir)
        self.client = client(self.uri, token)
        self.dense_name, self.bm25_name = names(meta)
        for name in (self.dense_name, self.bm25_name):
            if not self.client.has_collection(name):
                raise IndexMismatchError(
                    f"Milvus at {self.uri} has no collection {name} that {index_dir} names; "
                    "point ASSISTANT_MILVUS_URI at the Milvus the index was built in, or run "
                    "`assistant index --rebuild`")
            self.client.load_collection(name)  # a newly opened collection must be loaded
        self.stats = milvus_bm25.Stats(**self.meta("bm25", {}))
        # Only committed rows: a writer's new rows (keys >= next key) before its commit, or
        # after a failed one, and rows a commit removed but Milvus still holds, are skipped.
        self.live_filter = f"key < {int(self.meta('next_key', 0))}"
        purged = [int(r[0]) for r in self.query("SELECT key FROM milvus_purge LIMIT 10001")]
        if 0 < len(purged) <= 10000:
            self.live_filter += f" and key not in {purged}"

    def __len__(self) -> int:
        return self.stats.rows

    @property
    def vector_index(self) -> str:
        return "Milvus FLAT (exact)" if is_lite(self.uri) else "Milvus HNSW"

    # --- search ------------------------------------------------------------

    def dense(self, q: np.ndarray, n: int, keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, inner product) of the n nearest chunks, among `keys` if given (then exact)."""
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        if keys is not None:
            sims = self.vectors(keys.tolist()) @ q
            order = np.lexsort((keys, -sims))[:n]
            return [(int(keys[i]), float(sims[i])) for i in order]
        got = self.client.search(self.dense_name, [q.tolist()], limit=min(n, 16384),
                                 anns_field="vector", output_fields=["key"],
                                 filter=self.live_filter,
                                 search_params={"metric_type": "IP",
                                                "params": {"ef": max(EF_SEARCH, n)}})
        found = [(int(h["key"]), float(h["distance"])) for h in got[0]]
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found

    def vectors(self, keys: Sequence[int]) -> np.ndarray:
        arr = [int(k) for k in keys]
        out = np.zeros((len(arr), int(self.manifest.get("dim", 0))), dtype=np.float32)
        at = {k: i for i, k in enumerate(arr)}
        for i in range(0, len(arr), 1000):
            for row in self.client.query(self.dense_name, ids=arr[i:i + 1000],
                                         output_fields=["key", "vector"]):
                out[at[int(row["key"])]] = row["vector"]
        return out

    def _bm25_query(self, tokens: Sequence[str], k1: float, b: float) -> dict[int, float] | None:
        s = self.stats
        if s.rows and (s.k1, s.b) != (k1, b):
            raise IndexMismatchError(
                f"the Milvus index holds BM25 weights for k1={s.k1}, b={s.b}, not k1={k1}, b={b}; "
                "run `assistant index` with the new settings to re-weight it")
        with self._lock:
            return milvus_bm25.query(self._db, tokens, s)

    def bm25_top(self, tokens: Sequence[str], k1: float, b: float, n: int,
                 keys: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(key, BM25 score) of the n best chunks with a score above 0, among `keys`."""
        if keys is not None:
            scores = self.bm25_of(tokens, k1, b, keys.tolist())
            order = np.lexsort((keys, -scores))[:n]
            return [(int(keys[i]), float(scores[i])) for i in order if scores[i] > 0]
        q = self._bm25_query(tokens, k1, b)
        if q is None:
            return []
        got = self.client.search(self.bm25_name, [q], limit=min(n, 16384), anns_field="bm25",
                                 output_fields=["key"], filter=self.live_filter,
                                 search_params={"metric_type": "IP",
                                                "params": {"drop_ratio_search": 0.0}})
        found = [(int(h["key"]), float(h["distance"])) for h in got[0] if h["distance"] > 0]
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found

    def bm25_of(self, tokens: Sequence[str], k1: float, b: float, keys: Sequence[int]) -> np.ndarray:
        """BM25 scores of these chunks, from the catalog's term counts (the weights Milvus holds)."""
        q = self._bm25_query(tokens, k1, b)
        out = np.zeros(len(keys), dtype=np.float32)
        if q is None:
            return out
        with self._lock:
            rows = milvus_bm25.rows_of(self._db, list(keys))
        s = self.stats
        for i, key in enumerate(keys):
            if int(key) in rows:
                ids, tf = rows[int(key)]
                out[i] = milvus_bm25.score(q, ids, milvus_bm25.weights(tf, s.k1, s.b, s.avgdl))
        return out
