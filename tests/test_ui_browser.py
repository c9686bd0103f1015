"""The web chat in a real headless Chromium against the real app (`python app.py`).

One app start for the whole module (2 CPU cores): the index is built first, as
`make run` does, then each test opens a fresh tab with an empty conversation.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import DOCS_SRC, SEED, make_assistant
from ui_server import App, ask, cards, last_answer, start_app

pytestmark = pytest.mark.browser

SEED_TEXT = (DOCS_SRC / SEED).read_text(encoding="utf-8")
REVIEW = "What did the independent review of Rotherham find?"
NOT_FOUND_QUESTION = "How long should sourdough bread be baked at home?"
HOSTILE = (
    "# Quartermaster notes\n\n"
    "The vault code is kept in the blue cabinet <script>window.__pwned = 1</script> beside the "
    "<img src=\"http://evil.example/pixel.png\" onerror=\"window.__pwned = 2\"> brass ledger "
    "![tracker](http://evil.example/tracker.png) and the ${window.__pwned = 3} {{constructor}} "
    "harbour map.\n"
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> App:
    work = tmp_path_factory.mktemp("ui")
    docs = work / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    make_assistant(work / "index", embedder, docs).index(docs)  # as `make run` does first
    served = start_app(work, docs, work / "index")
    served.first_answer = None  # type: ignore[attr-defined]
    print(f"\n[timing] python app.py (index built) -> HTTP 200: "
          f"{served.ready - served.started:.1f} s")
    yield served
    served.stop()


def expected_lines(text: str, quote: str) -> str:
    start = text.find(quote)
    assert start >= 0, f"quote not verbatim in the document: {quote!r}"
    a = text.count("\n", 0, start) + 1
    b = text.count("\n", 0, start + len(quote) - 1) + 1
    return f"line {a}" if a == b else f"lines {a}\u2013{b}"


def test_answer_shows_markers_and_only_cited_sources(page, app: App) -> None:
    seconds = ask(page, app, REVIEW, 0)
    print(f"\n[timing] Enter -> full answer: {seconds:.2f} s; "
          f"python app.py start -> first answer on the page: {app.first_answer:.1f} s")
    answer = last_answer(page)
    assert "[1]" in answer
    markers = sorted(set(re.findall(r"\[(\d+)\]", answer)), key=int)
    found = cards(page)
    assert [c["n"] for c in found] == [f"[{m}]" for m in markers]  # only what is cited
    seed = [c for c in found if SEED in c["loc"]]
    assert seed, found
    for c in seed:
        assert c["quote"] and c["quote"] in SEED_TEXT
        assert expected_lines(SEED_TEXT, c["quote"]) in c["loc"]
        assert c["title"] == "Praise for Rotherham fight against child sex abuse"
        assert re.search(r"score \d\.\d\d", c["loc"])


def test_followup_uses_the_conversation(page, app: App) -> None:
    ask(page, app, REVIEW, 0)
    ask(page, app, "And who led it?", 1)
    quotes = " ".join(c["quote"] for c in cards(page))
    assert "Steve Ashley" in quotes
    chat = page.inner_text("#chat")
    assert REVIEW in chat and "And who led it?" in chat
    # Clicking an earlier answer brings its sources back.
    page.locator("#chat [data-testid='bot']").first.click()
    page.wait_for_selector("#sources .sources[data-turn='0']", timeout=30_000)
    assert REVIEW in page.inner_text("#sources .src-top")


def test_short_answer_is_bold_in_the_quote_and_first_in_the_answer(page, app: App) -> None:
    ask(page, app, "Who carried out the review of Rotherham?", 0)
    bold = page.locator("#sources .src mark b.short-answer")
    assert bold.count() == 1 and bold.inner_text() == "Steve Ashley"
    assert bold.locator("xpath=ancestor::div[contains(@class,'src')][1]").count() == 1
    answer = page.locator("#chat [data-testid='bot']").last
    assert last_answer(page).startswith("Steve Ashley [1]:")
    assert [s.inner_text() for s in answer.locator("strong").all()] == ["Steve Ashley"] * 2
    # A question with no short answer shows none.
    ask(page, app, REVIEW, 1)
    assert page.locator("#sources .src b.short-answer").count() == 0
    assert page.locator("#chat [data-testid='bot']").last.locator("strong").count() == 0


def test_copy_citation_and_show_it_in_the_document(page, app: App) -> None:
    ask(page, app, "Who carried out the review after starting his role in September?", 0)
    card = cards(page)[0]
    first = page.locator("#sources .src").first
    first.get_by_role("button", name="Copy citation").click()
    page.wait_for_timeout(200)
    copied = page.evaluate("navigator.clipboard.readText()")
    flat = re.sub(r"\s+", " ", card["quote"]).strip()
    source, loc = card["loc"].split(" \u00b7 ")[:2]
    assert copied == f"\u201c{flat}\u201d \u2014 {card['title']} ({source}, {loc})"
    first.get_by_role("button", name="Copy as Markdown").click()
    page.wait_for_timeout(200)
    md = page.evaluate("navigator.clipboard.readText()")
    assert md.startswith(f"> {flat}\n>\n> \u2014 *") and f"(`{source}`, {loc})" in md

    first.get_by_role("button", name="Show in document").click()
    mark = page.locator("#document mark")
    mark.wait_for(timeout=30_000)
    assert mark.text_content() == card["quote"]
    # The whole document is shown, as text, with the passage in view.
    shown = page.evaluate("""() => { const d = document.querySelector('#document .doc-text')
        .cloneNode(true); d.querySelectorAll('.ln, .page').forEach(e => e.remove());
        return d.textContent; }""")
    assert source.endswith(SEED)
    assert shown == (app.docs_dir / SEED).read_text(encoding="utf-8")
    page.wait_for_timeout(300)
    box = mark.bounding_box()
    view = page.locator("#document .doc-text").bounding_box()
    assert box and view and view["y"] <= box["y"] <= view["y"] + view["height"]


def test_export_downloads_the_conversation_as_markdown(page, app: App) -> None:
    ask(page, app, REVIEW, 0)
    ask(page, app, "And who led it?", 1)
    answers = [m.inner_text() for m in page.locator("#chat [data-testid='bot']").all()]
    quotes = [c["quote"] for c in cards(page)]
    with page.expect_download() as dl:
        page.click("#export")
    download = dl.value
    assert download.suggested_filename.endswith(".md")
    text = Path(download.path()).read_text(encoding="utf-8")
    assert f"## 1. {REVIEW}" in text and "## 2. And who led it?" in text
    for a in answers:
        assert a.strip() in text
    for i, q in enumerate(quotes, 1):
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{i}. *")
                    and re.sub(r"\s+", " ", q).strip() in ln)
        assert "`docs_src/" in line


def test_reload_keeps_the_conversation_and_its_sources(page, app: App) -> None:
    ask(page, app, REVIEW, 0)
    before = cards(page)
    page.reload()
    page.wait_for_selector("#sources .sources[data-turn='0']", timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert REVIEW in page.inner_text("#chat")
    assert cards(page) == before


def test_empty_question_and_nothing_found(page, app: App) -> None:
    page.fill("#question textarea", "   ")
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#status :text('Please type a question')", timeout=30_000)
    assert page.locator("#chat [data-testid='user']").count() == 0

    ask(page, app, NOT_FOUND_QUESTION, 0)
    assert "[1]" not in last_answer(page)
    assert page.locator("#sources .src").count() == 0
    assert "Nothing relevant was found" in page.inner_text("#sources")


def test_document_filter_restricts_the_sources(page, app: App) -> None:
    page.click("#filter input")
    page.get_by_role("option", name=re.compile("Black Death")).click()
    page.keyboard.press("Escape")
    ask(page, app, "How did the Black Death spread?", 0)
    found = cards(page)
    assert found and all("black-death.pdf" in c["loc"] for c in found)
    assert all(re.search(r"pp?\. \d", c["loc"]) for c in found)  # PDF: page numbers
    ask(page, app, "Who led the review of child sexual exploitation in Rotherham?", 1)
    assert all(SEED not in c["loc"] for c in cards(page))


def test_upload_reports_bad_files_and_indexes_the_rest(page, app: App, tmp_path: Path) -> None:
    good = tmp_path / "lighthouse-notes.md"
    good.write_text("# Kelloway Point lighthouse\n\nThe lamp of the Kelloway Point lighthouse "
                    "was designed in 1893 by the engineer Mirela Dragan.\n", encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n")
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00")
    page.set_input_files("#upload input[type=file]", [str(good), str(broken), str(program)])
    status = page.locator("#upload-status")
    status.get_by_text("Index updated").wait_for(timeout=180_000)
    text = status.inner_text()
    assert "uploads/lighthouse-notes.md" in text
    assert re.search(r"broken\.pdf.*PDF", text) and re.search(r"tool\.exe.*\.exe", text)
    assert (app.docs_dir / "uploads" / "lighthouse-notes.md").is_file()
    assert not (app.docs_dir / "uploads" / "broken.pdf").exists()

    ask(page, app, "Who designed the lamp of the Kelloway Point lighthouse?", 0)
    found = cards(page)
    assert any("uploads/lighthouse-notes.md" in c["loc"] and "Mirela Dragan" in c["quote"]
               for c in found)
    page.click("#filter input")
    assert page.get_by_role("option", name=re.compile("Kelloway Point lighthouse")).count() == 1
    page.keyboard.press("Escape")


def test_hostile_document_is_shown_as_text(page, app: App, tmp_path: Path) -> None:
    hostile = tmp_path / "quartermaster.md"
    hostile.write_text(HOSTILE, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", [str(hostile)])
    page.locator("#upload-status").get_by_text("Index updated").wait_for(timeout=180_000)
    ask(page, app, "Where is the vault code kept?", 0)
    page.locator("#sources .src").first.get_by_role("button", name="Show in document").click()
    page.locator("#document mark").wait_for(timeout=30_000)
    page.wait_for_timeout(500)

    assert page.evaluate("window.__pwned") is None
    for where in ("#chat", "#sources", "#document"):
        assert page.locator(f"{where} img[src*='evil']").count() == 0
        assert page.locator(f"{where} script").count() == 0
    quote = page.locator("#sources mark").first.text_content() or ""
    for literal in ("<script>window.__pwned = 1</script>", "![tracker](http://evil.example/",
                    "onerror=\"window.__pwned = 2\"", "${window.__pwned = 3} {{constructor}}"):
        assert literal in quote
        assert literal in (page.locator("#document .doc-text").text_content() or "")
    assert "<script>window.__pwned = 1</script>" in last_answer(page)
    assert "![tracker](http://evil.example/tracker.png)" in last_answer(page)


OPTIONS_PAGE = """<html><head><title>git-gc(1)</title></head><body><h1>git-gc(1)</h1>
<h2>OPTIONS</h2><dl>
<dt>--aggressive</dt>
<dd><p>Usually git gc runs very quickly while providing good disk space utilization and
performance. This option will cause git gc to more aggressively optimize the repository at
the expense of taking much more time.</p></dd>
<dt>--prune=&lt;date&gt;</dt>
<dd><p>Prune loose objects older than date (default is 2 weeks ago).</p></dd>
</dl></body></html>
"""


def test_an_option_is_quoted_with_its_name_and_highlighted_whole(page, app: App,
                                                                tmp_path: Path) -> None:
    """A description quoted with the option above it (answer units): one quote over two
    paragraphs, marked whole in Sources and in the document view."""
    manual = tmp_path / "git-gc.html"
    manual.write_text(OPTIONS_PAGE, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", [str(manual)])
    page.locator("#upload-status").get_by_text("Index updated").wait_for(timeout=180_000)
    ask(page, app, "Which git gc option optimizes the repository harder at the cost of time?", 0)
    assert "--aggressive" in last_answer(page)
    card = next(c for c in cards(page) if "uploads/git-gc.html" in c["loc"])
    quote = card["quote"]
    assert quote.startswith("--aggressive") and quote.endswith("taking much more time.")
    assert "\n\n" in quote  # the option's line and its description: two paragraphs
    source_card = page.locator("#sources .src").filter(has_text="git-gc.html").first
    source_card.get_by_role("button", name="Show in document").click()
    mark = page.locator("#document mark")
    mark.first.wait_for(timeout=30_000)
    assert "".join(m.text_content() or "" for m in mark.all()) == quote


SIGNALS_PAGE = """<html><head><title>Process signals</title></head><body><h1>Process signals</h1>
<p>The kill command sends a signal to a process. These are the signals used most often.</p>
<table><thead><tr><th>signal number</th><th>signal name</th><th>meaning</th></tr></thead>
<tbody><tr><td>1</td><td>SIGHUP</td><td>hang up: the controlling terminal was closed</td></tr>
<tr><td>9</td><td>SIGKILL</td><td>kill the process at once; it cannot be caught or ignored</td></tr>
<tr><td>15</td><td>SIGTERM</td><td>ask the process to terminate cleanly</td></tr></tbody></table>
</body></html>
"""
PACKAGES_PAGE = """<html><head><title>Listing packages</title></head><body>
<h1>Listing packages</h1>
<p>To list the installed packages with their versions, run:</p>
<pre>$ dpkg-query -W -f='${Package} ${Version}\\n'
$ dpkg -l | less</pre>
</body></html>
"""
HEADER = "signal number | signal name | meaning"
ROW = "9 | SIGKILL | kill the process at once; it cannot be caught or ignored"
COMMANDS = "$ dpkg-query -W -f='${Package} ${Version}\\n'\n$ dpkg -l | less"


def upload_page(page, tmp_path: Path, name: str, html: str) -> None:
    manual = tmp_path / name
    manual.write_text(html, encoding="utf-8")
    page.set_input_files("#upload input[type=file]", [str(manual)])
    page.locator("#upload-status").get_by_text("Index updated").wait_for(timeout=180_000)


def test_a_table_row_is_quoted_with_its_header_row(page, app: App, tmp_path: Path) -> None:
    """Layout kept as data: a table row's quote shows its table's header row, in the answer
    and as the first span of its source, each span exact and marked in the document view."""
    upload_page(page, tmp_path, "signals.html", SIGNALS_PAGE)
    ask(page, app, "Which signal number is SIGKILL?", 0)
    cited = re.search(re.escape(f"{HEADER} \u2026 {ROW} [") + r"(\d)\]", last_answer(page))
    assert cited, last_answer(page)
    card = page.locator(f"#sources #src-{cited.group(1)}")
    assert "signals.html" in card.locator(".src-loc").inner_text()
    assert [m.text_content() for m in card.locator("mark").all()] == [HEADER, ROW]
    assert card.locator(".src-gap").count() == 1  # the header, then "…", then the row
    card.get_by_role("button", name="Show in document").click()
    marks = page.locator("#document mark")
    marks.first.wait_for(timeout=30_000)
    assert [m.text_content() for m in marks.all()] == [HEADER, ROW]


def test_a_command_quote_keeps_its_lines_in_monospace(page, app: App, tmp_path: Path) -> None:
    """A listing quoted with the sentence that introduces it: the chat shows the commands as
    code, line for line, and so does Sources (monospace, line breaks kept, exact text)."""
    upload_page(page, tmp_path, "packages.html", PACKAGES_PAGE)
    ask(page, app, "How do I list the installed packages with their versions?", 0)
    bot = page.locator("#chat [data-testid='bot']").last
    code = bot.locator("pre code").first
    code.wait_for(timeout=30_000)
    assert code.inner_text().strip() == COMMANDS  # the exact lines, one under the other
    assert "To list the installed packages with their versions, run:" in last_answer(page)
    card = page.locator("#sources .src").filter(has_text="packages.html").first
    quote = card.locator("mark").first.text_content() or ""
    assert quote == "To list the installed packages with their versions, run:\n\n" + COMMANDS
    src_code = card.locator("mark code.src-code")
    assert src_code.text_content() == COMMANDS
    style = src_code.evaluate("e => [getComputedStyle(e).whiteSpace, getComputedStyle(e).fontFamily]")
    assert style[0] == "pre-wrap" and "mono" in style[1].lower(), style
    box = src_code.bounding_box()
    assert box is not None and box["height"] > 1.5 * float(
        src_code.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 16"))  # two lines
