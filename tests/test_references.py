"""References in the reader's style, end to end: real files, the real model, the CLI.

A folder with an HTML article (citation_* tags), a Markdown file with front
matter, a PDF with metadata and a scanned PDF (read by OCR): every citation of
an answer about each has the right title, author, year, container and locator
in --json (csl), in --style apa and in --style bibtex.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import refdocs

from assistant.cite.references import export, formatted
from assistant.cli import main
from assistant.ingest.metadata import date_parts, front_matter, html_meta, people

# question, file, title, family name of the first author, year, container, (locator, label)
CASES = [
    ("How much ice thickness did the Aletsch glacier lose?", "glacier.html",
     "Glacier retreat in the Bernese Alps", "Moreau", 2021, "Journal of Alpine Studies",
     ("3", "paragraph")),
    ("What is the tidal range at Harwich?", "tides.md", "Tides of the North Sea", "Lindsay",
     2019, "Marine Press", ("12", "line")),
    ("How much container traffic did Felixstowe handle in 2021?", "survey.pdf",
     "Harbour Freight Survey 2022", "Natarajan", 2022, "East Coast Port Authority",
     ("2", "page")),
    ("When was the lamp at Orford Ness replaced?", "scan.pdf", "Lighthouse Board minutes",
     "Board", 1998, None, ("1", "page")),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("refs")
    docs = refdocs.write(root / "docs")
    assert main(["index", "--docs", str(docs), "--index", str(root / "index")]) == 0
    return docs, root / "index"


def ask(capsys: pytest.CaptureFixture[str], index: Path, question: str, *flags: str) -> str:
    capsys.readouterr()
    assert main(["ask", question, "-k", "3", "--index", str(index), *flags]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_every_citation_carries_its_reference(index, capsys, case) -> None:
    question, file, title, family, year, container, (loc, label) = case
    out = json.loads(ask(capsys, index[1], question, "--json"))
    first = out["citations"][0]
    assert first["source"].endswith(file), out
    csl = first["csl"]
    assert csl["title"] == title
    assert csl["author"][0]["family"] == family
    assert csl["issued"]["date-parts"][0][0] == year
    assert (csl.get("container-title") or csl.get("publisher")) == container
    assert (csl["locator"], csl["label"]) == (loc, label)
    assert ("note" in csl) == (file == "scan.pdf")  # the OCR note, only on the scanned page

    apa = ask(capsys, index[1], question, "--style", "apa")
    text, refs = apa.split("\nReferences\n")
    marker = {"page": "p. ", "paragraph": "para. ", "line": ""}[label]
    assert f"{family}" in text and f"{year}, {marker}{loc})" in text, apa
    assert refs.strip().startswith(f"{family}, ")
    assert title in refs and f"({year}" in refs
    if container:
        assert container in refs

    bib = ask(capsys, index[1], question, "--style", "bibtex")
    assert f"title = {{{title}}}" in bib
    assert f"author = {{{family}, " in bib
    assert f"year = {{{year}}}" in bib
    if label == "page":
        assert f"pages = {{{loc}}}" in bib
    else:
        assert f"note = {{{label} {loc}}}" in bib
    # What reference managers import: parsed by real BibTeX and RIS readers.
    import bibtexparser
    import rispy

    library = bibtexparser.parse_string(bib[bib.index("@"):])
    assert not library.failed_blocks and len(library.entries) == 1, bib
    fields = {k: f.value for k, f in library.entries[0].fields_dict.items()}
    assert fields["title"] == title and fields["year"] == str(year)
    ris = ask(capsys, index[1], question, "--style", "ris")
    (entry,) = rispy.loads(ris[ris.index("TY  -"):])
    assert entry["title"] == title and entry["authors"][0].startswith(family)
    if label == "page":
        assert entry["start_page"] == loc


def test_scanned_pdf_is_answered_from_its_page(index, capsys) -> None:
    out = json.loads(ask(capsys, index[1], "When was the lamp at Orford Ness replaced?", "--json"))
    assert "March 1998" in out["answer"]
    assert out["citations"][0]["page_start"] == 1


def test_corrections_in_references_json_win_and_survive_reindexing(index, capsys, tmp_path) -> None:
    docs, idx = index
    work = tmp_path / "docs"
    shutil.copytree(docs, work)
    (work / "references.json").write_text(json.dumps({"tides.md": {
        "title": "Tides of the southern North Sea", "issued": {"date-parts": [[2020]]}}}))
    assert main(["index", "--docs", str(work), "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert "references.json" not in out  # not a document, and not reported as skipped
    csl = json.loads(ask(capsys, tmp_path / "index", CASES[1][0], "--json"))["citations"][0]["csl"]
    assert csl["title"] == "Tides of the southern North Sea"
    assert csl["issued"] == {"date-parts": [[2020]]}
    assert csl["author"][0]["family"] == "Lindsay"  # what was not corrected is kept


def test_ris_and_csl_json_exports_keep_locators() -> None:
    items = [{"id": "a", "type": "report", "title": "T", "author": [{"family": "F", "given": "G"}],
              "issued": {"date-parts": [[2020, 1, 2]]}, "locator": "3-4", "label": "page"},
             {"id": "a", "type": "report", "title": "T", "locator": "7", "label": "page"}]
    ris = export(items, "ris")
    assert ris.count("TY  - RPRT") == 1 and "SP  - 3" in ris and "EP  - 4" in ris
    assert ris.rstrip().endswith("ER  -")
    data = json.loads(export(items, "csl-json"))
    assert data[0]["locator"] == "3-4, 7"


def test_harvard_and_chicago_render_with_citeproc() -> None:
    item = {"id": "x", "type": "article-journal", "title": "On Tides",
            "author": [{"family": "Lindsay", "given": "Ann"}], "issued": {"date-parts": [[2019]]},
            "container-title": "Sea Journal", "locator": "3", "label": "page"}
    cites, refs = formatted([item], "harvard")
    assert cites == ["(Lindsay, 2019, p. 3)"]
    assert refs[0].startswith("Lindsay, A. (2019)")
    cites, refs = formatted([item], "chicago")
    assert cites == ["(Lindsay 2019, 3)"]
    assert "Sea Journal" in refs[0]


def test_metadata_readers() -> None:
    assert people("Okafor, Bola; Ann Lindsay") == [
        {"family": "Okafor", "given": "Bola"}, {"family": "Lindsay", "given": "Ann"}]
    assert people("Wikipedia contributors") == [{"literal": "Wikipedia contributors"}]
    assert date_parts("D:20190502120000Z") == {"date-parts": [[2019, 5, 2]]}
    assert date_parts("2019-13-40") == {"date-parts": [[2019]]}
    meta, end = front_matter(refdocs.MARKDOWN)
    assert refdocs.MARKDOWN[end:].startswith("# Tides")
    assert meta["publisher"] == "Marine Press" and meta["URL"] == "https://example.org/tides"
    assert front_matter("---\nnot: [closed\n---\ntext") == ({}, 0)  # bad YAML: no metadata
    html = (b'<html><head><meta property="og:title" content="OG title">'
            b'<meta property="og:site_name" content="The Daily">'
            b'<meta property="article:published_time" content="2023-09-01T10:00:00Z">'
            b'<script type="application/ld+json">{"@type": "NewsArticle", "author": '
            b'{"@type": "Person", "name": "Rita Ora"}}</script></head><body>x</body></html>')
    m = html_meta(html)
    assert m["title"] == "OG title" and m["container-title"] == "The Daily"
    assert m["issued"] == {"date-parts": [[2023, 9, 1]]}
    assert m["author"] == [{"family": "Ora", "given": "Rita"}]
    assert m["type"] == "article-newspaper"


def test_front_matter_is_never_quoted(index) -> None:
    from assistant.ingest import load_document

    docs = index[0]
    doc = load_document(docs / "tides.md", docs)
    assert doc.title == "Tides of the North Sea"
    end = front_matter(doc.text)[1]
    assert doc.skip_spans[0] == (0, end)
    assert doc.text == (docs / "tides.md").read_text(encoding="utf-8")  # offsets into the file


def test_word_export_opens_in_libreoffice(index, capsys, tmp_path) -> None:
    """The .docx export converts to PDF with LibreOffice, and the PDF holds the references."""
    from pypdf import PdfReader

    from assistant.cite.records import Turn, turn_record
    from assistant.cite.word import write_docx
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    assistant = Assistant(Settings.load(index_dir=index[1]))
    turns = []
    for case in CASES[:3]:
        answer = assistant.ask(case[0], k=3)
        record = turn_record(answer, assistant.answerer.cited_documents(answer))
        turns.append(Turn.from_dict(json.loads(json.dumps(record.to_dict()))))  # as a browser
    path = write_docx(turns, tmp_path / "talk.docx", style="apa")
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=180)
    text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "talk.pdf").pages)
    text = " ".join(text.split())
    assert "References" in text
    assert "Moreau, C., & Keller, J. (2021). Glacier retreat in the Bernese Alps." in text
    assert "(Natarajan, 2022, p. 2)" in text
    assert "Container traffic at Felixstowe rose to 4.1 million units" in text


def test_sources_panel_shows_metadata_and_copies_the_reference_escaped() -> None:
    from assistant.cite.records import Turn, refreshed
    from assistant.web.editor import from_form, to_form
    from assistant.web.view import sources_html

    csl = {"id": "d1", "type": "webpage", "title": "<script>x</script> Tides",
           "author": [{"family": "O'Hara", "given": "Kim"}], "issued": {"date-parts": [[2020, 4]]},
           "container-title": "Sea ${news}", "locator": "3", "label": "paragraph"}
    turn = Turn.from_dict({"question": "q", "text": "a [1]", "found": True, "export": "",
                           "citations": [
        {"n": 1, "doc_id": "d1", "title": "T", "source": "docs/t.html", "quote": "a",
         "start": 0, "end": 1, "locator": "", "score": 1.0, "verified": None, "plain": "p",
         "markdown": "m", "before": "", "after": "", "csl": csl}]})
    html = sources_html(turn, 0, "apa")
    assert "<script>" not in html and "${" not in html
    assert "O&#x27;Hara, Kim \u00b7 2020/04 \u00b7 Sea &#36;&#123;news&#125;" in html
    assert "data-copy='O&#x27;Hara, K. (2020, April)." in html
    assert "(O&#x27;Hara, 2020, para. 3)'" in html
    bib = sources_html(turn, 0, "bibtex")
    assert "@online&#123;" in bib
    # The editor's fields round-trip, and an edit reaches the conversation's references.
    form = to_form(csl)
    assert form[:3] == ["<script>x</script> Tides", "O'Hara, Kim", "2020-04"]
    fields = from_form(form)
    assert fields["issued"] == {"date-parts": [[2020, 4]]} and fields["author"] == csl["author"]
    with pytest.raises(Exception, match="YYYY"):
        from_form(["t", "", "April 2020", "", "", "", ""])
    new = refreshed([turn], {"d1": {"id": "d1", "title": "New"}})
    assert new[0].citations[0].csl == {"id": "d1", "title": "New", "locator": "3",
                                             "label": "paragraph"}
    assert turn.citations[0].csl is csl  # the old turn is not changed in place


def test_docx_core_properties(tmp_path) -> None:
    import datetime as dt

    import docx

    from assistant.ingest import load_document

    d = docx.Document()
    d.core_properties.title = "Museum annual review"
    d.core_properties.author = "Hartley, Joan; Amir Patel"
    d.core_properties.created = dt.datetime(2018, 11, 5)
    d.add_paragraph("The museum had 3.9 million visitors.")
    d.save(str(tmp_path / "review.docx"))
    meta = load_document(tmp_path / "review.docx", tmp_path).meta
    assert meta["title"] == "Museum annual review"
    assert meta["author"] == [{"family": "Hartley", "given": "Joan"},
                              {"family": "Patel", "given": "Amir"}]
    assert meta["issued"] == {"date-parts": [[2018, 11, 5]]}
