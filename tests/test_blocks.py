"""Layout kept as data (issue 21): each loader's blocks (definitions, code, table rows with
their header row, list items, notes) as exact offsets into Document.text, page chrome kept out
of the text, and the blocks kept through the index. Real files, written under tmp_path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import make_assistant

from assistant.answer.units import titles
from assistant.errors import IndexMismatchError
from assistant.ingest import load_document
from assistant.store.manifest import FORMAT_VERSION
from assistant.text.sentences import body_sentences
from assistant.types import Document


def load(path: Path) -> Document:
    return load_document(path, path.parent)


def texts(doc: Document, kind: str) -> list[str]:
    return [doc.text[b.start:b.end] for b in doc.blocks if b.kind == kind]


def heads(doc: Document, kind: str) -> list[str | None]:
    return [doc.text[b.head[0]:b.head[1]] if b.head else None
            for b in doc.blocks if b.kind == kind]


# --- HTML ----------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head><title>pg_ctl</title></head><body>
<div class="navheader"><table summary="Navigation header"><tr><td><a href="a.html">Prev</a></td>
<td><a href="b.html">Next</a></td></tr></table></div>
<div class="header"><p>Next: <a href="#x">Options</a>, Previous: <a href="#y">Intro</a></p></div>
<div class="toc"><dl class="toc"><dt><a href="#o">1. Options</a></dt></dl></div>
<h1>pg_ctl<a class="headerlink" href="#pg">\u00b6</a></h1>
<p>Start the server with:</p>
<pre class="screen">$ pg_ctl start -D /var/lib/pgsql
$ pg_ctl   status</pre>
<dl class="variablelist">
<dt><span class="term">-m mode</span></dt>
<dt><span class="term">--mode=mode</span></dt>
<dd><p>Specifies the shutdown mode.</p><p>If this option is omitted, fast is the default.</p></dd>
<dt class="sig sig-object py"><span class="sig-name">run</span>(<em>args</em>, <em>check=False</em>)<a class="headerlink" href="#run">\u00b6</a></dt>
<dd><p>Run the command described by args.</p></dd>
</dl>
<table class="table"><caption>Common signals</caption><thead><tr><th>signal</th><th>name</th><th>meaning</th></tr></thead>
<tbody><tr><td>1</td><td>SIGHUP</td><td>hang up. Terminal closed.</td></tr>
<tr><td>9</td><td></td><td>kill</td></tr></tbody></table>
<div class="note"><table summary="Note"><tr><td><img alt="[Note]"></td><th>Note</th></tr>
<tr><td></td><td><p>Only the superuser may send SIGKILL.</p></td></tr></table></div>
<ul><li>first item</li><li><p>second item</p><pre>make install</pre></li></ul>
<div class="navfooter"><p>Prev Up Home Next</p></div>
<div id="footer"><div id="footer-text">Last updated 2024-05-31</div></div>
</body></html>
"""


@pytest.fixture
def page(tmp_path: Path) -> Document:
    (tmp_path / "pg_ctl.html").write_text(PAGE, encoding="utf-8")
    return load(tmp_path / "pg_ctl.html")


def test_html_blocks_are_exact_spans_of_the_text(page: Document) -> None:
    doc = page
    for b in doc.blocks:
        assert 0 <= b.start < b.end <= len(doc.text)
        if b.head:
            assert 0 <= b.head[0] < b.head[1] <= len(doc.text)
    assert [b.start for b in doc.blocks] == sorted(b.start for b in doc.blocks)


def test_html_definition_lists_keep_term_and_description(page: Document) -> None:
    doc = page
    assert texts(doc, "definition") == [
        "-m mode\n\n--mode=mode\n\nSpecifies the shutdown mode.\n\n"
        "If this option is omitted, fast is the default.",
        "run(args, check=False)\n\nRun the command described by args."]
    # several terms of one description are one head; a Sphinx signature loses its ¶ link
    assert heads(doc, "definition") == ["-m mode\n\n--mode=mode", "run(args, check=False)"]


def test_html_pre_keeps_its_line_breaks(page: Document) -> None:
    assert texts(page, "code") == ["$ pg_ctl start -D /var/lib/pgsql\n$ pg_ctl   status",
                                   "make install"]


def test_html_table_rows_are_lines_with_their_header_row(page: Document) -> None:
    doc = page
    assert texts(doc, "header") == ["signal | name | meaning"]
    assert texts(doc, "row") == ["1 | SIGHUP | hang up. Terminal closed.", "9 | kill"]
    assert heads(doc, "row") == ["signal | name | meaning"] * 2
    # a row is one quotable sentence, whatever stops its cells hold
    got = [doc.text[a:b] for a, b in body_sentences(doc, 0, len(doc.text))]
    assert "1 | SIGHUP | hang up. Terminal closed." in got
    # the caption and the header row title the rows: quoted with a row, never alone
    assert texts(doc, "caption") == ["Common signals"]
    assert titles(doc, doc.text.index("Common signals"))
    assert titles(doc, doc.text.index("signal | name")) and not titles(doc, doc.text.index("1 |"))
    assert "$ pg_ctl start -D /var/lib/pgsql" in got  # each command line is one


