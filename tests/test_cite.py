"""Citations as a person pastes them: locators, plain text, Markdown and reference lists.

The formatting tests build Citations by hand (pure logic); the last test gets its
citations from a real index built with the bundled model.
"""

from __future__ import annotations

from pathlib import Path

from conftest import assert_exact, make_assistant

from assistant.cite import text as cite
from assistant.text.locate import heading_path
from assistant.types import Answer, Chunk, Citation


def citation(
    n: int = 1,
    quote: str = "The team is based at\nMaltby police station.",
    source: str = "docs_src/review.txt",
    title: str = "Praise for Rotherham",
    lines: tuple[int | None, int | None] = (None, None),
    pages: tuple[int | None, int | None] = (None, None),
    chunk_headings: tuple[str, ...] = (),
    headings: tuple[str, ...] = (),
) -> Citation:
    chunk = Chunk(chunk_id="c1", doc_id="d1", title=title, source=source, path=f"/x/{source}",
                  text=quote, start=100, end=100 + len(quote), spans=((100, 100 + len(quote)),),
                  heading_path=chunk_headings)
    return Citation(n=n, chunk=chunk, quote=quote, start=100, end=100 + len(quote),
                    line_start=lines[0], line_end=lines[1], page_start=pages[0],
                    page_end=pages[1], score=0.5, heading_path=headings)


def test_locator_lines_use_an_en_dash():
    assert cite.locator(citation(lines=(5, 6))) == "lines 5\u20136"
    assert cite.locator(citation(lines=(5, 5))) == "line 5"
    assert cite.locator(citation(lines=(12, None))) == "line 12"
    assert cite.locator(citation()) == ""


def test_locator_pages():
    assert cite.locator(citation(pages=(3, 3))) == "p. 3"
    assert cite.locator(citation(pages=(3, 4))) == "pp. 3\u20134"
    assert cite.locator(citation(pages=(3, None))) == "p. 3"


def test_locator_heading_path_follows_the_other_parts():
    c = citation(lines=(5, 6), headings=("Steam engine", "Measuring performance", "Indicator"))
    assert cite.locator(c) == "lines 5\u20136, \u00a7 Steam engine > Measuring performance > Indicator"
    docx = citation(headings=("Victoria and Albert Museum", "History"))
    assert cite.locator(docx) == "\u00a7 Victoria and Albert Museum > History"
    pdf = citation(pages=(2, 3), headings=("Black Death",))
    assert cite.locator(pdf) == "pp. 2\u20133, \u00a7 Black Death"


def test_spans_at_one_place_are_located_once():
    """A table row quoted after its header row, both in one section of an HTML page, is
    located once; spans at two places keep both locators, in order."""
    from dataclasses import replace

    from assistant.types import Span

    path = ("Chapter 4", "4.1 Unix authentication")
    one = replace(citation(headings=path), spans=(
        Span("content | meaning", 10, 27, heading_path=path),
        Span('x | the password is in "/etc/shadow"', 40, 76, heading_path=path)))
    assert cite.locators(one) == "\u00a7 Chapter 4 > 4.1 Unix authentication"
    two = replace(citation(), spans=(Span("a", 0, 1, 3, 3), Span("b", 9, 10, 5, 5)))
    assert cite.locators(two) == "line 3; line 5"


def test_the_quotes_own_heading_path_wins_over_the_chunks():
    c = citation(chunk_headings=("Guide", "Setup"), headings=("Guide", "Setup", "Ports"))
    assert c.headings == ("Guide", "Setup", "Ports")
    assert cite.locator(c).endswith("\u00a7 Guide > Setup > Ports")
    assert c.to_dict()["heading_path"] == ["Guide", "Setup", "Ports"]
    # A Citation made without one (e.g. by another generator) shows the chunk's path.
    legacy = citation(chunk_headings=("Guide", "Setup"))
    assert legacy.headings == ("Guide", "Setup") and cite.locator(legacy) == "\u00a7 Guide > Setup"


def test_plain_flattens_line_breaks_and_names_source_and_place():
    c = citation(lines=(18, 19))
    assert cite.plain(c) == (
        "\u201cThe team is based at Maltby police station.\u201d \u2014 Praise for Rotherham "
        "(docs_src/review.txt, lines 18\u201319)")
    no_loc = citation(source="docs_src/page.html", title="Amazon rainforest",
                      quote="  Some   text\n\there.  ")
    assert cite.plain(no_loc) == "\u201cSome text here.\u201d \u2014 Amazon rainforest (docs_src/page.html)"


