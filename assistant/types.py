"""Frozen records that flow between the stages: Document, Chunk, Hit, Citation, Answer."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# The one citation marker an answer's text holds: "[n]" after the sentence it backs.
MARKER = re.compile(r"\[(\d+)\]")
UNVERIFIED = "(unverified)"  # follows the markers of a sentence its sources do not support
# Between the spans of one quote in an answer's text (a table row after its header row).
QUOTE_GAP = " \u2026 "


def marker(n: int) -> str:
    """The marker of citation n, as it appears in an answer's text."""
    return f"[{n}]"


BLOCK_KINDS = ("definition", "code", "row", "header", "caption", "item", "note")


@dataclass(frozen=True)
class Block:
    """A unit of a document's layout, as exact offsets into its text.

    kind: `definition` (a term or signature with its description; `head` is the term), `code`
    (a command line or listing, its line breaks kept), `header` (a table's header row), `row`
    (a table row; `head` is its table's header row, elsewhere in the text), `caption` (a
    table's or figure's title), `item` (a list item), `note` (a note, tip or warning).
    """

    kind: str
    start: int
    end: int
    head: tuple[int, int] | None = None  # a definition's term; a row's header row


@dataclass(frozen=True)
class Document:
    """One source file, decoded to text.

    `text` is the document's text as the assistant sees it: for text formats exactly what
    `Path.read_text()` returns (universal newlines); for PDF, DOCX and HTML the extracted
    text. Every offset elsewhere points into it.
    """

    doc_id: str
    source: str  # path shown to users, e.g. docs_src/rotherham-cse-review.txt
    path: str  # absolute file path
    title: str
    text: str
    format: str  # txt | md | html | pdf | docx
    content_hash: str  # sha256 of the file's bytes
    # Character offset where each page starts (PDF only), in page order.
    page_starts: tuple[int, ...] = ()
    # (offset, level, heading text) for formats that have headings.
    headings: tuple[tuple[int, int, str], ...] = ()
    # Spans of `text` that are boilerplate (repeated ad/nav lines): never chunked.
    skip_spans: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()  # e.g. "decoded as cp1252"
    ocr_pages: tuple[int, ...] = ()  # 1-based pages whose text was read by OCR
    language: str = ""  # ISO 639-1 code detected from the text (ingest/language.py); "" unknown
    passages: tuple[tuple[int, int, str], ...] = ()  # (start, end, code): runs in another one
    # Layout the loader read (definition lists, code, table rows, list items, notes), in
    # order of start; a block may hold others (a code block in a list item).
    blocks: tuple[Block, ...] = ()
    # Bibliographic metadata the file carries, as a CSL-JSON item without "id" (title,
    # author, issued, container-title, publisher, URL, DOI, number-of-pages, type); JSON-able
    # so that it is stored as it is. The user's corrections (references.json) are applied
    # when a reference is made, not here (see cite/references.py).
    meta: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with exact locators back into its document.

    `text` is the document text in `spans` joined by blank lines; when a chunk
    holds no boilerplate there is one span and `text == doc.text[start:end]`.
    """

    chunk_id: str
    doc_id: str
    title: str
    source: str
    path: str
    text: str
    start: int
    end: int
    spans: tuple[tuple[int, int], ...]
    line_start: int | None = None
    line_end: int | None = None
    page_start: int | None = None
    page_end: int | None = None
    heading_path: tuple[str, ...] = ()
    ordinal: int = 0  # position of the chunk in its document

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        data = dict(data)
        data["spans"] = tuple(tuple(s) for s in data["spans"])
        data["heading_path"] = tuple(data.get("heading_path") or ())
        return cls(**data)


@dataclass(frozen=True)
class Hit:
    """A chunk retrieved for a query, with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused score used for ranking
    dense: float | None = None  # cosine similarity to the query
    lexical: float | None = None  # BM25 score
    rank: int = 0


@dataclass(frozen=True)
class Span:
    """One verbatim piece of a citation's quote: `document.text[start:end] == quote`."""

    quote: str
    start: int
    end: int
    line_start: int | None = None
    line_end: int | None = None
    page_start: int | None = None
    page_end: int | None = None
    heading_path: tuple[str, ...] = ()

    @property
    def headings(self) -> tuple[str, ...]:
        return self.heading_path

    def to_dict(self) -> dict[str, Any]:
        return {"quote": self.quote, "start": self.start, "end": self.end,
                "line_start": self.line_start, "line_end": self.line_end,
                "page_start": self.page_start, "page_end": self.page_end,
                "heading_path": list(self.heading_path), "locator": locator(self)}


