"""What leaves the assistant as files and text: hostile documents and concurrent edits (issue 25).

Real files, the real model and index: references.json saved by many threads and
another process at once, or damaged; a Word export of text with control
characters opened by python-docx; Markdown exports rendered by a CommonMark
renderer; BibTeX and RIS of hostile fields read back by bibtexparser and rispy.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, make_assistant

from assistant.cite.corrections import (
    LOCK_FILE,
    damage_note,
    load_corrections,
    read_corrections,
    save_correction,
)
from assistant.cite.records import Turn, turn_record
from assistant.cite.references import item
from assistant.cli import main
from assistant.ingest import discover
from assistant.types import Document
from assistant.web.downloads import Exports

HOSTILE_MD = (
    "# Harbour notes\n\n"
    "The harbour master keeps the tide tables <script>alert('md')</script> in the "
    "[tide office](javascript:alert(1)) beside ![tracker](http://evil.example/t.png) the "
    "[chart room](data:text/html;base64,PHNjcmlwdD4=) and the [log](VBScript:msgbox(1)) "
    "and [a &amp; b](jav&#x61;script:alert(2)) of ships.\n"
)
CONTROL_TXT = ("The signal lamp at Dunmore was lit\x0b every night\x1b[0m from 1850 until "
               "the war.\n")
WORDS = re.compile(r"[A-Za-z]+")


def _doc(docs: Path, name: str) -> Document:
    path = docs / name
    path.write_text(f"Text of {name}.\n", encoding="utf-8")
    return Document(doc_id=name, source=f"{docs.name}/{name}", path=str(path), title=name,
                    text=f"Text of {name}.\n", format="txt", content_hash="h")


# --- references.json: concurrent saves, damage -------------------------------------

SAVER = """
import sys
from pathlib import Path
from assistant.cite.corrections import save_correction
from assistant.types import Document
docs, name, who, n = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
doc = Document(doc_id=name, source=f"{docs.name}/{name}", path=str(docs / name), title=name,
               text="", format="txt", content_hash="h")
for k in range(n):
    save_correction(doc, {f"x-{who}": str(k)})
