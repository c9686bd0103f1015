"""Makers of hostile files: small on disk, huge once a reader opens them.

Each function writes one file to `path` and returns the path. They write in
pieces, so making a file never holds what it expands to in memory: a 20,000 x
20,000 PNG is compressed row by row, a docx's XML and a deep HTML page are
streamed. Used by the tests (`from hostile import ...`, tests/ is on sys.path
under pytest) and by bench/hostile_index.py (which puts tests/ on sys.path).

Only the standard library and the project's own dependencies (pypdf, Pillow).
"""

from __future__ import annotations

import struct
import textwrap
import zipfile
import zlib
from pathlib import Path

LETTER = (612, 792)  # points


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from its numbered objects (1 is the catalog), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def giant_page_pdf(path: Path, points: int = 5000) -> Path:
    """One blank page of `points` x `points` pt and no text layer, in a few hundred bytes.

    A reader that renders it for OCR at 200 dpi makes a (points / 72 * 200)^2-pixel
    image: 5000 pt is 13,889 px square, 193 million pixels.
    """
    path = Path(path)
    path.write_bytes(_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << >> >>"
        % (points, points),
    ]))
    return path


def blank_pages_pdf(path: Path, pages: int = 50) -> Path:
    """`pages` blank letter pages (no text layer, nothing drawn): every one a candidate for OCR."""
    path = Path(path)
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages)]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << >> >>"
                % LETTER] * pages
    path.write_bytes(_pdf(objects))
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path: Path, side: int = 20000, grey: int = 255) -> Path:
    """A `side` x `side` 8-bit greyscale PNG of one colour: side^2 bytes decoded, ~side^2/1000 on disk.

    20,000 px square is 400 MB as greyscale (1.2 GB once converted to RGB) in
    about 420 KB: deflate gives at most ~1:1000. Rows are compressed one at a time, so
    making it needs one row of memory.
    """
    path = Path(path)
    row = b"\x00" + bytes([grey]) * side  # filter type 0 (None), then the pixels
    # Run-length matches only: as small as level 9 (about 1:1000) in a third of the time.
    comp = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    with path.open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        # width, height, bit depth 8, colour type 0 (greyscale), deflate, adaptive filters, no interlace
        f.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        pending = bytearray()
        for _ in range(side):
            pending += comp.compress(row)
            if len(pending) >= 1 << 16:
                f.write(_png_chunk(b"IDAT", bytes(pending)))
                pending.clear()
        pending += comp.flush()
        f.write(_png_chunk(b"IDAT", bytes(pending)))
        f.write(_png_chunk(b"IEND", b""))
    return path


_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>"""

_DOC_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
             "<w:body>")
_DOC_TAIL = "</w:body></w:document>"
_PARAGRAPH = ("<w:p><w:r><w:t>The same sentence is repeated here many times over to make the "
              "document large once it is inflated.</w:t></w:r></w:p>")


def inflating_docx(path: Path, xml_mb: float = 30) -> Path:
    """A valid .docx whose word/document.xml inflates to about `xml_mb` MB from a small zip.

    Identical paragraphs, ZIP_DEFLATED: 30 MB of XML is about 100 KB on disk.
    The XML is streamed into the zip in pieces of about 1 MB.
    """
    path = Path(path)
    target = int(xml_mb * 2**20)
    per_piece = max(1, 2**20 // len(_PARAGRAPH))
    piece = (_PARAGRAPH * per_piece).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        with z.open("word/document.xml", "w", force_zip64=target > 2**31 - 2**24) as f:
            f.write(_DOC_HEAD.encode())
            written = len(_DOC_HEAD)
            while written + len(piece) <= target:
                f.write(piece)
                written += len(piece)
            para = _PARAGRAPH.encode()
            while written + len(para) + len(_DOC_TAIL) <= target:
                f.write(para)
                written += len(para)
            f.write(_DOC_TAIL.encode())
    return path


def _repeat(f, unit: str, count: int) -> None:
    """Write `unit` `count` times, about 1 MB per write."""
    step = max(1, 2**20 // len(unit))
    while count > 0:
        f.write(unit * min(step, count))
        count -= step


def deep_html(path: Path, depth: int = 1_000_000) -> Path:
    """<div> nested `depth` deep with a sentence at the bottom: 11 MB for a million."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        f.write("<!doctype html><html><head><title>Deep</title></head><body>")
        _repeat(f, "<div>", depth)
        f.write("<p>The deepest paragraph of the page.</p>")
        _repeat(f, "</div>", depth)
        f.write("</body></html>\n")
    return path


def many_nodes_html(path: Path, nodes: int = 2_000_000) -> Path:
    """A flat page of `nodes` small elements (<b>x</b>), about 8 bytes each."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        f.write("<!doctype html><html><head><title>Many</title></head><body><p>")
        _repeat(f, "<b>x</b>", nodes)
        f.write("</p></body></html>\n")
    return path


def scan_pdf(path: Path, text: str, dpi: int = 150, font_px: int | None = None) -> Path:
    """A one-page letter PDF whose page is a picture of `text` (no text layer), as a scanner makes.

    Pillow draws the text in black on white at `dpi` (letters ~14 pt high) and
    saves the image as a PDF page (JPEG inside), the way an image-only scan looks.
    """
    from PIL import Image, ImageDraw, ImageFont

    path = Path(path)
    width, height = (round(v / 72 * dpi) for v in LETTER)
    size = font_px or round(dpi * 14 / 72)
    font = ImageFont.load_default(size=size)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    margin = dpi  # one inch
    chars = max(10, int((width - 2 * margin) / (0.55 * size)))
    y = margin
    for para in text.split("\n"):
        for line in textwrap.wrap(para, chars) or [""]:
            draw.text((margin, y), line, fill=0, font=font)
            y += round(size * 1.5)
    image.save(path, "PDF", resolution=dpi)
    return path
