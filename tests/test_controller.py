"""The chat controller without a browser: handlers keyed by component, no leaks over a long chat.

The components are stand-ins (their names): a handler's result is a dict keyed by
them, so each test reads what an event changes by name. The assistant, its index
and the model are real.
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, fields
from pathlib import Path

import gradio as gr
import pytest
from conftest import make_assistant

from assistant.team import Team
from assistant.web.controller import Chat, Page
from assistant.web.downloads import Exports
from assistant.web.shelf import Shelf

MILL = "The old mill on the river Wensum ground wheat for the village until 1952.\n"
BELL = "The bell foundry in Whitechapel cast the great bell of Westminster in 1858.\n"
QUESTIONS = ["When did the old mill stop grinding wheat?", "Where was the great bell cast?",
             "What did the mill on the Wensum grind?"]


@dataclass
class Request:
    """What Gradio passes as gr.Request, as far as the controller reads it."""

    session_hash: str


def team_of(a) -> Team:
    """An open team (no login: the local user) whose one collection is `a`."""
    team = Team(a.settings)
    team.collections.put("default", a)
    return team


def state(turns: list) -> dict:
    """A conversation as the page keeps it (unsealed here: no Seal is given)."""
    return {"v": 2, "user": "local", "collection": "default", "id": None, "turns": turns}


def page() -> Page:
    names = {f.name: f.name for f in fields(Page)}
    names["ref_fields"] = [f"ref_{i}" for i in range(7)]  # type: ignore[assignment]
    return Page(**names)  # type: ignore[arg-type]


@pytest.fixture
def corpus(tmp_path: Path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mill.txt").write_text(MILL, encoding="utf-8")
    (docs / "bell.txt").write_text(BELL, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    return a, docs


def ask(chat: Chat, question: str, turns: list) -> dict:
    *_, last = chat.respond(question, turns, None, "extractive", "apa")
    return last


def test_a_replaced_retriever_is_freed(corpus) -> None:
    a, docs = corpus
    first = a.answerer.retriever()
    first.search(QUESTIONS[0])  # fills its query-vector cache
    gone = weakref.ref(first)
    del first
    (docs / "mill.txt").write_text(MILL + "It is now a museum.\n", encoding="utf-8")
    a.index()
    assert a.answerer.retriever().search(QUESTIONS[0])  # the new generation is in use
    gc.collect()
    assert gone() is None  # no cache holds the old one (and its index) alive


def test_exports_are_made_when_asked_in_one_folder_per_session(corpus) -> None:
    a, _ = corpus
    exports = Exports(keep=2)
    chat, p = Chat(team_of(a), page(), exports), page()
    tab, other, third = Request("tab-1"), Request("tab-2"), Request("tab-3")
    with pytest.raises(gr.Error, match="nothing to export"):
        chat.export_markdown([], "apa", tab)  # type: ignore[arg-type]
    turns: list = []
    for q in QUESTIONS:
        last = ask(chat, q, turns)
        turns = last[p.conv]
        assert last[p.export]["interactive"] is True  # the buttons work once there is a turn
    assert list(exports.root.iterdir()) == []  # answering writes no file
    made = {}
    for make, suffix in ((chat.export_markdown, ".md"), (chat.export_references, ".txt"),
                         (chat.export_word, ".docx")):
        path = Path(make(turns, "apa", tab)[p.download])  # type: ignore[arg-type]
        assert path.suffix == suffix and path.stat().st_size > 0
        assert len(list(exports.root.iterdir())) == 1  # the session's one folder, replaced
        assert [f.name for f in path.parent.iterdir()] == [path.name]
        made[suffix] = path
    assert made[".md"].exists() is False  # replaced by the later exports
    text = Path(chat.export_markdown(turns, "apa", tab)[p.download]).read_text(encoding="utf-8")  # type: ignore[arg-type]
    assert [ln for ln in text.splitlines() if ln.startswith("## ")] == [
        f"## {i}. {q}" for i, q in enumerate(QUESTIONS, 1)]
    second = Path(chat.export_word(turns, "harvard", other)[p.download])  # type: ignore[arg-type]
    assert len(list(exports.root.iterdir())) == 2
    first = Path(chat.export_word(turns, "apa", tab)[p.download])  # type: ignore[arg-type]
    chat.export_word(turns, "apa", third)  # type: ignore[arg-type]  # over keep: the oldest goes
    assert len(list(exports.root.iterdir())) == 2 and first.exists() and not second.exists()
    cleared = chat.clear(None, None, third)  # type: ignore[arg-type]
    assert cleared[p.conv]["turns"] == [] and cleared[p.word_file]["interactive"] is False
    assert len(list(exports.root.iterdir())) == 1
    exports.close()
    assert not exports.root.exists()


def test_the_page_reads_the_generation_it_answered_from(corpus) -> None:
    """A commit between the answer and its record must not shift the record's context."""
    a, docs = corpus
    chat, p = Chat(team_of(a), page()), page()
    updates = chat.respond(QUESTIONS[1], [], None, "extractive", "apa")
    next(updates)  # "Searching ..."
    streamed = next(updates)  # the answer has been given from the generation it read
    assert "Whitechapel" in streamed[p.chat][-1]["content"]
    (docs / "bell.txt").write_text("A new opening paragraph that moves every offset along.\n\n"
                                   + BELL, encoding="utf-8")
    a.index()
    *_, last = updates
    cite = last[p.conv]["turns"][-1]["citations"][0]
    assert cite["before"] + cite["quote"] + cite["after"] in BELL
    assert cite["quote"] == BELL[cite["start"]:cite["end"]]