@dataclass(frozen=True)
class Citation:
    """A numbered, verbatim quote: `document.text[start:end] == quote`.

    A generated sentence may rest on two sentences of one passage; `spans` then
    holds both, in document order, and quote/start/end/lines are the first's.
    """

    n: int
    chunk: Chunk
    quote: str
    start: int
    end: int
    line_start: int | None
    line_end: int | None
    page_start: int | None
    page_end: int | None
    score: float
    verified: bool | None = None  # set by generators that check claims
    # Headings above the quote itself (the chunk's start may sit under an earlier one).
    heading_path: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()  # empty: the quote is the only span
    # Facts of the claim the quote does not hold, e.g. ("Independent Review Commission",).
    unsupported: tuple[str, ...] = ()

    @property
    def parts(self) -> tuple[Span, ...]:
        """Every exact span of the quote, in document order (one for most citations)."""
        return self.spans or (Span(self.quote, self.start, self.end, self.line_start,
                                   self.line_end, self.page_start, self.page_end, self.headings),)

    @property
    def headings(self) -> tuple[str, ...]:
        """The quote's heading path; the chunk's when it was not computed."""
        # A quote never starts before its chunk, so an empty path here means none.
        return self.heading_path or self.chunk.heading_path

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "n": self.n,
            "doc_id": c.doc_id,
            "title": c.title,
            "source": c.source,
            "path": c.path,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "page_start": self.page_start,
            "page_end": self.page_end,
            "heading_path": list(self.headings),
            "chunk_id": c.chunk_id,
            "score": round(float(self.score), 6),
            "verified": self.verified,
            "unsupported": list(self.unsupported),
            "spans": [s.to_dict() for s in self.parts],
        }


def locator(c: Citation | Span) -> str:
    """'lines 5–6', 'line 5', 'p. 3', 'pp. 3–4', plus the heading path where there is one."""
    parts = []
    if c.page_start is not None:
        if c.page_end is not None and c.page_end != c.page_start:
            parts.append(f"pp. {c.page_start}\u2013{c.page_end}")
        else:
            parts.append(f"p. {c.page_start}")
    if c.line_start is not None:
        if c.line_end is not None and c.line_end != c.line_start:
            parts.append(f"lines {c.line_start}\u2013{c.line_end}")
        else:
            parts.append(f"line {c.line_start}")
    if c.headings:
        parts.append("\u00a7 " + " > ".join(c.headings))
    return ", ".join(parts)


@dataclass(frozen=True)
class ShortAnswer:
    """The few words that answer the question, inside citation `citation_n`'s quote:
    `document.text[start:end] == text` (see shortanswer.py)."""

    text: str
    start: int
    end: int
    citation_n: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end,
                "citation_n": self.citation_n}


@dataclass(frozen=True)
class Statement:
    """One sentence of an answer, the citations that back it, and whether it was checked.

    `verified` is True for a sentence quoted verbatim (extractive) or checked and
    supported (generated), False for one checked and not supported, None for one
    that states nothing to check ("Here is what I found:").
    """

    text: str
    cited: tuple[int, ...] = ()
    verified: bool | None = None
    sep: str = " "  # the whitespace after it in the answer's text (a generator's paragraphs)

    def render(self, mark: Callable[[int], str] = marker) -> str:
        """The sentence as the answer's text shows it: markers, then the unverified mark.

        `mark` writes citation n: its [n] marker, or an in-text citation in a style."""
        marks = "".join(mark(n) for n in self.cited)
        flag = UNVERIFIED if self.verified is False else ""
        return " ".join(p for p in (self.text, marks, flag) if p)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "cited": list(self.cited), "verified": self.verified}


def rendered(sentences: Sequence[Statement], mark: Callable[[int], str] = marker) -> str:
    """An answer's text from its sentences (`Answer.text` is exactly this with `marker`)."""
    return "".join(s.render(mark) + s.sep for s in sentences).strip()


@dataclass(frozen=True)
class Answer:
    """The reply to one question: text with [n] markers, its sentences and their citations.

    `text` is what a person reads; `sentences` holds the same sentences as data
    (which citations back each, whether it was verified), so that nothing has to
    parse the text to recover them. A draft still streaming has no sentences.
    """

    question: str
    text: str
    found: bool
    citations: tuple[Citation, ...] = ()
    hits: tuple[Hit, ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = ()  # e.g. "generator unreachable; extractive answer shown"
    short_answer: ShortAnswer | None = None  # None: the question asks for no short fact
    sentences: tuple[Statement, ...] = ()
    fallback: bool = False  # the generator failed and this is the extractive answer

    @property
    def verified(self) -> int:
        """Sentences quoted verbatim or checked against their sources and supported."""
        return sum(s.verified is True for s in self.sentences)

    @property
    def checked(self) -> int:
        """Sentences that state something checkable (verified or not)."""
        return sum(s.verified is not None for s in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "short_answer": self.short_answer.to_dict() if self.short_answer else None,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [s.to_dict() for s in self.sentences],
            "verified": self.verified,
            "checked": self.checked,
            "fallback": self.fallback,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (shown to the user)."""

    source: str
    reason: str


@dataclass(frozen=True)
class IndexReport:
    """What one `assistant index` run did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    embedded: int = 0  # chunks whose vectors were computed in this run
    seconds: float = 0.0
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()
    vector_index: str = ""  # the FAISS index type in use: "exact (flat)", "HNSW" or both
    uploaded: tuple[str, ...] = ()  # sources of the uploads this update indexed and stored
    model: str = ""  # the embedding model of the index
    model_reason: str = ""  # why that one: "de.txt is in German", "all documents in English"

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, removed {self.removed}, "
            f"unchanged {self.unchanged}"
        )
