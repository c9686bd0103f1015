"""The shapes the API and the MCP tools return, as TypedDicts: the one definition of every field.

The MCP tools publish these as their output schemas; the HTTP routes return the same dicts.
A citation and a search passage carry the same fields (a passage adds its rank, scores and
text), so a client reads both alike. Every `quote` is exactly `document_text[start:end]`;
docs/API.md describes each field.
"""

from typing import Any, Literal

from typing_extensions import TypedDict


class SpanFields(TypedDict):
    """One exact piece of a quote, with where it is."""

    quote: str
    start: int
    end: int
    line_start: int | None
    line_end: int | None
    page_start: int | None
    page_end: int | None
    heading_path: list[str]
    locator: str


class CitationFields(SpanFields):
    """A numbered citation: the passage it comes from, its exact quote (the first span's
    fields) and its reference."""

    n: int
    id: str  # "DOC_ID:CHUNK_ID", what fetch and cite take
    chunk_id: str
    doc_id: str
    title: str
    path: str  # the file as the index names it, never the server's absolute path
    spans: list[SpanFields]
    content_hash: str | None  # sha256 of the file's bytes
    language: str  # ISO 639-1 code of the quote: its passage's, else its document's ("" unknown)
    score: float
    verified: bool | None
    unsupported: list[str]
    csl: dict[str, Any]
    plain: str
    markdown: str


class PassageFields(CitationFields):
    """A search result: a citation's fields plus its rank, scores and the passage's text."""

    rank: int
    text: str
    dense: float | None
    lexical: float | None


class ShortAnswerFields(TypedDict):
    text: str
    start: int
    end: int
    citation_n: int


class AnswerFields(TypedDict):
    """The answer to one question with its citations (the MCP ask tool)."""

    question: str
    collection: str
    answer: str  # with [n] markers
    found: bool
    short_answer: ShortAnswerFields | None
    notes: list[str]
    citations: list[CitationFields]


class SearchFields(TypedDict):
    query: str
    collection: str
    results: list[PassageFields]


class PageFields(TypedDict):
    page: int
    start: int
    end: int


class HeadingFields(TypedDict):
    start: int
    level: int
    text: str


class FetchedFields(TypedDict):
    """One passage, or a whole document's text, with its locators."""

    id: str
    kind: Literal["passage", "document"]
    doc_id: str
    chunk_id: str | None
    title: str
    path: str
    format: str
    content_hash: str
    url: str | None
    text: str  # a passage: its spans joined by a blank line; a document: its whole text
    start: int
    end: int
    spans: list[SpanFields]
    line_start: int | None
    line_end: int | None
    page_start: int | None
    page_end: int | None
    heading_path: list[str]
    pages: list[PageFields]  # the pages within start..end (PDF)
    headings: list[HeadingFields]  # the headings within start..end
    metadata: dict[str, Any]  # the document's reference as a CSL-JSON item


class ReferenceFields(TypedDict):
    id: str
    style: str
    reference: str  # the reference in the style (BibTeX, RIS, CSL-JSON: the whole export)
    in_text: str | None  # apa, harvard, chicago: the in-text citation with its locator
    csl: dict[str, Any]


class DocumentEntry(TypedDict):
    doc_id: str
    title: str
    path: str
    language: str  # ISO 639-1 code detected in the document ("" unknown)


class CollectionFields(TypedDict):
    name: str
    model: str  # the model name that asks this collection through /v1/chat/completions
    documents: list[DocumentEntry]
