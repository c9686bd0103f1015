"""What a format loader gives back (Parsed), and the Loader protocol each format implements.

A loader turns a file's bytes into the text every offset will point into, and
what it alone knows about the file: its title, where pages start, its
headings, notes for the user and the pages it read by OCR. None rewrites the
text after that. Loaders raise IngestError("", reason); load_document adds the
file's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


class Loader(Protocol):
    """bytes -> Parsed, or IngestError("", reason)."""

    def __call__(self, data: bytes) -> Parsed: ...
