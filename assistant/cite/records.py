"""Answers -> citable records: one question and its answer as typed plain data, every citation in it.

A record holds everything needed to cite an answer later without the index: each citation's
quote, offsets, locator, language, the forms to paste and its reference (CSL-JSON), and the
answer's sentences with the citations that back each. The chat keeps a conversation as these
records (the browser stores them as JSON: `to_dict` / `Turn.from_dict`), and the exports
(Markdown, references, Word) read them. A record that comes back from a browser is checked
field by field (`Turn.from_dict` raises ValueError), never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..ingest.language import quote_language
from ..types import Answer, Citation, Document, ShortAnswer, Span, Statement, locator
from .corrections import field_problem
from .references import cited_items, export, formatted
from .styles import CSL_STYLES, EXPORTS
from .text import answer_markdown, locators, markdown, plain, quote_markdown, sources_markdown

CONTEXT_CHARS = 160  # surrounding text kept around a quote (the chat's Sources panel)
_LOCATION = ("line_start", "line_end", "page_start", "page_end")
# Bounds on what a browser may send back: far above any real answer, low enough that a
# crafted record costs nothing to check.
MAX_CITATIONS = 100  # citations of one answer, numbered 1..MAX_CITATIONS
MAX_SPANS = 32  # exact pieces of one citation's quote


def _str(d: Mapping[str, Any], key: str, pattern: str = r"(?s).*") -> str:
    v = d.get(key, "")
    if not isinstance(v, str) or not re.fullmatch(pattern, v):
        raise ValueError(f"{key} must be text" + (f" like {pattern}" if isinstance(v, str) else ""))
    return v


def _int(d: Mapping[str, Any], key: str, optional: bool = False) -> int | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{key} must be a whole number")
    return v


def _strs(d: Mapping[str, Any], key: str) -> tuple[str, ...]:
    v = d.get(key) or []
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"{key} must be a list of texts")
    return tuple(v)


@dataclass(frozen=True)
class Quoted(Span):
    """One verbatim span of a citation's quote, where it is, and a little text either side."""

    locator: str = ""
    before: str = ""
    after: str = ""
    # the parts of the quote that are code (a command line, a listing): shown as set
    code: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"quote": self.quote, "start": self.start, "end": self.end,
                **{k: getattr(self, k) for k in _LOCATION},
                "heading_path": list(self.heading_path), "locator": self.locator,
                "before": self.before, "after": self.after,
                "code": [list(c) for c in self.code]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Quoted:
        start, end, quote = _int(d, "start"), _int(d, "end"), _str(d, "quote")
        assert start is not None and end is not None
        if not 0 <= start <= end or end - start != len(quote):
            raise ValueError("a quote's offsets must satisfy 0 <= start <= end and span it")
        line_start, line_end, page_start, page_end = (_int(d, k, True) for k in _LOCATION)
        for first, last in ((line_start, line_end), (page_start, page_end)):
            if any(x is not None and x < 1 for x in (first, last)) or (
                    first is not None and last is not None and first > last):
                raise ValueError("lines and pages must be numbered from 1, first <= last")
        code = d.get("code") or []
        if not isinstance(code, list) or not all(
                isinstance(c, list) and len(c) == 2 and all(type(x) is int for x in c)
                and start <= c[0] < c[1] <= end for c in code):
            raise ValueError("a quote's code parts must lie inside it")
        return cls(quote, start, end, line_start, line_end, page_start, page_end,
                   _strs(d, "heading_path"), _str(d, "locator"), _str(d, "before"),
                   _str(d, "after"), tuple((a, b) for a, b in code))

    def lies_in(self, doc: Document) -> bool:
        """Is this span text of `doc`, at its offsets, on lines and pages the document has?"""
        if not 0 <= self.start <= self.end <= len(doc.text) or \
                doc.text[self.start:self.end] != self.quote:
            return False
        if self.page_end is not None and self.page_end > len(doc.page_starts):
            return False
        return self.line_end is None or self.line_end <= doc.text.count("\n") + 1


