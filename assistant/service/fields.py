"""Answers, citations, search hits and documents -> the dicts the API and the MCP tools return.

One function per shape (schema.py defines them), so that /v1/chat/completions, /v1/search and
the MCP tools give identical citation fields. A search hit becomes a Citation first (its first
span is the quote), so a passage is described by exactly the code that describes a citation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..cite.references import citation_csl, cited_items
from ..cite.text import locators, markdown, plain
from ..ingest.language import quote_language
from ..text.locate import heading_path, locate
from ..types import MARKER, Answer, Chunk, Citation, Document, Hit, Span, locator
from .schema import (
    AnswerFields,
    CitationFields,
    FetchedFields,
    PassageFields,
    SpanFields,
)


def passage_id(chunk: Chunk) -> str:
    """The stable id of a passage: its document's id and its chunk's content-hash id."""
    return f"{chunk.doc_id}:{chunk.chunk_id}"


def span_fields(s: Span) -> SpanFields:
    return SpanFields(quote=s.quote, start=s.start, end=s.end, line_start=s.line_start,
                      line_end=s.line_end, page_start=s.page_start, page_end=s.page_end,
                      heading_path=list(s.heading_path), locator=locator(s))


def citation_fields(c: Citation, doc: Document | None, csl: dict[str, Any]) -> CitationFields:
    """A citation as the API gives it; `csl` is its CSL-JSON item with locator and label."""
    ch = c.chunk
    return CitationFields(
        n=c.n, id=passage_id(ch), chunk_id=ch.chunk_id, doc_id=ch.doc_id, title=ch.title,
        path=ch.source, quote=c.quote, start=c.start, end=c.end, line_start=c.line_start,
        line_end=c.line_end, page_start=c.page_start, page_end=c.page_end,
        heading_path=list(c.headings), locator=locators(c),
        spans=[span_fields(s) for s in c.parts],
        content_hash=doc.content_hash if doc is not None else None,
        language=quote_language(doc, c) if doc is not None else "",
        score=round(float(c.score), 6), verified=c.verified, unsupported=list(c.unsupported),
        csl=csl, plain=plain(c), markdown=markdown(c))


def answer_citations(answer: Answer, documents: Mapping[str, Document]) -> list[CitationFields]:
    """Every citation of an answer, in [n] order, with its reference."""
    return [citation_fields(c, documents.get(c.chunk.doc_id), csl)
            for c, csl in zip(answer.citations, cited_items(answer, documents), strict=True)]


def answer_fields(answer: Answer, documents: Mapping[str, Document],
                  collection: str) -> AnswerFields:
    sa = answer.short_answer
    return AnswerFields(
        question=answer.question, collection=collection, answer=answer.text, found=answer.found,
        short_answer=sa.to_dict() if sa else None,  # type: ignore[typeddict-item]
        notes=list(answer.notes), citations=answer_citations(answer, documents))


def spans_of(doc: Document, spans: Sequence[tuple[int, int]]) -> tuple[Span, ...]:
    """Exact spans of a document, each with its lines or pages and its headings."""
    return tuple(Span(doc.text[s:e], s, e, heading_path=heading_path(doc, s),
                      **locate(doc, s, e))
                 for s, e in spans)


def as_citation(chunk: Chunk, doc: Document, n: int, score: float = 0.0) -> Citation:
    """A passage as a citation: its first span is the quote, every span is exact."""
    parts = spans_of(doc, chunk.spans)
    first = parts[0]
    return Citation(n=n, chunk=chunk, quote=first.quote, start=first.start, end=first.end,
                    line_start=first.line_start, line_end=first.line_end,
                    page_start=first.page_start, page_end=first.page_end, score=score,
                    heading_path=first.heading_path, spans=parts if len(parts) > 1 else ())


def passage_fields(hit: Hit, doc: Document, n: int) -> PassageFields:
    c = as_citation(hit.chunk, doc, n, hit.score)
    out: dict[str, Any] = dict(citation_fields(c, doc, citation_csl(c, doc)))
    out.update(rank=hit.rank or n, text=hit.chunk.text,
               dense=None if hit.dense is None else round(float(hit.dense), 6),
               lexical=None if hit.lexical is None else round(float(hit.lexical), 6))
    return PassageFields(**out)  # type: ignore[typeddict-item]


def marker_annotations(text: str, cites: Sequence[CitationFields]) -> list[dict[str, Any]]:
    """One annotation per [n] marker of `text`: where the marker is and what it cites.

    Shaped like OpenAI's `url_citation` (type + an object of the same name holding
    `start_index`/`end_index`), as `file_citation`: `text[start_index:end_index]` is the
    marker, and the object names the cited file, its title, locator and quote.
    """
    by_n = {c["n"]: c for c in cites}
    out = []
    for m in MARKER.finditer(text):
        c = by_n.get(int(m.group(1)))
        if c is None:
            continue
        out.append({"type": "file_citation", "file_citation": {
            "start_index": m.start(), "end_index": m.end(), "n": c["n"], "id": c["id"],
            "file_id": c["doc_id"], "filename": c["path"], "title": c["title"],
            "locator": c["locator"], "quote": c["quote"], "url": c["csl"].get("URL")}})
    return out


def fetched_fields(doc: Document, chunk: Chunk | None, metadata: dict[str, Any]) -> FetchedFields:
    """A passage (`chunk`) or the whole document, with the locators inside it."""
    if chunk is not None:
        start, end, text = chunk.start, chunk.end, chunk.text
        spans = [span_fields(s) for s in spans_of(doc, chunk.spans)]
    else:
        start, end, text, spans = 0, len(doc.text), doc.text, []
    loc = locate(doc, start, end)
    bounds = [*doc.page_starts, len(doc.text)]
    pages = [{"page": i + 1, "start": s, "end": bounds[i + 1]}
             for i, s in enumerate(doc.page_starts) if s < end and bounds[i + 1] > start]
    heads = [{"start": pos, "level": level, "text": title}
             for pos, level, title in doc.headings if start <= pos < end]
    return FetchedFields(
        id=passage_id(chunk) if chunk is not None else doc.doc_id,
        kind="passage" if chunk is not None else "document", doc_id=doc.doc_id,
        chunk_id=chunk.chunk_id if chunk is not None else None, title=doc.title,
        path=doc.source, format=doc.format, content_hash=doc.content_hash,
        url=metadata.get("URL"), text=text, start=start, end=end, spans=spans,
        line_start=loc["line_start"], line_end=loc["line_end"], page_start=loc["page_start"],
        page_end=loc["page_end"], heading_path=list(heading_path(doc, start)),
        pages=pages, headings=heads, metadata=metadata)  # type: ignore[typeddict-item]
