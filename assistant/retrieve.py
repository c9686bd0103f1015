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
from .store import Store, faiss_id
from .types import Chunk, Hit

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


@functools.lru_cache(maxsize=4)
def _stopwords(name: str) -> frozenset[str]:
    if not name:
        return frozenset()
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) if name == "en" else frozenset()


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


def embed_text(chunk: Chunk, with_title: bool) -> str:
    return f"{chunk.title}\n{chunk.text}" if with_title else chunk.text


def build_lexical(chunks: Sequence[Chunk], settings: Settings) -> Any:
    """A bm25s index over the chunks (rows in the same order)."""
    import bm25s

    # bm25s sets its own logger to DEBUG at import, which floods any configured handler.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    corpus = tokenize([lexical_text(c, settings.embed_titles) for c in chunks],
                      settings.stemmer, settings.stopwords)
    # bm25s cannot index an empty corpus or empty documents; a placeholder token keeps rows aligned.
    corpus = [toks or ["\x00"] for toks in corpus] or [["\x00"]]
    retriever = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b)
    retriever.index(corpus, show_progress=False)
    return retriever


class Retriever:
    """Searches one loaded Store with one Embedder under one Settings."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        params = store.manifest.get("lexical")
        if params != settings.lexical():
            # BM25 parameters are cheap to change: rebuild in memory instead of failing.
            log.info("BM25 settings differ from the index's; rebuilding the lexical index in memory")
            store.lexical = build_lexical(store.chunks, settings)
        self._doc_rows: dict[str, np.ndarray] = {}
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(store.chunks):
            rows.setdefault(c.doc_id, []).append(i)
        self._doc_rows = {d: np.array(r, dtype=np.int64) for d, r in rows.items()}

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one Retriever lives as long as its index
    def query_vector(self, query: str) -> np.ndarray:
        return np.asarray(self.embedder.embed([query])[0], dtype=np.float32)

    def dense(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """(row, cosine) of the n nearest chunks."""
        import faiss

        if not len(self.store):
            return []
        q = self.query_vector(query)[None, :]
        params = None
        if doc_ids is not None:
            rows = self._rows(doc_ids)
            if not len(rows):
                return []
            ids = np.array([faiss_id(self.store.chunks[r].chunk_id) for r in rows], dtype=np.int64)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))  # type: ignore[call-arg]
        scores, ids = self.store.dense.search(q, min(n, len(self.store)), params=params)
        out = []
        for s, i in zip(scores[0], ids[0], strict=True):
            if i >= 0:
                out.append((self.store.row_of_id[int(i)], float(s)))
        return out

    def lexical_scores(self, query: str, doc_ids: Collection[str] | None = None) -> np.ndarray | None:
        """BM25 score of every chunk row (0 outside `doc_ids`); None when no query word is known."""
        if not len(self.store):
            return None
        tokens = tokenize([query], self.settings.stemmer, self.settings.stopwords)[0]
        known = [t for t in tokens if t in self.store.lexical.vocab_dict]
        if not known:
            return None
        scores = np.asarray(self.store.lexical.get_scores(known)[: len(self.store)])
        if doc_ids is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[self._rows(doc_ids)] = True
            scores = np.where(mask, scores, 0.0)
        return scores

    def lexical(self, query: str, n: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """(row, BM25 score) of the n best-matching chunks with a score above zero."""
        scores = self.lexical_scores(query, doc_ids)
        return _top(scores, n) if scores is not None else []

    def _rows(self, doc_ids: Collection[str]) -> np.ndarray:
        parts = [self._doc_rows[d] for d in doc_ids if d in self._doc_rows]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

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
        bm25_all = self.lexical_scores(query, doc_ids) if mode in ("hybrid", "lexical") else None
        lexical = _top(bm25_all, n) if bm25_all is not None else []
        cos = dict(dense)
        bm25 = dict(lexical)
        if mode == "hybrid" and s.fusion == "convex":
            # Exact scores on both sides for every candidate, so none is penalised for
            # having been missed by one retriever's top list.
            for row, _ in lexical:
                if row not in cos:
                    cos[row] = self._cosine(query, row)
            if bm25_all is not None:
                bm25 = {row: float(bm25_all[row]) for row in cos}
            fused = fuse_convex(cos, bm25, s.dense_weight, s.lexical_weight)
        else:
            fused = fuse(dense, lexical, s.rrf_k, s.dense_weight, s.lexical_weight)
        hits: list[Hit] = []
        for row, score in fused[: max(k * 3, k + 5)]:
            if row not in cos:
                # Cosine similarity for every hit, lexical-only ones too: answers use it to abstain.
                cos[row] = self._cosine(query, row)
            hits.append(Hit(chunk=self.store.chunks[row], score=score, dense=cos[row],
                            lexical=bm25.get(row)))
        hits = merge_overlapping(hits, self.store)
        return [replace(h, rank=i + 1) for i, h in enumerate(hits[:k])]

    def _cosine(self, query: str, row: int) -> float:
        vec = self.store.dense.reconstruct(faiss_id(self.store.chunks[row].chunk_id))
        return float(np.dot(vec, self.query_vector(query)))


def _top(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """(row, score) of the n highest scores above zero, best first."""
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(r), float(scores[r])) for r in top if scores[r] > 0]


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


def merge_overlapping(hits: Sequence[Hit], store: Store) -> list[Hit]:
    """Fold each hit that overlaps a better one from the same document into it.

    The merged hit keeps the better hit's id, rank and scores and covers both
    passages; identical passages from different files are kept once.
    """
    out: list[Hit] = []
    seen_text: set[str] = set()
    for hit in hits:
        c = hit.chunk
        if c.text in seen_text:
            continue
        target = next((i for i, h in enumerate(out) if h.chunk.doc_id == c.doc_id
                       and h.chunk.start < c.end and c.start < h.chunk.end), None)
        if target is None:
            out.append(hit)
            seen_text.add(c.text)
            continue
        keep = out[target]
        out[target] = replace(keep, chunk=_union(keep.chunk, c, store))
    return out


def _union(a: Chunk, b: Chunk, store: Store) -> Chunk:
    doc = store.documents[a.doc_id]
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
