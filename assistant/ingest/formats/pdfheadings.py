"""Headings of a PDF for the `§` heading path: its outline (bookmarks), else its font sizes.

Each heading is located in the extracted page text, so its offset points at
the heading's own line; a heading that cannot be found there is left out
rather than placed somewhere wrong.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any

log = logging.getLogger(__name__)

Heading = tuple[int, int, str]  # (offset, level, text)
MIN_RATIO = 1.15  # a line this much larger than the body text is a heading
MAX_CHARS = 120  # longer lines are prose, however large


def _line_offset(page_text: str, title: str, after: int = 0) -> int | None:
    """Offset of the line that starts with `title` (whitespace-insensitive), or None."""
    words = title.split()
    if not words:
        return None
    pattern = re.compile(r"(?m)^[ \t]*" + r"\s+".join(re.escape(w) for w in words))
    m = pattern.search(page_text, after)
    return m.start() if m else None


def from_outline(reader: Any, pages: list[str], starts: list[int]) -> list[Heading]:
    """Headings from the PDF's outline: level from nesting, offset from the destination page."""
    out: list[Heading] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = str(item.title).strip()
            except Exception:  # noqa: BLE001 - a broken outline entry is skipped, not fatal
                continue
            if not 0 <= page < len(pages) or not title:
                continue
            at = _line_offset(pages[page], title)
            if at is not None:
                out.append((starts[page] + at, level, title))

    try:
        walk(list(reader.outline), 1)
    except Exception:  # noqa: BLE001 - see above
        log.debug("unreadable PDF outline", exc_info=True)
    return sorted(out)


Run = tuple[str, float, bool]  # (text, font size, set in a monospace font)
_MONO = re.compile(r"mono|courier|cmtt|sftt|typewriter|consolas|menlo|inconsolata|"
                   r"lmmono|txtt|fixed|\btt\d", re.IGNORECASE)


def font_runs(page: Any) -> tuple[str, list[Run]]:
    """(page text, [(text, font size, monospace)]) from one extraction pass."""
    runs: list[Run] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            scale = abs(float(tm[3])) if tm and float(tm[3]) else 1.0
            cscale = abs(float(cm[3])) if cm and float(cm[3]) else 1.0
            name = str(font.get("/BaseFont", "")) if hasattr(font, "get") else ""
            runs.append((text, float(size or 0) * scale * cscale, bool(_MONO.search(name))))

    text = page.extract_text(visitor_text=visit) or ""
    return text, runs


def from_font_sizes(pages: list[str], runs: list[list[Run]],
                    starts: list[int]) -> list[Heading]:
    """Short lines set larger than the body text; larger size = higher level."""
    body = Counter[float]()
    for page_runs in runs:
        for text, size, _mono in page_runs:
            body[round(size, 1)] += len(text.strip())
    if not body:
        return []
    base = body.most_common(1)[0][0]
    sizes = sorted({round(s, 1) for pr in runs for t, s, _m in pr
                    if s >= base * MIN_RATIO and 0 < len(t.strip()) <= MAX_CHARS}, reverse=True)
    level = {s: i + 1 for i, s in enumerate(sizes)}
    out: list[Heading] = []
    for page_no, (text, page_runs) in enumerate(zip(pages, runs, strict=True)):
        pos = 0
        for run, size, _mono in page_runs:
            title = " ".join(run.split())
            s = round(size, 1)
            if s not in level or not title or len(title) > MAX_CHARS:
                continue
            at = _line_offset(text, title, pos)
            if at is None:
                continue
            pos = at + len(title)
            out.append((starts[page_no] + at, level[s], title))
    return out
