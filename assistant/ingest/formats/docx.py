"""DOCX: paragraphs and table rows in document order; Word's Heading styles are headings."""

from __future__ import annotations

import io
import re
import zipfile

from ...errors import IngestError
from ..base import Parsed


def load_docx(data: bytes) -> Parsed:
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
    return Parsed("\n\n".join(parts), title, headings=tuple(headings))