"""


def test_concurrent_saves_keep_every_last_value(tmp_path: Path) -> None:
    """8 threads x 40 saves, each to its own document and to one shared by all, while another
    process saves to the shared one too: valid JSON holding every writer's last value."""
    docs = tmp_path / "docs"
    docs.mkdir()
    own = [_doc(docs, f"d{t}.txt") for t in range(8)]
    shared = _doc(docs, "shared.txt")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def saves(t: int) -> None:
        start.wait()
        try:
            for k in range(40):
                save_correction(own[t], {"title": f"t{t}-{k}"})
                save_correction(shared, {f"x-thread-{t}": str(k)})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    other = subprocess.Popen([sys.executable, "-c", SAVER, str(docs), "shared.txt", "proc", "40"],
                             cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    threads = [threading.Thread(target=saves, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert other.wait(timeout=120) == 0
    assert errors == []
    data = json.loads((docs / "references.json").read_text(encoding="utf-8"))
    assert {k: v["title"] for k, v in data.items() if k != "shared.txt"} == {
        f"d{t}.txt": f"t{t}-39" for t in range(8)}
    assert data["shared.txt"] == {**{f"x-thread-{t}": "39" for t in range(8)}, "x-proc": "39"}
    # Nothing left behind that discovery would read as a document.
    files, skipped = discover(docs)
    assert {p.name for p in files} == {d.path.rsplit("/", 1)[1] for d in [*own, shared]}
    assert skipped == [] and (docs / LOCK_FILE).exists()
    assert [p.name for p in docs.glob("*.tmp")] == []


def test_a_damaged_references_json_is_used_field_by_field(tmp_path: Path, caplog) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    good, bad = _doc(docs, "good.txt"), _doc(docs, "bad.txt")
    refs = docs / "references.json"
    refs.write_text(json.dumps({
        "good.txt": {"title": "Good title", "issued": {"date-parts": [[2020, 5]]},
                     "author": "Not, A List", "publisher": {"no": "object"}},
        "bad.txt": ["not", "an", "object"],
    }), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="assistant.cite.corrections"):
        for _ in range(3):  # each question reads it: warned once
            assert item(good)["title"] == "Good title"
            assert item(good)["issued"] == {"date-parts": [[2020, 5]]}
            assert "author" not in item(good) and "publisher" not in item(good)
            assert item(bad)["title"] == "bad.txt"  # the dropped entry: the file's own data
    warnings = [r.getMessage() for r in caplog.records if "references.json" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "good.txt: author must be a list of names" in warnings[0]
    assert "bad.txt: must be an object" in warnings[0]
    note = damage_note(refs)
    assert note and "damaged" in note and "good.txt: author" in note and str(tmp_path) not in note

    refs.write_text('{"good.txt": {"title": "Cut sho', encoding="utf-8")  # invalid JSON
    with caplog.at_level(logging.WARNING, logger="assistant.cite.corrections"):
        assert load_corrections(refs) == {} and item(good)["title"] == "good.txt"
    assert "not valid JSON" in caplog.records[-1].getMessage()

    # Saving over it keeps a copy of the damaged file, then writes what can be read.
    refs.write_text(json.dumps({"good.txt": {"title": "Kept", "author": 7},
                                "bad.txt": 3}), encoding="utf-8")
    damaged = refs.read_bytes()
    saved = save_correction(bad, {"title": "Fixed"})
    assert saved.kept is not None and saved.kept.read_bytes() == damaged
    assert saved.kept.name.startswith(".references.json.damaged-")  # hidden: never indexed
    assert json.loads(refs.read_text(encoding="utf-8")) == {
        "good.txt": {"title": "Kept"}, "bad.txt": {"title": "Fixed"}}
    assert read_corrections(refs).problems == () and damage_note(refs) is None
    assert save_correction(bad, {"title": "Again"}).kept is None  # no longer damaged


# --- exports of hostile documents ------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embedder):
    root = tmp_path_factory.mktemp("outputs")
    docs = root / "docs"
    docs.mkdir()
    (docs / "harbour.md").write_text(HOSTILE_MD, encoding="utf-8")
    (docs / "lamp.txt").write_text(CONTROL_TXT, encoding="utf-8")
    a = make_assistant(root / "index", embedder, docs)
    a.index()
    return a, docs, root / "index"


def _turn(a, question: str, source: str) -> Turn:
    """The answer as a record, sent through JSON as the browser keeps it."""
    answer = a.ask(question)
    assert answer.citations and answer.citations[0].chunk.source.endswith(source), answer
    record = turn_record(answer, a.answerer.cited_documents(answer))
    return Turn.from_dict(json.loads(json.dumps(record.to_dict())))


def test_word_export_drops_characters_xml_cannot_hold(corpus, tmp_path: Path) -> None:
    import docx

    a, _, _ = corpus
    turn = _turn(a, "When was the signal lamp at Dunmore lit?", "lamp.txt")
    assert "\x0b" in turn.text and "\x1b" in turn.text  # the document's own characters
    crafted = Turn.from_dict({**turn.to_dict(), "question": "Lamp\x1b[1m at\x00 Dunmore?",
                              "notes": ["note\x0c one"]})
    exports = Exports()
    try:
        path = Path(exports.write("s", "word", [turn, crafted], "apa") or "")
        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    finally:
        exports.close()
    assert "lit every night[0m from 1850" in text
    assert "Lamp[1m at Dunmore?" in text and "note one" in text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)


def _rendered(markdown: str) -> str:
    """CommonMark as HTML, with markdown-it's own refusal of script links switched off: the
    test checks what the assistant writes, not what one renderer happens to filter."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    md.validateLink = lambda url: True
    return md.render(markdown)


def _assert_inert(markup: str) -> None:
    assert "<script" not in markup and "<img" not in markup
    hrefs = re.findall(r'href="([^"]*)"', markup)
    assert not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.I)], hrefs


def test_markdown_exports_show_hostile_documents_as_text(corpus) -> None:
    a, _, _ = corpus
    turn = _turn(a, "Where does the harbour master keep the tide tables?", "harbour.md")
    cite = turn.citations[0]
    assert "<script>" in cite.quote and "javascript:" in cite.quote  # what the document says
    exports = Exports()
    try:
        exported = Path(exports.write("s", "markdown", [turn], "apa") or "").read_text("utf-8")
    finally:
        exports.close()
    for md in (exported, cite.as_markdown(), turn.as_markdown(), cite.markdown, turn.export):
        html = _rendered(md)
        _assert_inert(html)
        shown = re.sub(r"<[^>]+>", "", html)  # what a reader sees: the document's words
        assert "&lt;script&gt;alert('md')&lt;/script&gt;" in shown or \
            "&lt;script&gt;alert(&#x27;md&#x27;)&lt;/script&gt;" in shown
        assert "(javascript:alert(1))" in shown and "](http://evil.example/t.png)" in shown
    # A record the browser sends back is rendered from its fields, not its Markdown.
    crafted = Turn.from_dict({**turn.to_dict(), "export": "<script>x()</script>",
                              "citations": [{**cite.to_dict(), "markdown": "<img src=x>"}]})
    _assert_inert(_rendered(crafted.as_markdown() + crafted.citations[0].as_markdown()))


# --- BibTeX and RIS of hostile fields ----------------------------------------------

def test_bibtex_and_ris_hold_hostile_fields_in_one_entry(corpus, capsys) -> None:
    import bibtexparser
    import rispy

    a, docs, index = corpus
    doc = next(d for d in a.answerer.documents() if d.source.endswith("lamp.txt"))
    title = "Lamps} of {Dunmore\n@misc{evil,\n  title = {pwned}\n}\nTY  - JOUR\nT1  - evil \\"
    url = "https://example.org/lamp}\n@misc{evil2, url={x}}\nUR  - http://evil.example"
    save_correction(doc, {"title": title, "URL": url, "publisher": "Port & {Harbour}"})
    question = "When was the signal lamp at Dunmore lit?"
    capsys.readouterr()
    assert main(["ask", question, "-k", "1", "--index", str(index), "--style", "bibtex"]) == 0
    bib = capsys.readouterr().out
    library = bibtexparser.parse_string(bib[bib.index("@"):])
    assert not library.failed_blocks and len(library.entries) == 1, bib
    fields = {k: f.value for k, f in library.entries[0].fields_dict.items()}
    assert "pwned" in fields["title"] and "evil" in fields["title"]
    assert fields["url"].startswith("https://example.org/lamp%7D") and "evil2" in fields["url"]
    assert WORDS.findall(fields["title"].replace(r"\textbraceleft{}", " ")
                         .replace(r"\textbraceright{}", " ").replace(r"\textbackslash{}", " ")) \
        == WORDS.findall(title)
    assert main(["ask", question, "-k", "1", "--index", str(index), "--style", "ris"]) == 0
    ris = capsys.readouterr().out
    (entry,) = rispy.loads(ris[ris.index("TY  -"):])
    assert entry["type_of_reference"] == "GEN"
    assert entry["title"] == " ".join(title.split())
    assert entry["urls"] == [" ".join(url.split())]
    assert [ln[:6] for ln in ris[ris.index("TY  -"):].splitlines() if ln.strip()] == [
        "TY  - ", "TI  - ", "PB  - ", "UR  - ", "N1  - ", "ER  - "]
