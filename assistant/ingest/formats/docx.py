"""DOCX: paragraphs and table rows in document order; Word's Heading styles are headings.

The zip's directory is checked before anything is inflated: a file whose parts would
inflate past the budget (Limits.inflated_bytes) is refused unread.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from ...config import variable
from ...errors import IngestError
from ...types import Block
from ..base import DEFAULT_LIMITS, Limits, Parsed
from ..metadata import docx_meta_of

# Word's XML compresses 5 to 20 times; a part inflating over 100 times its stored size is
# made to (the same few bytes repeated: a zip bomb), so it is refused from the directory.
MAX_RATIO = 100
RATIO_FROM = 2**20  # parts smaller than this inflate as they like


def check_inflated(data: bytes, limits: Limits) -> None:
    """IngestError when the zip's members would inflate past `limits.inflated_bytes`, or one
    inflates over MAX_RATIO times (read from its central directory, which costs nothing);
    a broken zip is left to the reader."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    total = sum(info.file_size for info in infos)
    if total > limits.inflated_bytes:
        raise IngestError("", f"inflates to {total / 2**20:,.0f} MB; the limit is "
                              f"{limits.inflated_bytes / 2**20:,.0f} MB "
                              f"({variable('max_inflated_mb')}); not read")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FROM and ratio > MAX_RATIO:
            raise IngestError("", f"a zip bomb: {info.filename} inflates {ratio:,.0f} times "
                                  f"({info.compress_size / 1024:,.0f} KB to "
                                  f"{info.file_size / 2**20:,.0f} MB; Word's XML compresses "
                                  f"at most ~20 times); not read")


def load_docx(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    check_inflated(data, limits)
    try:
        import docx
        from docx.enum.style import WD_STYLE_TYPE
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # python-docx/lxml raise several types on bad packages
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    blocks: list[Block] = []
    offset = 0
    title = (document.core_properties.title or "").strip() or None

    def add(text: str, level: int | None = None) -> tuple[int, int] | None:
        """Append a paragraph; its span, or None when it is empty."""
        nonlocal offset
        text = text.strip()
        if not text:
            return None
        if level is not None:
            headings.append((offset, level, text))
        parts.append(text)
        offset += len(text) + 2
        return offset - len(text) - 2, offset - 2

    names: dict[str | None, str] = {}

    def style_name(style_id: str | None) -> str:
        """The paragraph style's name, looked up once per style id: python-docx's
        `Paragraph.style` searches the styles part anew for every paragraph (80% of the
        time on a long document)."""
        if style_id not in names:
            found = document.part.get_style(style_id, WD_STYLE_TYPE.PARAGRAPH)
            names[style_id] = (found.name if found is not None else "") or ""
        return names[style_id]

    code: list[str] = []  # consecutive code paragraphs: one block, a line each

    def end_code() -> None:
        if code and (at := add("\n".join(code))) is not None:
            blocks.append(Block("code", *at))
        code.clear()

    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(block, document)
            style = style_name(block.style)
            if _is_code(style, block) and para.text.strip():
                code.append(para.text.rstrip())
                continue
            end_code()
            m = re.match(r"Heading (\d)", style)
            # The Title style sits above Heading 1, so it stays at the root of heading paths.
            level = int(m.group(1)) if m else (0 if style == "Title" else None)
            if style == "Title" and not title:
                title = para.text.strip()
            at = add(para.text, level)
            kind = _kind(style, block)
            if at is not None and kind is not None and level is None:
                blocks.append(Block(kind, *at))
        elif tag == "tbl":
            end_code()
            header: tuple[int, int] | None = None
            for i, row in enumerate(Table(block, document).rows):
                # A merged cell is the same object repeated; equal values in
                # different cells are real data and are kept.
                cells = {id(c): c.text.strip() for c in row.cells}.values()
                at = add(" | ".join(c for c in cells if c))
                if at is None:
                    continue
                if i == 0 and _header_row(block, row._tr):
                    header = at
                    blocks.append(Block("header", *at))
                else:
                    blocks.append(Block("row", *at, header))
    end_code()
    if not title:
        title = next((h[2] for h in headings), None)
    return Parsed("\n\n".join(parts), title, headings=tuple(headings),
                  meta=docx_meta_of(document.core_properties), blocks=tuple(blocks))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CODE_STYLE = re.compile(r"code|source|preformatted|macro|plain text|verbatim|console|listing",
                         re.IGNORECASE)
_MONO = re.compile(r"mono|courier|consolas|menlo|typewriter|inconsolata|fixed", re.IGNORECASE)
_NOTE_STYLE = re.compile(r"^(note|tip|warning|caution|important)\b", re.IGNORECASE)


def _is_code(style: str, p: Any) -> bool:
    """A paragraph in a code style, or set wholly in a monospace font."""
    if _CODE_STYLE.search(style):
        return True
    fonts = [r.find(f"{_W}rPr/{_W}rFonts") for r in p.iter(f"{_W}r") if (r.findtext(f"{_W}t") or "").strip()]
    return bool(fonts) and all(f is not None and _MONO.search(f.get(f"{_W}ascii") or "")
                               for f in fonts)


def _kind(style: str, p: Any) -> str | None:
    """"item" for a list paragraph (numbered, or a List style), "note" for a note style."""
    if _NOTE_STYLE.search(style):
        return "note"
    if style.startswith("List") or p.find(f"{_W}pPr/{_W}numPr") is not None:
        return "item"
    return None


def _header_row(tbl: Any, tr: Any) -> bool:
    """The first row is a header when it repeats as one, or the table's look formats it as one
    (w:tblLook firstRow, Word's default for a table with a header row)."""
    if tr.find(f"{_W}trPr/{_W}tblHeader") is not None:
        return True
    look = tbl.find(f"{_W}tblPr/{_W}tblLook")
    if look is None:
        return False
    first = look.get(f"{_W}firstRow")
    if first is not None:
        return first in ("1", "true", "on")
    try:
        return bool(int(look.get(f"{_W}val") or "0", 16) & 0x0020)
    except ValueError:
        return False