def test_handlers_return_only_what_they_change(corpus) -> None:
    a, _ = corpus
    chat, p = Chat(team_of(a), page()), page()
    empty = list(chat.respond("  ", [], None, "extractive", "apa"))
    assert empty == [{p.box: "  ", p.conv: state([]), p.status: chat_prompt()}]
    turns = ask(chat, QUESTIONS[1], [])[p.conv]
    shown = chat.show_document(turns, gr.EventData(None, {"turn": 0, "n": 1}))
    assert set(shown) == {p.document} and "<mark id='cited'>" in shown[p.document]
    assert chat.show_document(turns, gr.EventData(None, {"turn": 5, "n": 1})) == {}
    assert chat.show_document(turns, gr.EventData(None, {})) == {}
    assert set(Shelf(chat).load_reference(None)) == set(p.ref_fields)
    restored = chat.restore(turns, "harvard")
    assert set(restored) == {p.chat, p.conv, p.shown, p.sources, p.only, p.ref_doc, p.export,
                             p.refs_file, p.word_file, p.collection, p.who, p.files,
                             p.ref_save, p.history}
    assert "data-turn='0'" in restored[p.sources]
    assert restored[p.conv] == turns and restored[p.shown] == 0


def test_the_style_applies_to_the_turn_shown_and_a_crafted_conversation_is_dropped(corpus):
    """Which turn's sources are shown is state of the page, not read back from its HTML; what a
    browser sends back as the conversation is checked, not trusted."""
    a, _ = corpus
    chat, p = Chat(team_of(a), page()), page()
    first = ask(chat, QUESTIONS[0], [])
    assert first[p.shown] == 0
    second = ask(chat, QUESTIONS[1], first[p.conv])
    two = second[p.conv]
    assert second[p.shown] == 1
    picked = chat.select_turn(two, "apa", gr.SelectData(None, {"index": 0, "value": ""}))
    assert picked[p.shown] == 0
    assert "data-turn='0'" in chat.restyle(two, "bibtex", picked[p.shown])[p.sources]
    assert "data-turn='1'" in chat.restyle(two, "bibtex", None)[p.sources]  # none: the last
    assert "@" in chat.restyle(two, "bibtex", 0)[p.sources]  # the BibTeX reference is copied
    two = two["turns"]
    cite = two[0]["citations"][0]
    for bad in ({**cite, "n": "<b>1</b>"}, {**cite, "start": -5}, {**cite, "quote": 7}):
        crafted = state([{**two[0], "citations": [bad]}, two[1]])
        assert chat.restore(crafted, "apa")[p.conv]["turns"] == []
        assert chat.restyle(crafted, "apa", 0) == {}
    lying = state([{**two[0], "sentences": [{"text": "x", "cited": [9], "verified": True}]}])
    assert chat.restore(lying, "apa")[p.conv]["turns"] == []
    stranger = {**state(two), "user": "someone else"}  # sealed for another user: not shown
    assert chat.restore(stranger, "apa")[p.conv]["turns"] == []


