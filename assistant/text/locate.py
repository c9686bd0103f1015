"""Where a span of a document is for a reader: its lines or pages, and the headings above it."""

from __future__ import annotations

import bisect
import functools
import re

from ..types import Document


def locate(doc: Document, start: int, end: int) -> dict[str, int | None]:
    """Line numbers (text formats) and page numbers (PDF) of text[start:end], 1-based."""
    loc: dict[str, int | None] = {
        "line_start": None, "line_end": None, "page_start": None, "page_end": None
    }
    if doc.format in ("txt", "md"):
        newlines = _newlines(doc.text)
        loc["line_start"] = bisect.bisect_left(newlines, start) + 1
        loc["line_end"] = bisect.bisect_left(newlines, max(start, end - 1)) + 1
    if doc.page_starts:
        loc["page_start"] = bisect.bisect_right(doc.page_starts, start)
        loc["page_end"] = bisect.bisect_right(doc.page_starts, max(start, end - 1))
    return loc


@functools.lru_cache(maxsize=8)
def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def heading_path(doc: Document, offset: int) -> tuple[str, ...]:
    """The headings above `offset`, outermost first."""
    path: list[tuple[int, str]] = []
    for pos, level, title in doc.headings:
        if pos > offset:
            break
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
    return tuple(t for _, t in path)
