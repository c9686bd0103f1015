"""Question + Hits -> Answer whose every [n] is a Citation with an exact quote.

The default answer is extractive: the sentences of the retrieved passages that
best answer the question, verbatim, each followed by its marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .chunk import body_sentences, heading_path, locate
from .config import Settings
from .embed import Embedder
from .retrieve import tokenize
from .sentences import Lookup, sentence_vectors
from .shortanswer import answer_type, holds_answer_type, short_answer
from .types import Answer, Citation, Document, Hit, Statement

NOT_FOUND = "I could not find anything about this in the indexed documents."

# Sentence scoring, tuned on XQuAD dev (docs/EVALUATION.md): relevance = cosine similarity +
# OVERLAP_WEIGHT * share of the question's content words; ranking adds a small prior for
# passages retrieval ranked higher. A second sentence is quoted when it scores within
# SECOND_MARGIN of the best and is itself relevant enough to cite.
OVERLAP_WEIGHT = 0.8
RANK_WEIGHT = 0.1
SECOND_MARGIN = 0.2
# Added when the question asks for a name/date/number... and the sentence holds one it does not
# already name (shortanswer.py); tuned on half the XQuAD dev articles (docs/EVALUATION.md).
TYPE_WEIGHT = 0.2


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence: where it is, which hit it came from and how well it answers."""

    hit: int
    start: int
    end: int
    text: str
    score: float = 0.0
    similarity: float = 0.0
    overlap: float = 0.0

    @property
    def relevance(self) -> float:
        """How well the sentence matches the question, whatever its passage's rank."""
        return self.similarity + OVERLAP_WEIGHT * self.overlap


def candidate_sentences(hits: Sequence[Hit], documents: Mapping[str, Document]) -> list[Sentence]:
    out: list[Sentence] = []
    seen: set[tuple[str, int]] = set()
    for i, hit in enumerate(hits):
        doc = documents[hit.chunk.doc_id]
        for a, b in hit.chunk.spans:
            for s, e in body_sentences(doc, a, b):
                if (doc.doc_id, s) in seen or len(doc.text[s:e].split()) < 3:
                    continue
                seen.add((doc.doc_id, s))
                out.append(Sentence(i, s, e, doc.text[s:e]))
    return out


def overlap(query_tokens: Sequence[str], text: str, settings: Settings) -> float:
    """Share of the question's distinct content words (stemmed) found in text."""
    q = set(query_tokens)
    if not q:
        return 0.0
    t = set(tokenize([text], settings.stemmer, settings.stopwords)[0])
    return len(q & t) / len(q)


def score_sentences(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    settings: Settings,
    query_vector: np.ndarray | None = None,
    lookup: Lookup | None = None,
) -> list[Sentence]:
    """Score every sentence of the hits: similarity to the question, word overlap, passage rank.

    Sentence vectors come from the index's tables through `lookup` (store.sentence_vectors);
    only sentences it lacks are embedded here.
    """
    sents = candidate_sentences(hits, documents)
    if not sents:
        return []
    q = query_vector if query_vector is not None else embedder.embed([question])[0]
    vecs = sentence_vectors([(hits[s.hit].chunk.doc_id, s.start, s.end, s.text) for s in sents],
                            embedder, lookup)
    sims = vecs @ q
    qtok = tokenize([question], settings.stemmer, settings.stopwords)[0]
    kind = answer_type(question)
    out = []
    for s, sim in zip(sents, sims, strict=True):
        ov = overlap(qtok, s.text, settings)
        prior = 1.0 / (1 + s.hit)  # passages ranked higher by retrieval are trusted more
        score = float(sim) + OVERLAP_WEIGHT * ov + RANK_WEIGHT * prior
        if kind is not None and holds_answer_type(s.text, kind, qtok, settings.stemmer,
                                                  settings.stopwords):
            score += TYPE_WEIGHT  # "how much ...?": the sentence with "60%" over the one without
        out.append(Sentence(s.hit, s.start, s.end, s.text, score, float(sim), ov))
    out.sort(key=lambda s: -s.score)
    return out


def is_relevant(hits: Sequence[Hit], best: Sentence | None, settings: Settings) -> bool:
    """False when nothing retrieved is close enough to the question to cite."""
    if not hits or best is None:
        return False
    # The best sentence's similarity plus word overlap separates answerable from
    # unanswerable questions better than either alone, or than passage similarity,
    # which long passages dilute (ROC AUC 0.995 vs 0.985 and 0.981 on XQuAD dev).
    return best.relevance >= settings.min_relevance


def extractive_answer(
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    embedder: Embedder,
    settings: Settings,
    query_vector: np.ndarray | None = None,
    lookup: Lookup | None = None,
) -> Answer:
    """The best sentences, verbatim, each followed by [n]; or a plain 'not found'."""
    ranked = score_sentences(question, hits, documents, embedder, settings, query_vector, lookup)
    best = ranked[0] if ranked else None
    if not is_relevant(hits, best, settings) or best is None:
        return Answer(question=question, text=NOT_FOUND, found=False, hits=tuple(hits))
    chosen = [best]
    for s in ranked[1:]:
        if len(chosen) >= settings.answer_sentences:
            break
        if s.score >= best.score - SECOND_MARGIN and s.relevance >= settings.min_relevance:
            chosen.append(s)
    citations: list[Citation] = []
    said: list[Statement] = []  # verbatim quotes: verified by construction
    for s in _merge_adjacent(chosen, hits, documents):
        hit = hits[s.hit]
        doc = documents[hit.chunk.doc_id]
        n = len(citations) + 1
        citations.append(make_citation(n, hit, doc, s.start, s.end, s.similarity))
        said.append(Statement(s.text, (n,), True))
    return Answer(question=question, text=" ".join(st.render() for st in said), found=True,
                  citations=tuple(citations), hits=tuple(hits), sentences=tuple(said),
                  short_answer=short_answer(question, citations, settings.stemmer,
                                            settings.stopwords))


def _merge_adjacent(
    chosen: Sequence[Sentence], hits: Sequence[Hit], documents: Mapping[str, Document]
) -> list[Sentence]:
    """Sentences in document order when they come from one passage; neighbours become one quote."""
    chosen = sorted(chosen, key=lambda s: (s.hit, s.start)) if len({s.hit for s in chosen}) == 1 \
        else list(chosen)
    out: list[Sentence] = []
    for s in chosen:
        prev = out[-1] if out else None
        if prev is not None and hits[prev.hit].chunk.doc_id == hits[s.hit].chunk.doc_id:
            text = documents[hits[s.hit].chunk.doc_id].text
            if prev.end <= s.start and not text[prev.end:s.start].strip():
                out[-1] = Sentence(prev.hit, prev.start, s.end, text[prev.start:s.end],
                                   max(prev.score, s.score), max(prev.similarity, s.similarity),
                                   max(prev.overlap, s.overlap))
                continue
        out.append(s)
    return out


def make_citation(n: int, hit: Hit, doc: Document, start: int, end: int, score: float) -> Citation:
    """A citation of doc.text[start:end], located by lines or pages."""
    loc = locate(doc, start, end)
    return Citation(
        n=n,
        chunk=hit.chunk,
        quote=doc.text[start:end],
        start=start,
        end=end,
        line_start=loc["line_start"],
        line_end=loc["line_end"],
        page_start=loc["page_start"],
        page_end=loc["page_end"],
        heading_path=heading_path(doc, start),
        score=score,
    )
