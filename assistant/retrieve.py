"""Query -> ranked Hits: dense (FAISS), lexical (BM25) and their fusion."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .chunk import heading_path, locate
from .config import Settings
from .embed import Embedder
from .store import Store
from .types import Chunk, Document, Hit

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


_LOCAL = threading.local()


def _stemmer(language: str) -> Any:
    """A stemmer of this thread: PyStemmer's objects must not be shared between threads."""
    if not language:
        return None
    cache = _LOCAL.__dict__.setdefault("stemmers", {})
    if language not in cache:
        import Stemmer

        cache[language] = Stemmer.Stemmer(language)
    return cache[language]


# config.Stopwords code -> the name of bm25s' list (bm25s.stopwords).
_STOPWORD_LISTS = {"en": "EN", "en_plus": "EN_PLUS", "da": "DANISH", "de": "GERMAN",
                   "es": "SPANISH", "fr": "FRENCH", "it": "ITALIAN", "ko": "KOREAN", "nl": "DUTCH",
                   "no": "NORWEGIAN", "pt": "PORTUGUESE", "ru": "RUSSIAN", "sv": "SWEDISH",
                   "tr": "TURKISH", "zh": "CHINESE"}


@functools.lru_cache(maxsize=4)
def _stopwords(name: str) -> frozenset[str]:
    """bm25s' stop-word list for a language code (Settings checks the code); "" for none."""
    if not name:
        return frozenset()
    from bm25s import stopwords

    return frozenset(getattr(stopwords, f"STOPWORDS_{_STOPWORD_LISTS[name]}"))


def tokenize(texts: Sequence[str], stemmer: str = "english", stopwords: str = "en") -> list[list[str]]:
    """Lower-cased word tokens, stop words dropped, stemmed: the BM25 vocabulary."""
    stop = _stopwords(stopwords)
    stem = _stemmer(stemmer)
    out = []
    for text in texts:
        words = [w for w in _WORD.findall(text.lower()) if w not in stop]
        out.append(stem.stemWords(words) if stem is not None else words)
    return out


def lexical_text(chunk: Chunk, with_title: bool) -> str:
    return f"{chunk.title}\n{chunk.text}" if with_title else chunk.text


def title_prefix(chunk: Chunk, with_title: bool) -> str:
    """What embed_text puts before the chunk's text: its document's title and a newline,
    unless the chunk opens with that title as a Markdown heading ("# Title"), which the
    model would otherwise read twice. (A plain first line that is the title is left as it
    was: the answers' fitted sentence model was trained on vectors with the title put first.)"""
    if not with_title or not chunk.title:
        return ""
    first = chunk.text.lstrip().split("\n", 1)[0]
    if first.startswith("#") and first.lstrip("#").strip() == chunk.title.strip():
        return ""
    return chunk.title + "\n"


def embed_text(chunk: Chunk, with_title: bool) -> str:
    return title_prefix(chunk, with_title) + chunk.text


def _query_cache(embedder: Embedder) -> functools._lru_cache_wrapper[np.ndarray]:
    """query -> its vector, the last 256 queries kept (holds the embedder, not the Retriever)."""

    @functools.lru_cache(maxsize=256)
    def query_vector(query: str) -> np.ndarray:
        return np.asarray(embedder.embed([query])[0], dtype=np.float32)

    return query_vector


class Retriever:
    """Searches one opened Store with one Embedder under one Settings."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        # The cache belongs to this Retriever and goes with it: an lru_cache on the method
        # would be one cache for the class, holding every Retriever (and its index) ever used.
        self.query_vector = _query_cache(embedder)

    def _keys(self, doc_ids: Collection[str] | None) -> np.ndarray | None:
        return None if doc_ids is None else self.store.keys_of(doc_ids)

    def dense(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """(chunk key, cosine) of the n nearest chunks."""
        keys = self._keys(doc_ids)
        if not len(self.store) or (keys is not None and not len(keys)):
            return []
        return self.store.dense(self.query_vector(query), n, keys)

    def _tokens(self, query: str) -> list[str]:
        return tokenize([query], self.settings.stemmer, self.settings.stopwords)[0]

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


def fuse_convex(
    cosine: Mapping[int, float],
    bm25: Mapping[int, float],
    dense_weight: float = 0.6,
    lexical_weight: float = 0.4,
) -> list[tuple[int, float]]:
    """Convex combination of cosine similarity and BM25 divided by the query's best BM25 score.

    Rows missing from `bm25` count as 0 there; with no BM25 scores at all the
    ranking is by cosine alone. Scores are in [-1, 1], ties broken by row.
    """
    top = max(bm25.values(), default=0.0)
    total = dense_weight + lexical_weight
    wd, wl = dense_weight / total, lexical_weight / total
    scores = {
        row: wd * c + (wl * bm25.get(row, 0.0) / top if top > 0 else 0.0)
        for row, c in cosine.items()
    }
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    rrf_k: int = 60,
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: sum of weight / (rrf_k + rank) over the lists."""
    scores: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (lexical_weight, lexical)):
        for rank, (row, _) in enumerate(ranked, start=1):
            scores[row] = scores.get(row, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def merge_overlapping(hits: Sequence[Hit], documents: Mapping[str, Document]) -> list[Hit]:
    """Fold each hit that overlaps a better one from the same document into it.

    The merged hit keeps the better hit's id, rank and scores and covers both
    passages; when it has grown into a worse hit kept earlier, that one joins it
    too. Identical passages from different files are kept once.
    """
    out: list[Hit] = []
    seen_text: set[str] = set()
    for hit in hits:
        c = hit.chunk
        if c.text in seen_text:
            continue
        target = next((i for i, h in enumerate(out) if _overlap(h.chunk, c)), None)
        if target is None:
            out.append(hit)
            seen_text.add(c.text)
            continue
        merged = _union(out[target].chunk, c, documents)
        while (j := next((j for j, h in enumerate(out) if j != target
                          and _overlap(h.chunk, merged)), None)) is not None:
            merged = _union(merged, out.pop(j).chunk, documents)
            target -= j < target
        out[target] = replace(out[target], chunk=merged)
    return out


def _overlap(a: Chunk, b: Chunk) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _union(a: Chunk, b: Chunk, documents: Mapping[str, Document]) -> Chunk:
    doc = documents[a.doc_id]
    spans = sorted(set(a.spans) | set(b.spans))
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    tspans = tuple((s, e) for s, e in merged)
    start, end = tspans[0][0], tspans[-1][1]
    loc = locate(doc, start, end)
    return replace(
        a,
        text="\n\n".join(doc.text[s:e] for s, e in tspans),
        start=start,
        end=end,
        spans=tspans,
        heading_path=heading_path(doc, start),
        **loc,  # type: ignore[arg-type]
    )