@dataclass(frozen=True)
class Source:
    """A citation as the page and the API give it: `Citation.to_dict()` without the server's
    path, plus the text around each span, the forms to paste and the reference (`csl`:
    CSL-JSON with its locator and label)."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    score: float
    spans: tuple[Quoted, ...]  # every exact piece of the quote; the first is the citation's
    locator: str
    plain: str
    markdown: str
    csl: dict[str, Any]
    verified: bool | None = None
    unsupported: tuple[str, ...] = ()
    language: str = ""  # ISO 639-1 code detected in the document ("" unknown)

    @property
    def first(self) -> Quoted:
        return self.spans[0]

    @property
    def quote(self) -> str:
        return self.first.quote

    @property
    def start(self) -> int:
        return self.first.start

    @property
    def end(self) -> int:
        return self.first.end

    @property
    def before(self) -> str:
        return self.first.before

    @property
    def after(self) -> str:
        return self.first.after

    def to_dict(self) -> dict[str, Any]:
        f = self.first
        return {"n": self.n, "doc_id": self.doc_id, "title": self.title, "source": self.source,
                "quote": f.quote, "start": f.start, "end": f.end,
                **{k: getattr(f, k) for k in _LOCATION}, "heading_path": list(f.heading_path),
                "chunk_id": self.chunk_id, "score": self.score, "verified": self.verified,
                "unsupported": list(self.unsupported),
                "spans": [s.to_dict() for s in self.spans], "locator": self.locator,
                "plain": self.plain, "markdown": self.markdown, "before": f.before,
                "after": f.after, "csl": self.csl, "language": self.language}

    def lies_in(self, doc: Document) -> bool:
        """Does every span of the quote lie in `doc` as the record says (not a crafted one)?"""
        return all(s.lies_in(doc) for s in self.spans)

    def as_markdown(self) -> str:
        """"Copy as Markdown", made again from the record's fields (cite.text makes it safe)."""
        return quote_markdown([s.quote for s in self.spans], self.title, self.source,
                              self.locator)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Source:
        n = _int(d, "n")
        assert n is not None
        if not 1 <= n <= MAX_CITATIONS:
            raise ValueError(f"a citation's number must be 1 to {MAX_CITATIONS}")
        spans = d.get("spans") or [d]
        if not isinstance(spans, list) or not all(isinstance(s, dict) for s in spans) or \
                len(spans) > MAX_SPANS:
            raise ValueError(f"spans must be a list of up to {MAX_SPANS} objects")
        score, csl, verified = d.get("score", 0.0), d.get("csl") or {}, d.get("verified")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise ValueError("score must be a number")
        if not isinstance(csl, dict) or verified not in (None, True, False):
            raise ValueError("csl must be an object and verified true, false or null")
        if csl and not isinstance(csl.get("id"), str) or any(
                field_problem(k, v) for k, v in csl.items()):
            raise ValueError("csl must be a CSL-JSON item with an id")
        quoted = tuple(Quoted.from_dict(s) for s in spans)
        first = quoted[0] if quoted else None
        if first is None or any(k in d and d[k] != getattr(first, k)
                                for k in ("quote", "start", "end")):
            raise ValueError("a citation's quote and offsets must be those of its first span")
        return cls(n, _str(d, "doc_id"), _str(d, "title"), _str(d, "source"),
                   _str(d, "chunk_id"), float(score), quoted,
                   _str(d, "locator"), _str(d, "plain"), _str(d, "markdown"), csl, verified,
                   _strs(d, "unsupported"), _str(d, "language", r"[a-z]{0,3}"))


@dataclass(frozen=True)
class Turn:
    """One question and its final answer, with everything the page shows and exports need."""

    question: str
    text: str  # the answer with its [n] markers
    found: bool
    citations: tuple[Source, ...] = ()
    sentences: tuple[Statement, ...] = ()  # the answer's sentences (empty in older records)
    short_answer: ShortAnswer | None = None
    notes: tuple[str, ...] = ()
    export: str = ""  # the answer and its references in Markdown

    def as_markdown(self) -> str:
        """The answer and its references in Markdown, made again from the record's fields."""
        sa = self.short_answer
        return sources_markdown(self.text, (sa.text, sa.citation_n) if sa else None,
                                [(c.n, c.title, c.source, c.locator, [s.quote for s in c.spans])
                                 for c in self.citations])

    def to_dict(self) -> dict[str, Any]:
        sa = self.short_answer
        return {"question": self.question, "text": self.text, "found": self.found,
                "notes": list(self.notes), "citations": [c.to_dict() for c in self.citations],
                "sentences": [{**s.to_dict(), "sep": s.sep} for s in self.sentences],
                "short_answer": sa.to_dict() if sa else None, "export": self.export}

    @classmethod
    def from_dict(cls, d: Any) -> Turn:
        """A record as a browser sent it back; ValueError naming what is wrong with it."""
        if not isinstance(d, dict):
            raise ValueError("a turn must be an object")
        found = d.get("found")
        cites, said, sa = d.get("citations") or [], d.get("sentences") or [], d.get("short_answer")
        if not isinstance(found, bool):
            raise ValueError("found must be true or false")
        if not isinstance(cites, list) or not all(isinstance(c, dict) for c in cites) or \
                not isinstance(said, list) or not all(isinstance(s, dict) for s in said):
            raise ValueError("citations and sentences must be lists of objects")
        citations = tuple(Source.from_dict(c) for c in cites)
        numbers = {c.n for c in citations}
        if len(numbers) != len(citations):
            raise ValueError("a turn's citations must have different numbers")
        sentences = []
        for s in said:
            cited = s.get("cited") or []
            if not isinstance(cited, list) or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n in numbers for n in cited):
                raise ValueError("a sentence may cite only the turn's citations")
            if s.get("verified") not in (None, True, False):
                raise ValueError("verified must be true, false or null")
            sentences.append(Statement(_str(s, "text"), tuple(cited), s.get("verified"),
                                       _str(s, "sep") if "sep" in s else " "))
        short = None
        if sa is not None:
            if not isinstance(sa, dict):
                raise ValueError("short_answer must be an object")
            n = _int(sa, "citation_n")
            start, end = _int(sa, "start"), _int(sa, "end")
            if n not in numbers or start is None or end is None or not 0 <= start <= end:
                raise ValueError("short_answer must lie in one of the turn's citations")
            short = ShortAnswer(_str(sa, "text"), start, end, n)
        return cls(_str(d, "question"), _str(d, "text"), found, citations, tuple(sentences),
                   short, _strs(d, "notes"), _str(d, "export"))


