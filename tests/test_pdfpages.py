"""PDF structure and pages: outline and font-size headings, the cited page image, OCR of images."""

from __future__ import annotations

import io
from pathlib import Path

import refdocs
from conftest import DOCS_SRC

from assistant.cite.records import Source
from assistant.ingest import load_document
from assistant.web.pageview import page_parts, pages_html, render_page


def source(d: dict) -> Source:
    """A citation record as the chat keeps it, from its quote's offsets."""
    return Source.from_dict({"n": 1, **d})


def test_outline_gives_the_heading_path(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)  # one size only: the outline is the only structure
    pdf.add_page()
    pdf.start_section("Harbours")
    pdf.multi_cell(0, 6, "Harbours\nThe east coast has many harbours.", new_x="LMARGIN", new_y="NEXT")
    pdf.start_section("Felixstowe", level=1)
    pdf.multi_cell(0, 6, "Felixstowe\nFelixstowe is the busiest container port.",
                   new_x="LMARGIN", new_y="NEXT")
    (tmp_path / "ports.pdf").write_bytes(bytes(pdf.output()))
    doc = load_document(tmp_path / "ports.pdf", tmp_path)
    assert [(lvl, t) for _, lvl, t in doc.headings] == [(1, "Harbours"), (2, "Felixstowe")]
    for offset, _, title in doc.headings:
        assert doc.text[offset:].startswith(title)

    from assistant.text.locate import heading_path

    at = doc.text.index("Felixstowe is the busiest")
    assert heading_path(doc, at) == ("Harbours", "Felixstowe")


def test_font_sizes_give_headings_when_there_is_no_outline() -> None:
    doc = load_document(DOCS_SRC / "black-death.pdf", DOCS_SRC)
    titles = [(lvl, t) for _, lvl, t in doc.headings]
    assert titles[:3] == [(1, "Black Death"), (2, "Medical knowledge at the time"),
                          (2, "Genetic evidence")]
    for offset, _, title in doc.headings:
        assert doc.text[offset:].startswith(title)


def test_cited_page_image_highlights_the_quote_on_each_page(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    docs = refdocs.write(tmp_path / "docs")
    doc = load_document(docs / "survey.pdf", docs)
    quote = "survey covers the ports of the east coast of England.\n\nContainer traffic at"
    start = doc.text.index(quote)
    parts = page_parts(doc, start, start + len(quote))
    assert [p for p, _ in parts] == [0, 1]  # across two pages: both are shown
    png, marked = render_page(Path(doc.path), 1, parts[1][1])
    assert marked == len("Containertrafficat")
    px = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert ((px[..., 0] > 230) & (px[..., 1] > 200) & (px[..., 2] < 180)).sum() > 100
    html = pages_html(doc, source({"start": start, "end": start + len(quote), "quote": quote}))
    assert html.count("<figure") == 2 and "data-page='2'" in html
    # A quote that no longer matches the text (the file changed): no page image.
    assert pages_html(doc, source({"start": start, "end": start + 5, "quote": "other"})) == ""


def test_every_span_of_a_two_span_quote_is_highlighted(tmp_path: Path) -> None:
    docs = refdocs.write(tmp_path / "docs")
    doc = load_document(docs / "survey.pdf", docs)

    def span(quote: str) -> dict[str, object]:
        at = doc.text.index(quote)
        return {"quote": quote, "start": at, "end": at + len(quote)}

    first, second, third = span("Harbour Freight"), span("east coast"), span("Felixstowe")
    same_page = pages_html(doc, source({**first, "spans": [first, second]}))
    assert same_page.count("<figure") == 1  # one image of page 1 with both spans marked
    assert f"data-marked='{len('HarbourFreight') + len('eastcoast')}'" in same_page
    two_pages = pages_html(doc, source({**first, "spans": [first, third]}))
    assert two_pages.count("<figure") == 2 and "data-page='2'" in two_pages
    # One span that no longer matches the text: no page image at all.
    assert pages_html(doc, source({**first, "spans": [first, {**third, "quote": "Felixstown"}]})) == ""


def test_scanned_page_is_shown_without_highlight_and_said_so(tmp_path: Path) -> None:
    docs = refdocs.write(tmp_path / "docs")
    doc = load_document(docs / "scan.pdf", docs)
    assert doc.ocr_pages == (1,) and "ocr-pages" not in doc.meta
    quote = "Orford Ness"
    start = doc.text.index(quote)
    html = pages_html(doc, source({"start": start, "end": start + len(quote), "quote": quote}))
    assert "read by OCR" in html and "data-marked='0'" in html


def test_an_image_file_is_a_one_page_document_read_by_ocr(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    png = tmp_path / "docs" / "notice.png"
    png.parent.mkdir()
    page = pdfium.PdfDocument(refdocs.scanned_pdf())[0]
    page.render(scale=1.5).to_pil().save(png)
    doc = load_document(png, png.parent)
    assert doc.format == "image" and doc.page_starts == (0,)
    assert "Orford Ness" in doc.text and "1998" in doc.text
    assert doc.ocr_pages == (1,) and "ocr-pages" not in doc.meta and any("OCR" in n for n in doc.notes)
