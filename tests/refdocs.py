"""A small folder of documents that carry bibliographic metadata, made by script.

An HTML article with Highwire `citation_*` tags, a Markdown file with YAML front
matter, a PDF with document info and XMP, and a scanned (image-only) PDF whose
text exists only as pixels. Used by tests/test_references.py, the browser tests
and scripts/screenshot_page.py.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

HTML = """<!doctype html>
<html><head><title>Alpine Journal | Glacier retreat</title>
<meta name="citation_title" content="Glacier retreat in the Bernese Alps">
<meta name="citation_author" content="Moreau, Claire">
<meta name="citation_author" content="Keller, Jonas">
<meta name="citation_publication_date" content="2021/03/15">
<meta name="citation_journal_title" content="Journal of Alpine Studies">
<meta name="citation_doi" content="10.5555/alps.2021.42">
<link rel="canonical" href="https://example.org/alps/glacier-retreat">
</head><body><nav>Home | Archive</nav>
<h1>Glacier retreat in the Bernese Alps</h1>
<p>Glaciers in the Bernese Alps have retreated for more than a century.</p>
<p>The Aletsch glacier lost 31 metres of ice thickness between 1980 and 2020.</p>
</body></html>
"""

MARKDOWN = """---
title: "Tides of the North Sea"
author: [Ann Lindsay, "Okafor, Bola"]
date: 2019-05-02
publisher: Marine Press
url: https://example.org/tides
---
# Tides

Tides in the southern North Sea are semi-diurnal.

The tidal range at Harwich averages 3.6 metres at spring tides.
"""

PDF_PAGES = [
    "Harbour Freight Survey. This survey covers the ports of the east coast of England.",
    "Container traffic at Felixstowe rose to 4.1 million units in 2021, a record year.",
]

SCAN_LINES = [
    "Minutes of the Lighthouse Board",
    "The lamp at Orford Ness was replaced in March 1998.",
    "The new lamp is visible for 15 nautical miles.",
]

XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:publisher><rdf:Bag><rdf:li>East Coast Port Authority</rdf:li></rdf:Bag></dc:publisher>
</rdf:Description></rdf:RDF></x:xmpmeta>"""

DATE = dt.datetime(2022, 7, 1, tzinfo=dt.timezone.utc)


def survey_pdf() -> bytes:
    """Two text pages; title, author and date in the info dictionary, publisher in XMP."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Harbour Freight Survey 2022")
    pdf.set_author("Priya Natarajan")
    pdf.set_creation_date(DATE)
    pdf.set_xmp_metadata(XMP)
    pdf.set_font("helvetica", size=12)
    for text in PDF_PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def scanned_pdf() -> bytes:
    """One page that is a picture of text (rendered from a text PDF): no text layer at all."""
    import pypdfium2 as pdfium
    from fpdf import FPDF

    src = FPDF()
    src.set_font("helvetica", size=14)
    src.add_page()
    for line in SCAN_LINES:
        src.cell(0, 12, line, new_x="LMARGIN", new_y="NEXT")
    page = pdfium.PdfDocument(bytes(src.output()))[0]
    image = page.render(scale=150 / 72).to_pil().convert("L")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    scan = FPDF()
    scan.set_title("Lighthouse Board minutes")
    scan.set_author("Lighthouse Board")
    scan.set_creation_date(dt.datetime(1998, 4, 2, tzinfo=dt.timezone.utc))
    scan.add_page()
    scan.image(io.BytesIO(buf.getvalue()), x=0, y=0, w=210)
    return bytes(scan.output())


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "glacier.html").write_text(HTML, encoding="utf-8")
    (folder / "tides.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "survey.pdf").write_bytes(survey_pdf())
    (folder / "scan.pdf").write_bytes(scanned_pdf())
    return folder
