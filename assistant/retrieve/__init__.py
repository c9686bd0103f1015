"""Query -> ranked Hits: dense (FAISS), lexical (BM25) and their fusion (fusion.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np

from ..config import Settings
from ..embed import Embedder, embed_queries
from ..store import Store
from ..text.analyzer import Analyzer, question_language
from ..types import Hit
from .fusion import fuse, fuse_convex, merge_overlapping

log = logging.getLogger(__name__)


def _query_cache(embedder: Embedder) -> functools._lru_cache_wrapper[np.ndarray]:
    """query -> its vector, the last 256 queries kept (holds the embedder, not the Retriever)."""

    @functools.lru_cache(maxsize=256)
    def query_vector(query: str) -> np.ndarray:
        return np.asarray(embed_queries(embedder, [query])[0], dtype=np.float32)

    return query_vector


class Retriever:
    """Searches one opened Store with one Embedder and one Analyzer under one Settings."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings,
                 analyzer: Analyzer | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.analyzer = analyzer or Analyzer.of(settings)
        # The cache belongs to this Retriever and goes with it: an lru_cache on the method
        # would be one cache for the class, holding every Retriever (and its index) ever used.
        self.query_vector = _query_cache(embedder)

    @functools.cached_property
    def languages(self) -> frozenset[str]:
        """The languages of this index's documents (one each, detected; unknown left out)."""
        return frozenset(code for code in self.store.languages() if code)

    def across_languages(self, query: str) -> bool:
        """Whether the question is written in none of the documents' languages: it shares
        only names and commands with them, which BM25 overrates (text.analyzer's
        question_language tells; unsure is never across)."""
        code = question_language(query)
        return bool(code) and bool(self.languages) and code not in self.languages

    def _keys(self, doc_ids: Collection[str] | None) -> np.ndarray | None:
        return None if doc_ids is None else self.store.keys_of(doc_ids)

    def dense(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """(chunk key, cosine) of the n nearest chunks."""
        keys = self._keys(doc_ids)
        if not len(self.store) or (keys is not None and not len(keys)):
            return []
        return self.store.dense(self.query_vector(query), n, keys)

    def _tokens(self, query: str) -> list[str]:
        return self.analyzer.tokens(query)

    def lexical(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """(chunk key, BM25 score) of the n best-matching chunks with a score above zero."""
        keys = self._keys(doc_ids)
        if not len(self.store) or (keys is not None and not len(keys)):
            return []
        s = self.settings
        return self.store.bm25_top(self._tokens(query), s.bm25_k1, s.bm25_b, n, keys)

    def search(
        self,
        query: str,
        k: int | None = None,
        doc_ids: Collection[str] | None = None,
        mode: str | None = None,
    ) -> list[Hit]:
        """The k best passages for `query`, overlapping ones merged."""
        s = self.settings
        k = k or s.top_k
        mode = mode or s.mode
        if mode == "hybrid" and self.across_languages(query):
            mode = s.cross_language_mode
        # A deep search (e.g. k=100 for an evaluation) needs more candidates than the default,
        # since overlapping chunks of one document are merged into one hit.
        n = max(s.candidates, 3 * k)
        dense = self.dense(query, n, doc_ids) if mode in ("hybrid", "dense") else []
        lexical = self.lexical(query, n, doc_ids) if mode in ("hybrid", "lexical") else []
        cos = dict(dense)
        bm25 = dict(lexical)
        if mode == "hybrid" and s.fusion == "convex":
            # Exact scores on both sides for every candidate, so none is penalised for
            # having been missed by one retriever's top list.
            self._cosines(query, [key for key, _ in lexical if key not in cos], cos)
            if lexical:
                keys = list(cos)
                scores = self.store.bm25_of(self._tokens(query), s.bm25_k1, s.bm25_b, keys)
                bm25 = dict(zip(keys, scores.astype(float).tolist(), strict=True))
            fused = fuse_convex(cos, bm25, s.dense_weight, s.lexical_weight)
        else:
            fused = fuse(dense, lexical, s.rrf_k, s.dense_weight, s.lexical_weight)
        top = fused[: max(k * 3, k + 5)]
        # Cosine similarity for every hit, lexical-only ones too: answers use it to abstain.
        self._cosines(query, [key for key, _ in top if key not in cos], cos)
        chunks = self.store.chunks([key for key, _ in top])
        hits = [Hit(chunk=c, score=score, dense=cos[key], lexical=bm25.get(key))
                for (key, score), c in zip(top, chunks, strict=True)
                if c is not None]  # None: removed by a commit since this index was opened
        hits = merge_overlapping(hits, self.store.documents)
        return [replace(h, rank=i + 1) for i, h in enumerate(hits[:k])]

    def _cosines(self, query: str, keys: Sequence[int], into: dict[int, float]) -> None:
        if keys:
            sims = self.store.vectors(keys) @ self.query_vector(query)
            into.update(zip(keys, sims.astype(float).tolist(), strict=True))
