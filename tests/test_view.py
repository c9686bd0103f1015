"""What the web chat shows: document text always escaped, exact passages marked, exports."""

from __future__ import annotations

import html
import re

from assistant.cite.records import turn_record
from assistant.types import Answer, Chunk, Citation, Document
from assistant.web import view

HOSTILE = ("Intro line.\nThe code is in the cabinet <script>alert(1)</script> and "
           "![t](http://evil.example/t.png) ${x} {{y}} `z`.\nLast line.\n")


def _doc(text: str = HOSTILE, fmt: str = "md", **kw) -> Document:
    return Document(doc_id="d1", source="docs/notes.md", path="/x/notes.md", title="Notes <u>",
                    text=text, format=fmt, content_hash="h", **kw)


def _answer(doc: Document, quote: str) -> Answer:
    start = doc.text.index(quote)
    end = start + len(quote)
    line = doc.text.count("\n", 0, start) + 1
    chunk = Chunk(chunk_id="c1", doc_id=doc.doc_id, title=doc.title, source=doc.source,
                  path=doc.path, text=doc.text, start=0, end=len(doc.text),
                  spans=((0, len(doc.text)),))
    cite = Citation(n=1, chunk=chunk, quote=quote, start=start, end=end, line_start=line,
                    line_end=line, page_start=None, page_end=None, score=0.5)
    return Answer(question="Where is the code?", text=f"{quote} [1]", found=True,
                  citations=(cite,))


def _text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_escaped_markup_holds_no_live_tags_or_templates() -> None:
    doc = _doc()
    quote = doc.text.splitlines()[1]
    turn = turn_record(_answer(doc, quote), {doc.doc_id: doc})
    for markup in (view.sources_html(turn, 0), view.document_html(doc, turn.citations[0])):
        assert "<script" not in markup and "<u>" not in markup and "<img" not in markup
        assert not re.search(r"\$\{|\{\{|`", markup)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup


def test_document_view_shows_the_whole_text_with_the_quote_marked() -> None:
    doc = _doc()
    quote = doc.text.splitlines()[1]
    cite = turn_record(_answer(doc, quote), {doc.doc_id: doc}).citations[0]
    markup = view.document_html(doc, cite)
    body = markup.split("<div class='doc-text'>", 1)[1].rsplit("</div>", 1)[0]
    marked = re.search(r"<mark id='cited'>(.*?)</mark>", body, re.S)
    assert marked and _text_of(marked.group(1)) == quote
    without_numbers = re.sub(r"<span class='(ln|page)'>[^<]*</span>", "", body)
    assert _text_of(without_numbers) == doc.text
    assert re.findall(r"<span class='ln'>(\d+)</span>", body) == ["1", "2", "3"]


def test_document_view_refuses_a_changed_document() -> None:
    doc = _doc()
    cite = turn_record(_answer(doc, "Last line."), {doc.doc_id: doc}).citations[0]
    changed = _doc(text=HOSTILE.replace("Last", "Final"))
    assert "changed" in view.document_html(changed, cite)


def test_pdf_pages_are_marked() -> None:
    text = "Page one text.\n\nPage two has the answer."
    doc = _doc(text=text, fmt="pdf", page_starts=(0, 16))
    cite = turn_record(_answer(doc, "Page two has the answer."), {doc.doc_id: doc})
    markup = view.document_html(doc, cite.citations[0])
    assert "page 1</span>" in markup and "page 2</span>" in markup and "class='ln'" not in markup


def test_context_skips_boilerplate() -> None:
    text = "Hide Ad\nBefore words here. The quoted sentence is this one. After words.\nHide Ad\n"
    ad_end, ad2 = text.index("\n") + 1, text.rindex("Hide Ad")
    doc = _doc(text=text, fmt="txt", skip_spans=((0, ad_end), (ad2, len(text))))
    c = turn_record(_answer(doc, "The quoted sentence is this one."), {"d1": doc})
    c = c.citations[0]
    assert "Hide Ad" not in c.before + c.after
    assert c.before.endswith("here. ") and c.after.startswith(" After")


def test_chat_text_keeps_markdown_and_html_inert() -> None:
    shown = view.chat_text("a <img src=x> ![t](http://e/t.png) *b* [1]")
    assert "<img" not in shown and "![" not in shown and "](" not in shown
    assert "\\[1\\]" in shown  # displays as [1]


