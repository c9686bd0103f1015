"""The hostile-file makers (tests/hostile.py) write what they say: small files, huge insides.

Dimensions are read from headers without decoding (PNG IHDR, PDF MediaBox, zip
directory), so these tests stay fast; only small instances are opened for real.
"""

from __future__ import annotations

import struct
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from hostile import (
    blank_pages_pdf,
    bomb_png,
    deep_html,
    giant_page_pdf,
    inflating_docx,
    many_nodes_html,
    scan_pdf,
)


def png_size(path: Path) -> tuple[int, int, int, int]:
    """Width, height, bit depth and colour type from the IHDR chunk."""
    head = path.read_bytes()[:33]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, colour


def test_giant_page_pdf_is_tiny_with_one_huge_blank_page(tmp_path: Path) -> None:
    from pypdf import PdfReader

    path = giant_page_pdf(tmp_path / "giant.pdf", points=5000)
    assert path.stat().st_size < 1000
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (5000, 5000)
    assert reader.pages[0].extract_text() == ""


def test_blank_pages_pdf_has_n_blank_letter_pages(tmp_path: Path) -> None:
    from pypdf import PdfReader

    path = blank_pages_pdf(tmp_path / "blank.pdf", pages=50)
    assert path.stat().st_size < 20_000
    reader = PdfReader(path)
    assert len(reader.pages) == 50
    assert {(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages} == {(612, 792)}
    assert all(p.extract_text() == "" for p in reader.pages)


def test_full_size_bomb_png_is_under_1_mb(tmp_path: Path) -> None:
    path = bomb_png(tmp_path / "bomb.png", side=20000)
    assert png_size(path) == (20000, 20000, 8, 0)
    assert path.stat().st_size < 2**20


def test_small_bomb_png_decodes_to_one_colour(tmp_path: Path) -> None:
    from PIL import Image

    path = bomb_png(tmp_path / "small.png", side=300, grey=200)
    with Image.open(path) as image:
        image.load()
        assert image.size == (300, 300) and image.mode == "L"
        assert image.getextrema() == (200, 200)


def test_inflating_docx_is_small_on_disk_and_inflates_to_its_size(tmp_path: Path) -> None:
    path = inflating_docx(tmp_path / "big.docx", xml_mb=30)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("word/document.xml")
        assert z.testzip() is None  # every CRC right
    assert 30 * 2**20 - 200 <= info.file_size <= 30 * 2**20
    assert path.stat().st_size < 300_000


def test_small_inflating_docx_opens_in_python_docx(tmp_path: Path) -> None:
    import docx

    path = inflating_docx(tmp_path / "small.docx", xml_mb=1)
    with zipfile.ZipFile(path) as z:
        assert 2**20 - 200 <= z.getinfo("word/document.xml").file_size <= 2**20
    paragraphs = docx.Document(str(path)).paragraphs
    assert len(paragraphs) > 5000
    assert paragraphs[0].text.startswith("The same sentence is repeated")


class _Depth(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = self.deepest = self.elements = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.depth += 1
        self.elements += 1
        self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(path: Path) -> _Depth:
    parser = _Depth()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def test_deep_html_nests_divs_depth_deep_with_text_at_the_bottom(tmp_path: Path) -> None:
    page = parsed(deep_html(tmp_path / "deep.html", depth=3000))
    # html > body > 3000 divs > p (the doctype is no tag)
    assert page.deepest == 3000 + 3 and page.depth == 0
    assert "The deepest paragraph of the page." in page.text
    full = deep_html(tmp_path / "deep-full.html", depth=1_000_000)
    assert full.read_bytes().count(b"<div>") == 1_000_000


def test_many_nodes_html_is_flat(tmp_path: Path) -> None:
    page = parsed(many_nodes_html(tmp_path / "many.html", nodes=5000))
    assert page.deepest == 4  # html > body > p > b
    assert page.elements == 5000 + 5  # html, head, title, body, p
    full = many_nodes_html(tmp_path / "many-full.html", nodes=2_000_000)
    assert full.read_bytes().count(b"<b>x</b>") == 2_000_000


def test_scan_pdf_is_one_image_page_without_text_layer(tmp_path: Path) -> None:
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    path = scan_pdf(tmp_path / "scan.pdf", "The lamp at Orford Ness was replaced in March 1998.")
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (612, 792)
    assert page.extract_text().strip() == ""
    assert len(page.images) == 1
    rendered = pdfium.PdfDocument(str(path))[0].render(scale=1).to_pil().convert("L")
    assert rendered.getextrema()[0] < 80  # dark ink of the text is on the page
