"""What a format loader gives back (Parsed), and the Loader protocol each format implements.

A loader turns a file's bytes into the text every offset will point into, and
what it alone knows about the file: its title, where pages start, its
headings, notes for the user and the pages it read by OCR. None rewrites the
text after that. Loaders raise IngestError("", reason); load_document adds the
file's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..types import Block

Heading = tuple[int, int, str]  # (offset, level, heading text)
OCR_NOTE = "text read by OCR from page images (pages {pages}); check quotes against the page"


@dataclass(frozen=True)
class Parsed:
    """One file as a loader read it."""

    text: str
    title: str | None = None
    page_starts: tuple[int, ...] = ()  # offset where each page starts (PDF, images)
    headings: tuple[Heading, ...] = ()
    notes: tuple[str, ...] = ()  # e.g. "decoded as cp1252"
    ocr_pages: tuple[int, ...] = ()  # 1-based pages whose text was read by OCR
    # Bibliographic metadata (CSL-JSON fields) read from the same parse; None: none read.
    meta: Mapping[str, Any] | None = field(default=None, compare=False)
    blocks: tuple[Block, ...] = ()  # layout: definitions, code, table rows, items, notes
    # Spans of the text that are markup, not content (a Markdown code fence): never chunked.
    skip_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Limits:
    """How much work one file may cost a loader; past a limit the loader skips or stops with
    a reason that names the limit's setting (docs/RELIABILITY.md)."""

    page_pixels: int = 40_000_000  # a page rendered for OCR, or an image
    ocr_pages: int = 100  # pages of one document read by OCR
    ocr_seconds: float = 60.0  # OCR time for one document
    inflated_bytes: int = 256 * 2**20  # uncompressed size of a zip-based file (.docx)
    html_depth: int = 25_000
    html_nodes: int = 200_000

    @classmethod
    def of(cls, settings: Any) -> Limits:
        """The limits a Settings sets (ASSISTANT_MAX_PAGE_PIXELS, ...)."""
        s = settings
        return cls(s.max_page_pixels, s.ocr_max_pages, s.ocr_max_seconds,
                   s.max_inflated_mb * 2**20, s.html_max_depth, s.html_max_nodes)


DEFAULT_LIMITS = Limits()


class Loader(Protocol):
    """bytes -> Parsed within `limits`, or IngestError("", reason)."""

    def __call__(self, data: bytes, limits: Limits = ...) -> Parsed: ...