def test_export_numbers_every_answer_and_its_references() -> None:
    doc = _doc(text="Alpha beta gamma.\nDelta epsilon zeta.\n", fmt="txt")
    turns = [turn_record(_answer(doc, "Alpha beta gamma."), {"d1": doc}),
             turn_record(_answer(doc, "Delta epsilon zeta."), {"d1": doc})]
    md = view.export_markdown(turns, "2025-01-01")
    assert md.count("## ") == 2 and "## 2. Where is the code?" in md
    assert "Alpha beta gamma. [1]" in md
    # The title's "<u>" is document text: written as text, never as HTML (cite.text.safe_markdown).
    assert "1. *Notes &lt;u>* (`docs/notes.md`, line 2): \u201cDelta epsilon zeta.\u201d" in md


def test_nothing_found_cites_nothing() -> None:
    turn = turn_record(Answer(question="q", text="not found", found=False), {})
    out = view.sources_html(turn, 3)
    assert view.NOTHING_FOUND in html.unescape(out) and "class='src'" not in out
    assert "data-turn='3'" in out


def test_very_long_documents_are_shown_around_the_passage() -> None:
    text = ("Filler sentence number here. " * 12000) + "The needle is here." + (" More." * 100)
    doc = _doc(text=text, fmt="html")
    cite = turn_record(_answer(doc, "The needle is here."), {"d1": doc}).citations[0]
    markup = view.document_html(doc, cite)
    assert "Showing characters" in markup and len(markup) < view.DOC_WINDOW * 1.2
    assert "<mark id='cited'>The needle is here.</mark>" in markup


def test_generated_claims_show_whether_they_were_verified() -> None:
    from dataclasses import replace

    doc = _doc(text="First fact here.\nSecond fact there.\n", fmt="txt")
    answer = _answer(doc, "First fact here.")
    plain = view.sources_html(turn_record(answer, {"d1": doc}), 0)
    assert "verified" not in _text_of(plain)  # extractive quotes need no badge
    for flag, word in ((True, "verified"), (False, "unverified")):
        cites = tuple(replace(c, verified=flag) for c in answer.citations)
        out = view.sources_html(turn_record(replace(answer, citations=cites), {"d1": doc}), 0)
        assert f"class='src-{'ok' if flag else 'unverified'}'" in out
        assert word in _text_of(out)


def test_browser_secret_is_random_private_and_kept(tmp_path) -> None:
    import stat

    from assistant.web.page import browser_secret

    a = browser_secret(tmp_path / "one")
    assert a == browser_secret(tmp_path / "one")  # same key after a restart
    assert a != browser_secret(tmp_path / "two")  # not derivable from anything
    assert len(a) == 32
    mode = (tmp_path / "one" / ".ui-secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_chat_shows_a_pdf_sentence_as_one_line() -> None:
    msg = view.answer_message("ravaged Europe before\nit continued. [1]")
    assert "\n" not in msg and "before it continued" in msg


def test_short_answer_is_first_and_bold_inside_its_quote() -> None:
    from dataclasses import replace

    from assistant.types import ShortAnswer

    doc = _doc("Steve Ashley, a former *officer*, carried out the review.\n")
    answer = _answer(doc, "Steve Ashley, a former *officer*, carried out the review.")
    answer = replace(answer, short_answer=ShortAnswer("Steve Ashley", 0, 12, 1))
    turn = turn_record(answer, {doc.doc_id: doc})
    assert turn.short_answer == ShortAnswer("Steve Ashley", 0, 12, 1)
    message = view.chat_messages([turn])[1]["content"]
    assert message.startswith("**Steve Ashley** [1]: **Steve Ashley**, a former \\*officer\\*")
    sources = view.sources_html(turn)
    assert "<mark><b class='short-answer'>Steve Ashley</b>, a former *officer*" in sources
    # Without a short answer nothing is bold.
    plain_turn = turn_record(replace(answer, short_answer=None), {doc.doc_id: doc})
    assert "**" not in view.chat_messages([plain_turn])[1]["content"]
    assert "short-answer" not in view.sources_html(plain_turn)
