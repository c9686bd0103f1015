"""One small loader per file format: bytes -> (text, title, page starts, headings, notes, extra).

`extra` holds what a loader alone knows about the file, merged into
Document.meta: today the pages it read by OCR ("ocr-pages", 1-based).

Each loader returns the text every offset will point into; none rewrites it
after that. Loaders raise IngestError("", reason); ingest adds the file name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from . import pdfheadings
from .decoding import decode_text
from .errors import IngestError

log = logging.getLogger(__name__)

Loaded = tuple[str, str | None, list[int], list[tuple[int, int, str]], list[str], dict[str, Any]]
OCR_NOTE = "text read by OCR from page images (pages {pages}); check quotes against the page"


# --- text formats -----------------------------------------------------------

def _load_txt(data: bytes) -> Loaded:
    text, notes = decode_text(data)
    return text, None, [], [], notes, {}


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _load_md(data: bytes) -> Loaded:
    text, notes = decode_text(data)
    headings = []
    in_fence = False
    offset = 0
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence:
            m = _ATX.match(line)
            if m:
                headings.append((offset, len(m.group(1)), m.group(2).strip()))
        offset += len(line) + 1
    title = next((h[2] for h in headings if h[1] == 1), None) or (headings[0][2] if headings else None)
    return text, title, [], headings, notes, {}


# --- HTML -------------------------------------------------------------------

_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "td", "th",
          "pre", "blockquote", "dd", "dt", "dl", "figcaption", "figure", "br", "hr", "address",
          "h1", "h2", "h3", "h4", "h5", "h6", "caption", "summary", "details", "body"}
_DROP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside",
         "form", "iframe", "object", "embed", "button", "select", "head", "canvas"}


def _load_html(data: bytes) -> Loaded:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import CData, PreformattedString

    raw, notes = decode_text(data)
    soup = BeautifulSoup(raw, "html.parser")
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
    return "\n\n".join(text_parts), title, [], headings, notes, {}


# --- PDF --------------------------------------------------------------------

def _load_pdf(data: bytes) -> Loaded:
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = bool(reader.decrypt(""))  # owner-only protection opens with ""
            except DependencyError:
                raise
            except Exception:
                ok = False
            if not ok:
                raise IngestError("", "encrypted PDF: a password is needed; save an unprotected copy")
        extracted = [pdfheadings.font_runs(page) for page in reader.pages]
        pages = [text for text, _ in extracted]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except IngestError:
        raise
    except DependencyError:
        raise IngestError("", "encrypted PDF that needs the `cryptography` package to open "
                              "(pip install cryptography)") from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise IngestError("", f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # pypdf raises a wide variety on malformed files
        raise IngestError("", f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    notes: list[str] = []
    extra: dict[str, Any] = {}
    blank = [i for i, p in enumerate(pages) if not p.strip()]
    if blank:  # scanned pages: no text layer, so read the page image
        from . import ocr

        for i, text in ocr.pdf_pages(data, blank).items():
            pages[i] = text
        done = [i + 1 for i in blank if pages[i].strip()]
        if done:
            notes.append(OCR_NOTE.format(pages=", ".join(map(str, done))))
            extra["ocr-pages"] = done
    if not any(p.strip() for p in pages):
        raise IngestError("", "no text found, not even by OCR (a blank or image-only PDF?)")
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        page = page.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    # The outline (bookmarks) when the PDF has one, else lines set larger than the body text.
    headings = pdfheadings.from_outline(reader, parts, starts) or pdfheadings.from_font_sizes(
        parts, [runs for _, runs in extracted], starts)
    return ("\n\n".join(parts), (str(meta_title).strip() or None) if meta_title else None,
            starts, headings, notes, extra)


# --- images -------------------------------------------------------------------

def _load_image(data: bytes) -> Loaded:
    """A PNG/JPEG file is one page of OCR text."""
    from . import ocr

    text = ocr.image_text(data)
    if not text:
        raise IngestError("", "no text found in the image by OCR")
    return text, None, [0], [], [OCR_NOTE.format(pages="1")], {"ocr-pages": [1]}


# --- DOCX -------------------------------------------------------------------

def _load_docx(data: bytes) -> Loaded:
    import io
    import zipfile

    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # python-docx/lxml raise several types on bad packages
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    offset = 0
    title = (document.core_properties.title or "").strip() or None

    def add(text: str, level: int | None = None) -> None:
        nonlocal offset
        text = text.strip()
        if not text:
            return
        if level is not None:
            headings.append((offset, level, text))
        parts.append(text)
        offset += len(text) + 2

    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(block, document)
            style = (para.style.name if para.style is not None else "") or ""
            m = re.match(r"Heading (\d)", style)
            # The Title style sits above Heading 1, so it stays at the root of heading paths.
            level = int(m.group(1)) if m else (0 if style == "Title" else None)
            if style == "Title" and not title:
                title = para.text.strip()
            add(para.text, level)
        elif tag == "tbl":
            for row in Table(block, document).rows:
                # A merged cell is the same object repeated; equal values in
                # different cells are real data and are kept.
                cells = {id(c): c.text.strip() for c in row.cells}.values()
                add(" | ".join(c for c in cells if c))
    if not title:
        title = next((h[2] for h in headings), None)
    return "\n\n".join(parts), title, [], headings, [], {}


LOADERS: dict[str, Callable[[bytes], Loaded]] = {
    "txt": _load_txt, "md": _load_md, "html": _load_html, "pdf": _load_pdf, "docx": _load_docx,
    "image": _load_image,
}
