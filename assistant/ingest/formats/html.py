"""HTML (pages, Sphinx and DocBook output): block text, one paragraph per block; h1-h6 are headings.

Scripts, styles, navigation, headers, footers, forms and page chrome (DocBook's
navheader/navfooter and tables of contents, Sphinx's related bar and ¶ links, texinfo's
Next/Previous lines, asciidoc's footer) are dropped. The layout is kept as blocks
(layout.py): definition lists, `<pre>` with its line breaks, table rows (one line each,
cells joined by " | ") with their header row, list items and notes. The page is parsed
once, within a budget of nesting depth and elements (Limits); its <head> gives the
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
from .layout import Layout

_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "td", "th",
          "pre", "blockquote", "dd", "dt", "dl", "figcaption", "figure", "br", "hr", "address",
          "h1", "h2", "h3", "h4", "h5", "h6", "caption", "summary", "details", "body"}
_DROP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside",
         "form", "iframe", "object", "embed", "button", "select", "head", "canvas"}
# Page chrome by class or id: navigation bars, Prev/Next, breadcrumbs, tables of contents,
# footers, permalink marks (Sphinx, DocBook, texinfo, asciidoc, the sqlite.org pages).
_CHROME = {"navheader", "navfooter", "toc", "breadcrumb", "breadcrumbs", "headerlink",
           "copiable-anchor", "copiable-link", "related", "sphinxsidebar", "footer", "header",
           "nav-panel", "navigation", "section-toc", "contents-heading", "Contents_element",
           "fancy_toc", "nosearch", "menu", "searchmenu", "list-of-tables", "list-of-figures",
           "list-of-examples", "footer-text", "skip-link", "sidebar",
           # texinfo's index tables (a page of links to the terms, not text)
           "index-cp", "index-fn", "index-vr", "index-ky", "index-pg", "index-tp", "index-bt",
           "index-rw"}
_CHROME_IDS = {"footer", "toc", "nav", "navigation", "sidebar", "breadcrumbs",
               "SEC_Contents", "SEC_Overview"}
# Notes, tips and warnings: DocBook, Sphinx and asciidoc admonitions.
_NOTES = {"note", "tip", "warning", "caution", "important", "admonition", "admonitionblock",
          "hint", "attention", "danger", "seealso", "notice"}


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


def _chrome(tag: Any) -> bool:
    classes = tag.get("class") or ()
    if isinstance(classes, str):
        classes = classes.split()
    return (any(c in _CHROME for c in classes) or tag.get("id") in _CHROME_IDS
            or tag.get("role") == "navigation")


def _kind(tag: Any, name: str) -> str | None:
    """The layout block an element opens, if any."""
    if name in ("pre", "dl", "dt", "dd", "table", "thead", "tr", "td", "th", "li", "caption"):
        return name
    if name in ("div", "section", "aside", "blockquote", "p"):
        classes = tag.get("class") or ()
        if isinstance(classes, str):
            classes = classes.split()
        if any(c.lower() in _NOTES for c in classes):
            return "note"
        if name == "p" and "title" in classes:  # DocBook's caption of a table, figure, example
            return "caption"
    return None


def load_html(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    from bs4 import NavigableString, Tag
    from bs4.element import CData, PreformattedString

    raw, notes = decode_text(data)
    soup = _soup(raw, limits)
    head = soup.head if re.search(r"</head\s*>", raw, re.IGNORECASE) else None
    meta = html_meta_of(head if head is not None else soup)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    page = Layout()

    # Depth-first with a stack of its own, so that a page nested 20,000 deep is read too.
    # Each entry: the children still to visit, the heading level to flush at the end of a
    # block element (None for inline ones), and the layout block it opened.
    stack: list[tuple[Iterator[Any], int | None, str | None]] = [(iter(soup.children), None, None)]
    while stack:
        children, close, kind = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if close is not None:
                page.flush(close)
            if kind is not None:
                page.close(kind)
            continue
        # Comments, <!DOCTYPE>, <?xml ...?> are not text; CDATA is.
        if isinstance(child, PreformattedString) and not isinstance(child, CData):
            continue
        if isinstance(child, NavigableString):
            page.add(str(child))
        elif isinstance(child, Tag):
            name = child.name.lower()
            if name in _DROP or _chrome(child):
                continue
            kind = _kind(child, name)
            if name in _BLOCK:
                page.flush()
                level = int(name[1]) if re.fullmatch(r"h[1-6]", name) else 0
            else:
                level = None
            if kind is not None:
                page.open(kind, str(child.get("summary") or ""))
            stack.append((iter(child.children), level, kind))
    page.flush()
    text, headings, blocks = page.result()
    if not title:
        title = next((h[2] for h in headings if h[1] == 1), None)
    return Parsed(text, title, headings=tuple(headings), notes=tuple(notes), meta=meta,
                  blocks=blocks)