def chat_prompt() -> str:
    from assistant.web.controller import EMPTY_PROMPT

    return EMPTY_PROMPT


def _ledger_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"Ledger page {i}. The harbour ledger records {i * 7} barrels of "
                             f"herring landed by the boat number {i}.")
    return bytes(pdf.output())


def test_a_crafted_citation_is_refused_or_bounded(tmp_path: Path, embedder) -> None:
    """A conversation a browser sends back may cite anything: spans outside the document, pages
    it does not have, or the whole of a long PDF. Show in document refuses the first two and
    renders at most pageview.MAX_PAGES page images for the last; the Sources panel escapes
    every text of a record."""
    from html.parser import HTMLParser

    from assistant.web.pageview import MAX_PAGES

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ledger.pdf").write_bytes(_ledger_pdf(12))
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    chat, p = Chat(team_of(a), page()), page()
    turns = ask(chat, "How many barrels of herring were landed by boat number 5?",
                [])[p.conv]["turns"]
    cite = turns[0]["citations"][0]
    doc = a.answerer.document(cite["doc_id"])
    assert doc is not None and len(doc.page_starts) == 12

    def shown(**span) -> str:
        spans = [{**cite["spans"][0], **span}]
        crafted = {**cite, **{k: v for k, v in spans[0].items() if k in cite}, "spans": spans}
        others = [c for c in turns[0]["citations"] if c["n"] != cite["n"]]
        conversation = [{**turns[0], "citations": [crafted, *others]}]
        return chat.show_document(state(conversation), gr.EventData(None, {"turn": 0, "n": cite["n"]}))[
            p.document]

    assert "<figure" in shown() and "has changed" not in shown()  # the real one
    whole = shown(quote=doc.text, start=0, end=len(doc.text), page_start=1, page_end=12)
    assert whole.count("<figure") == MAX_PAGES and "9 more page(s)" in whole
    end = len(doc.text)
    assert "has changed" in shown(quote="", start=end + 5, end=end + 5)  # past the end
    assert "has changed" in shown(page_start=9999, page_end=9999)  # a page it does not have
    assert "has changed" in shown(line_start=1, line_end=10**6)

    # Numbers out of range, twice the same number: the conversation is dropped.
    for bad in ([{**cite, "n": 0}], [{**cite, "n": 101}], [cite, {**cite}]):
        crafted = [{**turns[0], "citations": bad, "sentences": [], "short_answer": None}]
        assert chat.restore(state(crafted), "apa")[p.conv]["turns"] == []

    # Every text of a record, hostile: the Sources panel holds only its own tags and attributes.
    evil = "'\"><script>alert(1)</script><img src=x onerror=alert(2)>${x}"
    texts = {k: evil for k in ("title", "source", "locator", "plain", "markdown")}
    hostile = {**turns[0], "question": evil, "export": evil, "notes": [evil], "sentences": [],
               "short_answer": None, "citations": [{
        **cite, **texts, "verified": False, "unsupported": [evil],
        "csl": {"id": cite["csl"]["id"], "type": evil, "title": evil, "container-title": evil,
                "URL": evil, "author": [{"literal": evil}]},
        "spans": [{**cite["spans"][0], "before": evil, "after": evil, "locator": evil}]}]}
    assert chat.restyle(state([{**hostile, "citations": [{**hostile["citations"][0], "csl": {
        "title": "no id"}}]}]), "apa", 0) == {}  # a reference without its id: dropped
    markup = chat.restyle(state([hostile]), "apa", 0)[p.sources]

    class Tags(HTMLParser):
        found: set[str] = set()
        attrs: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.found.add(tag)
            self.attrs.update(name for name, _ in attrs)

    parsed = Tags()
    parsed.feed(markup)
    assert parsed.found <= {"div", "span", "b", "i", "button", "blockquote", "mark"}, parsed.found
    assert parsed.attrs <= {"class", "id", "data-turn", "data-copy", "data-show", "lang",
                            "data-lang"}, parsed.attrs  # lang: a code, checked on restore
    assert "${" not in markup