def test_html_notes_items_and_layout_tables(page: Document) -> None:
    doc = page
    # DocBook draws a note with a table: layout, not a data table
    assert texts(doc, "note") == ["Note\n\nOnly the superuser may send SIGKILL."]
    assert texts(doc, "item") == ["first item", "second item\n\nmake install"]


def test_html_page_chrome_stays_out_of_the_text(page: Document) -> None:
    text = page.text
    for chrome in ("Prev", "Next:", "Previous:", "1. Options", "\u00b6", "Last updated",
                   "Home"):
        assert chrome not in text, chrome
    assert text.startswith("pg_ctl\n\nStart the server with:")


# --- Markdown --------------------------------------------------------------------------

MD = """# Guide

Install it with:

```sh
make install
make check
```

| option | default |
|--------|---------|
| `port` | 5432 |
| `host` | localhost |

- one item
  that goes on
- two

> **Note** back up first.

    indented code

Term
: its definition
"""


def test_markdown_blocks(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text(MD, encoding="utf-8")
    doc = load(tmp_path / "guide.md")
    assert doc.text == MD  # Markdown is read as it is; blocks point into it
    assert texts(doc, "code") == ["make install\nmake check", "    indented code"]
    assert texts(doc, "header") == ["| option | default |"]
    assert texts(doc, "row") == ["| `port` | 5432 |", "| `host` | localhost |"]
    assert heads(doc, "row") == ["| option | default |"] * 2
    assert texts(doc, "item") == ["- one item\n  that goes on", "- two"]
    assert texts(doc, "note") == ["> **Note** back up first."]
    assert texts(doc, "definition") == ["Term\n: its definition"]
    assert heads(doc, "definition") == ["Term"]
    # the fences are markup: skip spans, never chunked or quoted
    fences = [doc.text[a:b] for a, b in doc.skip_spans]
    assert fences == ["```sh", "```"]


# --- DOCX ------------------------------------------------------------------------------

def test_docx_code_lists_notes_and_table_header(tmp_path: Path) -> None:
    import docx
    from docx.shared import Pt

    d = docx.Document()
    d.add_heading("Setup", level=1)
    d.add_paragraph("Run these commands:")
    for line in ("make install", "make check"):
        run = d.add_paragraph().add_run(line)
        run.font.name = "Courier New"
        run.font.size = Pt(10)
    d.add_paragraph("first step", style="List Bullet")
    d.add_paragraph("second step", style="List Number")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("port", "default"), ("5432", "yes"), ("5433", "no")]):
        table.rows[r].cells[0].text, table.rows[r].cells[1].text = a, b
    d.save(str(tmp_path / "setup.docx"))
    doc = load(tmp_path / "setup.docx")
    # consecutive code paragraphs are one block, a line each
    assert texts(doc, "code") == ["make install\nmake check"]
    assert texts(doc, "item") == ["first step", "second step"]
    assert texts(doc, "header") == ["port | default"]  # Word's table look: a header row
    assert texts(doc, "row") == ["5432 | yes", "5433 | no"]
    assert heads(doc, "row") == ["port | default"] * 2


# --- PDF -------------------------------------------------------------------------------

def test_pdf_lines_set_in_a_monospace_font_are_code(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, "To build the manual, run the following commands:", new_x="LMARGIN",
             new_y="NEXT")
    pdf.set_font("Courier", size=11)
    for line in ("pdflatex manual.tex", "makeindex manual.idx"):
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 8, "Then open manual.pdf in a viewer of your choice.", new_x="LMARGIN",
             new_y="NEXT")
    pdf.output(str(tmp_path / "manual.pdf"))
    doc = load(tmp_path / "manual.pdf")
    assert texts(doc, "code") == ["pdflatex manual.tex\nmakeindex manual.idx"]
    got = [doc.text[a:b] for a, b in body_sentences(doc, 0, len(doc.text))]
    assert "pdflatex manual.tex" in got and "makeindex manual.idx" in got


# --- through the index -------------------------------------------------------------------

def test_blocks_are_kept_through_the_index_and_old_formats_say_rebuild(
        tmp_path: Path, embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pg_ctl.html").write_text(PAGE, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    loaded = load(docs / "pg_ctl.html")
    stored = a.answerer.retriever().store.documents[loaded.doc_id]
    assert stored.blocks == loaded.blocks and stored.text == loaded.text
    # an index written before blocks were kept (format 2) is rebuilt, never half-read
    db = sqlite3.connect(str(tmp_path / "index" / "catalog.sqlite"))
    db.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    db.execute("UPDATE meta SET value = json_set(value, '$.format_version', 2) "
               "WHERE key = 'manifest'")
    db.commit()
    db.close()
    with pytest.raises(IndexMismatchError, match=rf"format 2 is not {FORMAT_VERSION}.*rebuild"):
        make_assistant(tmp_path / "index", embedder, docs).ask("How do I stop the server?")
