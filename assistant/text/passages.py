"""Retrieved passages -> the sentences that can be quoted, and the citation of a quote.

Answers (answer/extractive.py) rank these sentences; verification
(generate/verify.py) looks in them for the source of a generated claim. A quote is
always `document.text[start:end]`, located by lines or pages and headings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..types import Citation, Document, Hit, Span
from .analyzer import word_count
from .locate import heading_path, locate
from .roles import about
from .sentences import body_sentences

MIN_WORDS = 3  # shorter sentences are never quoted (analyzer.word_count: any script)
# Relevance = cosine similarity + OVERLAP_WEIGHT * share of the question's content words
# (answer/extractive.py abstains below settings.min_relevance; docs/EVALUATION.md).
OVERLAP_WEIGHT = 0.8


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
    # the sentences before it that its He/She/They points back to (roles.about), and its document
    context: str = field(default="", repr=False)
    document: str = field(default="", repr=False, compare=False)
    typed: bool = False  # holds a candidate of the question's answer type
    named: float = 0.0  # share of the question's names it mentions

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
                if (doc.doc_id, s) in seen or word_count(doc.text[s:e]) < MIN_WORDS:
                    continue
                seen.add((doc.doc_id, s))
                out.append(Sentence(i, s, e, doc.text[s:e],
                                    context=about(doc.text, s, functools.partial(_before, doc)),
                                    document=doc.text))
    return out


def _before(doc: Document, at: int) -> tuple[int, int] | None:
    """The quotable sentence of doc that ends before offset `at` (within 1,000 characters)."""
    prev = [x for x in body_sentences(doc, max(0, at - 1000), at)
            if word_count(doc.text[x[0]:x[1]]) >= MIN_WORDS]
    return prev[-1] if prev else None


def cite_spans(n: int, hit: Hit, doc: Document, spans: Sequence[tuple[int, int]],
               score: float) -> Citation:
    """A citation of doc.text at each of `spans` (document order); one span is a plain quote."""
    first = make_citation(n, hit, doc, *spans[0], score)
    if len(spans) == 1:
        return first
    parts = []
    for a, b in spans:
        loc = locate(doc, a, b)
        parts.append(Span(doc.text[a:b], a, b, loc["line_start"], loc["line_end"],
                          loc["page_start"], loc["page_end"], heading_path(doc, a)))
    return replace(first, spans=tuple(parts))


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
