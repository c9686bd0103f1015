"""The cited PDF page as an image (pypdfium2) with the quoted characters' boxes highlighted.

The quote's offsets point into the text pypdf extracted; PDFium extracts the
same page slightly differently (spaces, line ends), so the quote is found in
PDFium's text with whitespace ignored, which maps it to PDFium's character
indices and so to their boxes. A quote across pages is shown on each page.
"""

from __future__ import annotations

import base64
import bisect
import io
import re
from pathlib import Path
from typing import Any

from ..cite.records import Source
from ..types import Document
from .view import esc

SCALE = 1.5  # 108 dpi: readable beside the text view, small enough to send inline
# Page images one "Show in document" renders: a real quote spans one or two pages; a quote
# that claims more (a crafted record, say) must not make the server render a whole book.
MAX_PAGES = 3
HIGHLIGHT = (250, 204, 21, 140)  # translucent yellow, RGBA


def page_parts(doc: Document, start: int, end: int) -> list[tuple[int, str]]:
    """(0-based page, the quote's text on that page) for each page the quote spans."""
    out = []
    first = max(0, bisect.bisect_right(doc.page_starts, start) - 1)
    for page in range(first, len(doc.page_starts)):
        lo = max(start, doc.page_starts[page])
        hi = min(end, doc.page_starts[page + 1] if page + 1 < len(doc.page_starts) else end)
        if lo >= end:
            break
        if doc.text[lo:hi].strip():
            out.append((page, doc.text[lo:hi]))
    return out


def _find(textpage: Any, quote: str) -> list[int]:
    """PDFium character indices of `quote` on the page, whitespace ignored; [] if not found."""
    n = textpage.count_chars()
    chars = textpage.get_text_range(0, n)
    keep = [i for i, ch in enumerate(chars) if not ch.isspace()]
    squeezed = "".join(chars[i] for i in keep)
    target = re.sub(r"\s+", "", quote)
    at = squeezed.find(target) if target else -1
    if at < 0:
        return []
    return [keep[i] for i in range(at, at + len(target)) if keep[i] < n]


def render_page(path: Path, page_no: int, *quotes: str) -> tuple[bytes, int]:
    """(PNG of the page with each of `quotes` highlighted, number of characters highlighted)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[page_no]
        height = page.get_height()
        image = page.render(scale=SCALE).to_pil().convert("RGBA")
        textpage = page.get_textpage()
        found = [i for quote in quotes for i in _find(textpage, quote)]
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for i in found:
            left, bottom, right, top = textpage.get_charbox(i)
            draw.rectangle([left * SCALE, (height - top) * SCALE,
                            right * SCALE, (height - bottom) * SCALE], fill=HIGHLIGHT)
        image = Image.alpha_composite(image, overlay).convert("RGB")
    finally:
        pdf.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue(), len(found)


def pages_html(doc: Document, cite: Source) -> str:
    """<figure>s with the cited page image(s) for a PDF citation; "" for other formats."""
    if doc.format != "pdf" or not doc.page_starts or not Path(doc.path).is_file():
        return ""
    if not cite.lies_in(doc):
        return ""
    parts: dict[int, list[str]] = {}  # page -> the quote's parts on it, every span of the quote
    for p in cite.spans:
        for page, part in page_parts(doc, p.start, p.end):
            parts.setdefault(page, []).append(part)
    ocr = set(doc.ocr_pages)
    figures = []
    shown = sorted(parts)[:MAX_PAGES]
    for page in shown:
        png, marked = render_page(Path(doc.path), page, *parts[page])
        if marked:
            caption = f"page {page + 1}: the quote is highlighted"
        elif page + 1 in ocr:
            caption = f"page {page + 1} (scanned; its text was read by OCR, so nothing to highlight)"
        else:
            caption = f"page {page + 1} (the quote could not be located on the page image)"
        data = base64.b64encode(png).decode("ascii")
        figures.append(f"<figure class='page-img' data-page='{page + 1}' data-marked='{marked}'>"
                       f"<img alt='{esc(caption)}' src='data:image/png;base64,{data}'>"
                       f"<figcaption>{esc(caption)}</figcaption></figure>")
    if len(parts) > len(shown):
        more = (f"The quote goes on over {len(parts) - len(shown)} more page(s); the first "
                f"{len(shown)} are shown here, the text below has it all.")
        figures.append(f"<p class='hint pages-cut'>{esc(more)}</p>")
    return "<div class='pages'>" + "".join(figures) + "</div>"