def turns_from(state: Any) -> list[Turn]:
    """The conversation a browser kept, or [] when it holds anything but valid records."""
    if not isinstance(state, list):
        return []
    try:
        return [Turn.from_dict(t) for t in state]
    except (ValueError, TypeError, AssertionError):
        return []


def turn_record(answer: Answer, documents: Mapping[str, Document]) -> Turn:
    """One question and its final answer as a record, with everything the page shows."""
    cites = tuple(source_of(c, documents.get(c.chunk.doc_id), csl)
                  for c, csl in zip(answer.citations, cited_items(answer, documents), strict=True))
    return Turn(answer.question, answer.text, answer.found, cites, answer.sentences,
                answer.short_answer, answer.notes, answer_markdown(answer))


def source_of(c: Citation, doc: Document | None, csl: dict[str, Any]) -> Source:
    """A citation as a record: each span with the text around it (up to the next span)."""
    parts = c.parts
    spans = []
    for i, p in enumerate(parts):  # context stops where the next span of the quote starts
        lo = parts[i - 1].end if i else 0
        hi = parts[i + 1].start if i + 1 < len(parts) else None
        before, after = _context(doc, p.start, p.end, lo, hi) if doc else ("", "")
        code = tuple((max(b.start, p.start), min(b.end, p.end)) for b in doc.blocks
                     if b.kind == "code" and b.start < p.end and b.end > p.start) if doc else ()
        spans.append(Quoted(p.quote, p.start, p.end, p.line_start, p.line_end, p.page_start,
                            p.page_end, tuple(p.heading_path), locator(p), before, after, code))
    return Source(c.n, c.chunk.doc_id, c.chunk.title, c.chunk.source, c.chunk.chunk_id,
                  round(float(c.score), 6), tuple(spans), locators(c), plain(c), markdown(c),
                  csl, c.verified, tuple(c.unsupported),
                  quote_language(doc, c) if doc else "")


def _context(doc: Document, start: int, end: int, lo: int = 0,
             hi: int | None = None) -> tuple[str, str]:
    """A little text either side of a quote (within lo..hi), cut at words and boilerplate."""
    lo = max(lo, start - CONTEXT_CHARS)
    hi = min(len(doc.text) if hi is None else hi, end + CONTEXT_CHARS)
    for s, e in doc.skip_spans:  # never show "Hide Ad" lines as context
        if e <= start:
            lo = max(lo, e)
        elif s >= end:
            hi = min(hi, s)
    before, after = doc.text[lo:start], doc.text[end:hi]
    if lo > 0 and " " in before:
        before = "\u2026" + before[before.index(" ") + 1:]
    if hi < len(doc.text) and " " in after:
        after = after[:after.rindex(" ")] + "\u2026"
    return before, after


def reference_for(cite: Source, style: str) -> str:
    """One source's reference in `style`, as "Copy reference" puts it on the clipboard."""
    if not cite.csl or style not in (*CSL_STYLES, *EXPORTS):
        return cite.plain
    if style in EXPORTS:
        return export([cite.csl], style)
    in_text, refs = formatted([cite.csl], style)
    return f"{refs[0]} {in_text[0]}" if refs else in_text[0]


def references_text(turns: Sequence[Turn], style: str) -> str:
    """The references of a whole conversation in `style` (a .bib, .ris, .json or text file)."""
    items = [c.csl for t in turns for c in t.citations if c.csl]
    if style in EXPORTS:
        return export(items, style) if items else ""
    if style in CSL_STYLES and items:
        return "\n".join(formatted(items, style)[1]) + "\n"
    return "\n".join(c.plain for t in turns for c in t.citations) + "\n"


def refreshed(turns: Sequence[Turn], items: Mapping[str, dict[str, Any]]) -> list[Turn]:
    """Turns whose references are replaced by the documents' current items (after an edit).

    `items` maps doc_id to the document's CSL item now; each citation keeps its own
    locator, label and note.
    """
    def update(c: Source) -> Source:
        new = items.get(c.doc_id)
        if new is None or not c.csl:
            return c
        keep = {k: v for k, v in c.csl.items() if k in {"locator", "label", "note"}}
        return replace(c, csl={**new, **keep})

    return [replace(t, citations=tuple(update(c) for c in t.citations)) for t in turns]
