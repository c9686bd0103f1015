"""HTML (pages, Sphinx and DocBook output): block text, one paragraph per block; h1-h6 are headings.

Scripts, styles, navigation, headers, footers, forms and the like are dropped. The page is
parsed once, within a budget of nesting depth and elements (Limits); its <head> gives the
metadata from the same parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...config import variable
from ...errors import IngestError
from ..base import DEFAULT_LIMITS, Limits, Parsed
from ..decoding import decode_text
from ..metadata import html_meta_of

_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "td", "th",
          "pre", "blockquote", "dd", "dt", "dl", "figcaption", "figure", "br", "hr", "address",
          "h1", "h2", "h3", "h4", "h5", "h6", "caption", "summary", "details", "body"}
_DROP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside",
         "form", "iframe", "object", "embed", "button", "select", "head", "canvas"}


class _OverBudget(Exception):
    """The page is nested deeper or holds more elements than its Limits allow."""


def _soup(raw: str, limits: Limits) -> Any:
    """BeautifulSoup(raw, "html.parser") that stops as soon as the page goes past `limits`
    (an element opened deeper than html_depth, or more than html_nodes elements), so a
    hostile page costs at most its budget, not the whole tree."""
    from bs4 import BeautifulSoup

    class Bounded(BeautifulSoup):
        nodes = 0

        def pushTag(self, tag: Any) -> None:  # noqa: N802 - bs4's name
            Bounded.nodes += 1
            if len(self.tagStack) > limits.html_depth:
                raise _OverBudget(f"HTML nested over {limits.html_depth:,} elements deep "
                                  f"({variable('html_max_depth')})")
            if Bounded.nodes > limits.html_nodes:
                raise _OverBudget(f"HTML with over {limits.html_nodes:,} elements "
                                  f"({variable('html_max_nodes')})")
            super().pushTag(tag)

    try:
        return Bounded(raw, "html.parser")
    except _OverBudget as exc:
        raise IngestError("", f"{exc}; not read") from None


def load_html(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    from bs4 import NavigableString, Tag
    from bs4.element import CData, PreformattedString

    raw, notes = decode_text(data)
    soup = _soup(raw, limits)
    head = soup.head if re.search(r"</head\s*>", raw, re.IGNORECASE) else None
    meta = html_meta_of(head if head is not None else soup)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    blocks: list[tuple[str, int]] = []  # (text, heading level or 0)
    buf: list[str] = []

    def flush(level: int = 0) -> None:
        text = re.sub(r"\s+", " ", "".join(buf)).strip()
        buf.clear()
        if text:
            blocks.append((text, level))

    # Depth-first with a stack of its own, so that a page nested 20,000 deep is read too.
    # Each entry: the children still to visit, and the heading level to flush at the
    # end of a block element (None for inline ones).
    stack: list[tuple[Iterator[Any], int | None]] = [(iter(soup.children), None)]
    while stack:
        children, close = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if close is not None:
                flush(close)
            continue
        # Comments, <!DOCTYPE>, <?xml ...?> are not text; CDATA is.
        if isinstance(child, PreformattedString) and not isinstance(child, CData):
            continue
        if isinstance(child, NavigableString):
            buf.append(str(child))
        elif isinstance(child, Tag):
            name = child.name.lower()
            if name in _DROP:
                continue
            if name in _BLOCK:
                flush()
                level = int(name[1]) if re.fullmatch(r"h[1-6]", name) else 0
                stack.append((iter(child.children), level))
            else:
                stack.append((iter(child.children), None))
    flush()
    text_parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    offset = 0
    for block, level in blocks:
        if level:
            headings.append((offset, level, block))
        text_parts.append(block)
        offset += len(block) + 2
    if not title:
        title = next((h[2] for h in headings if h[1] == 1), None)
    return Parsed("\n\n".join(text_parts), title, headings=tuple(headings), notes=tuple(notes),
                  meta=meta)