def test_markdown_blockquote_with_escaped_title():
    c = citation(title="Notes *draft*", pages=(3, 4), source="docs_src/notes.pdf")
    assert cite.markdown(c) == (
        "> The team is based at Maltby police station.\n>\n"
        "> \u2014 *Notes \\*draft\\** (`docs_src/notes.pdf`, pp. 3\u20134)")


def test_references_are_numbered_one_per_line():
    a = citation(n=1, lines=(5, 6))
    b = citation(n=2, quote="Pears ripen.", source="docs_src/fruit.pdf", title="Fruit",
                 pages=(3, 3), headings=("Fruit", "Pears"))
    assert cite.references([a, b]) == (
        "[1] Praise for Rotherham (docs_src/review.txt, lines 5\u20136): "
        "\u201cThe team is based at Maltby police station.\u201d\n"
        "[2] Fruit (docs_src/fruit.pdf, p. 3, \u00a7 Fruit > Pears): \u201cPears ripen.\u201d")
    answer = Answer(question="q", text="Based at Maltby. [1] Pears ripen. [2]", found=True,
                    citations=(a, b))
    assert cite.answer_text(answer) == f"{answer.text}\n\nSources:\n{cite.references([a, b])}"
    assert cite.answer_text(Answer(question="q", text="Nothing.", found=False)) == "Nothing."
    md = cite.answer_markdown(answer)
    assert "1. *Praise for Rotherham* (`docs_src/review.txt`, lines 5\u20136): " in md
    assert "2. *Fruit* (`docs_src/fruit.pdf`, p. 3, \u00a7 Fruit > Pears): " in md


def test_real_citations_carry_the_quotes_lines_pages_and_headings(tmp_path: Path, embedder):
    from fpdf import FPDF

    docs = tmp_path / "docs"
    docs.mkdir()
    # The short intro keeps "### Ports" inside the chunk that starts at "# Guide",
    # so the chunk's heading path is not the quote's.
    guide = ("# Guide\n\n## Setup\n\nInstall it first.\n\n### Ports\n\n"
             "The server listens on port 8080 by default.\nChange it in the settings file.\n")
    (docs / "guide.md").write_text(guide, encoding="utf-8")
    pdf = FPDF()
    pdf.set_title("Orchard Notes")
    pdf.set_font("Helvetica", size=11)
    for text in ("Apple trees flower in spring and need a pollinator nearby.",
                 "Quince trees are self-fertile and flower later than apple trees."):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(docs / "orchard.pdf"))

    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    docs_by_id = {d.doc_id: d for d in a.answerer.documents()}

    port = a.ask("Which port does the server listen on?")
    c = port.citations[0]
    assert c.chunk.source.endswith("guide.md") and "8080" in c.quote
    assert not c.quote.startswith("#")
    line = guide.split("\n").index("The server listens on port 8080 by default.") + 1
    assert c.line_start == line and c.page_start is None
    assert c.headings == ("Guide", "Setup", "Ports")
    assert c.headings == heading_path(docs_by_id[c.chunk.doc_id], c.start)
    assert cite.locator(c).startswith(f"line{'s' if c.line_end != line else ''} {line}")
    assert cite.locator(c).endswith("\u00a7 Guide > Setup > Ports")
    assert_exact(a, port)

    quince = a.ask("Are quince trees self-fertile?")
    q = quince.citations[0]
    assert q.chunk.source.endswith("orchard.pdf") and q.chunk.title == "Orchard Notes"
    assert (q.page_start, q.page_end) == (2, 2) and q.line_start is None
    assert cite.locator(q) == "p. 2"
    assert cite.plain(q).endswith(f"\u2014 Orchard Notes ({q.chunk.source}, p. 2)")
    assert_exact(a, quince)


def test_reflow_joins_lines_inside_paragraphs_only():
    from assistant.cite.text import reflow

    pdf_answer = "The Black Death ravaged Europe for three years before\nit continued. [1]"
    assert reflow(pdf_answer) == "The Black Death ravaged Europe for three years before it continued. [1]"
    assert reflow("First paragraph. [1]\n\nSecond one. [2]") == "First paragraph. [1]\n\nSecond one. [2]"
