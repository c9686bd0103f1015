"""Hostile files and busy uploads (issue 25): every document has a budget, parsing runs in a
worker process that is killed when it overruns, uploads are parsed once and staged, and
nothing already indexed is lost. Real files made here (tests/hostile.py), the real worker
process, the bundled model and real FAISS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, assert_exact, make_assistant
from hostile import _pdf, blank_pages_pdf, bomb_png, deep_html, inflating_docx, many_nodes_html

from assistant import store
from assistant.config import Settings
from assistant.errors import IndexLockedError, IngestError
from assistant.ingest import ocr
from assistant.ingest.base import Limits
from assistant.ingest.upload import STAGING_DIR, UPLOAD_DIR
from assistant.ingest.worker import Parser

BASE = "The old mill on the river ground wheat for the village until 1911.\n"
BASE_Q, BASE_A = "Until when did the old mill grind wheat?", "1911"


def parser(**over) -> Parser:
    """The parser an Indexer with these settings uses."""
    return Parser.of(Settings.load(env={}, **over))


def reason(p: Parser, path: Path) -> str:
    with pytest.raises(IngestError) as caught:
        p.load(path, path.parent, path.read_bytes())
    assert caught.value.path == f"{path.parent.name}/{path.name}"
    return caught.value.reason


def drawn_page_pdf(path: Path, points: int) -> Path:
    """One page of `points` x `points` pt with a drawn line and no text layer (not blank, so
    it goes to OCR)."""
    stream = b"4 w 100 100 m %d %d l S" % (points - 100, points - 100)
    path.write_bytes(_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R /Resources << >> >>"
        % (points, points),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]))
    return path


def scan_pages_pdf(path: Path, lines: list[str]) -> Path:
    """An image-only PDF, one scanned page per line of text."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=40)
    pages = []
    for line in lines:
        image = Image.new("L", (1275, 1650), 255)
        ImageDraw.Draw(image).text((100, 200), line, fill=0, font=font)
        pages.append(image)
    pages[0].save(path, "PDF", resolution=150, save_all=True, append_images=pages[1:])
    return path


def test_limits_are_the_settings_defaults() -> None:
    assert Limits.of(Settings.load(env={})) == Limits()


def test_a_page_too_large_to_render_is_not_read_and_a_large_one_is_read_smaller(tmp_path):
    p = parser(max_page_pixels=2_000_000)
    # 10,000 pt at 50 dpi is 48 MP: over the budget even at the lowest resolution.
    assert "page 1 too large to render for OCR within 2 MP at 50 dpi " \
           "(ASSISTANT_MAX_PAGE_PIXELS); not read" in reason(p, drawn_page_pdf(tmp_path / "a.pdf", 10_000))
    # 1,500 pt at 200 dpi would be 17 MP: rendered within 2 MP instead (68 dpi), and OCR'd.
    got = reason(p, drawn_page_pdf(tmp_path / "b.pdf", 1500))
    assert got.startswith("no text found, not even by OCR")
    assert "page 1 read at a lower resolution to stay within 2 MP (ASSISTANT_MAX_PAGE_PIXELS)" in got


def test_blank_pages_are_told_by_a_thumbnail_and_never_ocrd(tmp_path: Path) -> None:
    data = blank_pages_pdf(tmp_path / "blank.pdf", 2000).read_bytes()
    texts, notes = ocr.pdf_pages(data, list(range(2000)), Limits())
    assert texts == {} and notes == []  # no page went to OCR, so none used the budget
    assert reason(parser(), tmp_path / "blank.pdf").startswith("no text found, not even by OCR")


def test_ocr_stops_at_its_page_and_time_budgets_with_a_note(tmp_path: Path) -> None:
    scan = scan_pages_pdf(tmp_path / "scan.pdf", ["The lighthouse keeper logs the tides at dawn.",
                                                  "Second page.", "Third page."])
    doc = parser(ocr_max_pages=1).load(scan, tmp_path, scan.read_bytes())
    assert "lighthouse keeper" in doc.text and "Second" not in doc.text
    assert doc.ocr_pages == (1,)
    assert "OCR stopped after 1 page (ASSISTANT_OCR_MAX_PAGES is 1); pages 2-3 not read" in doc.notes
    got = reason(parser(ocr_max_seconds=0), scan)
    assert "OCR stopped after 0 s (ASSISTANT_OCR_MAX_SECONDS); pages 1-3 not read" in got


def test_images_over_the_pixel_budget_are_refused_before_decoding(tmp_path: Path) -> None:
    bomb = bomb_png(tmp_path / "bomb.png", 20_000)  # 400 MP in 420 KB
    assert "the limit is 40 MP (ASSISTANT_MAX_PAGE_PIXELS)" in reason(parser(), bomb)
    big = bomb_png(tmp_path / "big.png", 2000)
    assert reason(parser(max_page_pixels=1_000_000), big) == (
        "image is 2000 x 2000 pixels (4 MP); the limit is 1 MP (ASSISTANT_MAX_PAGE_PIXELS)")


def varied_docx(path: Path, paragraphs: int) -> Path:
    """A real Word file of random words: its XML compresses like a real document's (~3x)."""
    import random

    import docx

    r = random.Random(3)
    words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9)))
             for _ in range(3000)]
    d = docx.Document()
    for _ in range(paragraphs):
        d.add_paragraph(" ".join(r.choice(words) for _ in range(30)) + ".")
    d.save(path)
    return path


def test_a_zip_that_inflates_past_its_budget_is_refused_unread(tmp_path: Path) -> None:
    bomb = inflating_docx(tmp_path / "bomb.docx", 30)  # 120 KB on disk
    got = reason(parser(), bomb)
    assert got.startswith("a zip bomb: word/document.xml inflates 2") and got.endswith("not read")
    assert "KB to 30 MB" in got
    real = varied_docx(tmp_path / "real.docx", 4000)  # 1.8 MB of XML inflated
    assert reason(parser(max_inflated_mb=1), real) == (
        "inflates to 2 MB; the limit is 1 MB (ASSISTANT_MAX_INFLATED_MB); not read")
    assert len(parser().load(real, tmp_path, real.read_bytes()).text) > 500_000


def test_html_past_its_depth_or_element_budget_is_refused(tmp_path: Path) -> None:
    deep = deep_html(tmp_path / "deep.html", 1_000_000)
    assert reason(parser(), deep) == (
        "HTML nested over 25,000 elements deep (ASSISTANT_HTML_MAX_DEPTH); not read")
    many = many_nodes_html(tmp_path / "many.html", 5000)
    assert reason(parser(html_max_nodes=1000), many) == (
        "HTML with over 1,000 elements (ASSISTANT_HTML_MAX_NODES); not read")


def test_a_parse_past_its_time_is_killed_and_the_next_file_is_read(tmp_path: Path) -> None:
    # Within the element budget, and ~40 s of bs4 here: past 1 s on any machine.
    slow = many_nodes_html(tmp_path / "slow.html", 1_000_000)
    p = parser(parse_seconds=1, html_max_nodes=2_000_000)
    assert reason(p, slow) == "reading it took over 1 s (ASSISTANT_PARSE_SECONDS); stopped, not read"
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nA fresh worker reads the next file.\n", encoding="utf-8")
    assert "fresh worker" in p.load(good, tmp_path, good.read_bytes()).text


def test_a_parse_past_its_memory_is_stopped_and_the_next_file_is_read(tmp_path: Path) -> None:
    # 144 MP decodes to 432 MB as RGB: past a 512 MB worker once the OCR engine is counted.
    png = bomb_png(tmp_path / "big.png", 12_000)
    p = parser(parse_memory_mb=512, max_page_pixels=200_000_000)
    got = reason(p, png)
    assert "512 MB (ASSISTANT_PARSE_MEMORY_MB)" in got and got.endswith("not read")
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nStill read after the worker died.\n", encoding="utf-8")
    assert "Still read" in p.load(good, tmp_path, good.read_bytes()).text


def _base(tmp_path: Path, embedder, **over):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text(BASE, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs, **over)
    a.index()
    return a, docs


def _answers_base(a) -> None:
    answer = a.ask(BASE_Q)
    assert answer.found and BASE_A in answer.text
    assert_exact(a, answer)


def test_the_chat_answers_while_an_upload_overruns(tmp_path: Path, embedder) -> None:
    a, _ = _base(tmp_path, embedder, parse_seconds=3, html_max_nodes=2_000_000)
    # ~40 s of bs4 here, so past 3 s on any machine (150,000 nodes once fitted in 3 s on CI).
    slow = many_nodes_html(tmp_path / "slow.html", 1_000_000)
    done: list = []
    upload = threading.Thread(target=lambda: done.append(a.indexer.add_files([(slow, "slow.html")])))
    upload.start()
    answered = 0
    while upload.is_alive():
        _answers_base(a)
        answered += 1
    upload.join()
    assert answered >= 3  # the asker was never held up by the parse
    (report,) = done
    assert report.added == ()
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("slow.html", "reading it took over 3 s (ASSISTANT_PARSE_SECONDS); stopped, not read")]


def test_an_upload_is_parsed_once(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder)
    scan = scan_pages_pdf(tmp_path / "scan.pdf", ["The ferry to the island leaves at seven."])
    p = Parser.of(a.settings)
    before = p.files
    report = a.indexer.add_files([(scan, "scan.pdf")])
    assert report.added == ("docs/uploads/scan.pdf",)
    assert p.files == before + 1  # the check's parse is the one indexed (OCR ran once)
    assert (docs / UPLOAD_DIR / "scan.pdf").read_bytes() == scan.read_bytes()
    assert not (docs / UPLOAD_DIR / STAGING_DIR).exists()
    answer = a.ask("When does the ferry to the island leave?")
    assert answer.found and "seven" in answer.text
    # The next run finds the file as it was indexed: nothing to parse again.
    again = a.index()
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert p.files == before + 1


def test_an_upload_waits_for_the_lock_then_says_why(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder, upload_wait=0.5)
    f = tmp_path / "new.md"
    f.write_text("# New\n\nThe bakery opens at six.\n", encoding="utf-8")
    waits: list[float] = []
    with store.locked(a.settings.index_dir):
        with pytest.raises(IndexLockedError, match=r"waited 0 s, ASSISTANT_UPLOAD_WAIT\); try "
                                                    "again when it has finished"):
            a.indexer.add_files([(f, "new.md")], on_wait=waits.append)
    assert waits == [0.5]  # the page is told before the wait starts
    assert not (docs / UPLOAD_DIR).exists()  # nothing stored, nothing staged
    _answers_base(a)


def test_an_upload_request_over_its_limits_is_refused_whole(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder, max_upload_files=2, max_upload_total_mb=1)
    files = []
    for i in range(3):
        f = tmp_path / f"n{i}.md"
        f.write_text(f"# Note {i}\n\nA short note.\n", encoding="utf-8")
        files.append((f, f.name))
    report = a.indexer.add_files(files)
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("upload", "3 files in one upload; the limit is 2 (ASSISTANT_MAX_UPLOAD_FILES)")]
    big = []
    for i in range(2):
        f = tmp_path / f"big{i}.txt"
        f.write_bytes(b"word " * 130_000)  # 0.62 MB each: 1.2 MB together
        big.append((f, f.name))
    report = a.indexer.add_files(big)
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("upload", "1.2 MB in one upload; the limit is 1 MB in all (ASSISTANT_MAX_UPLOAD_TOTAL_MB)")]
    assert report.added == () and not (docs / UPLOAD_DIR).exists()


def test_two_uploads_of_one_name_at_once_keep_both(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder)
    reports: list = []
    facts = ["The red kite nests in the oak wood.", "The grey heron fishes by the weir."]

    def send(i: int) -> None:
        f = tmp_path / f"in{i}" / "birds.md"
        f.parent.mkdir()
        f.write_text(f"# Birds\n\n{facts[i]}\n", encoding="utf-8")
        reports.append(a.indexer.add_files([(f, "birds.md")]))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.added[0] for r in reports) == ["docs/uploads/birds (2).md", "docs/uploads/birds.md"]
    stored = sorted(p.read_text(encoding="utf-8") for p in (docs / UPLOAD_DIR).glob("*.md"))
    assert stored == sorted(f"# Birds\n\n{x}\n" for x in facts)
    for question, word in [("Where does the red kite nest?", "oak wood"),
                           ("Where does the grey heron fish?", "weir")]:
        answer = a.ask(question)
        assert answer.found and word in answer.text
        assert_exact(a, answer)


UPLOADER = """
import sys
from pathlib import Path
from assistant.config import Settings
from assistant.pipeline import Assistant
s = Settings.load(env={}, docs_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
Assistant(s).indexer.add_files([(Path(sys.argv[3]), "big.txt")])
"""


def test_kill_9_during_an_upload_leaves_nothing_for_the_next_one(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder)
    big = tmp_path / "big.txt"
    with big.open("w", encoding="utf-8") as f:  # ~3,000 chunks: a long embedding
        for i in range(40_000):
            f.write(f"Line {i} of the long ledger records a delivery of {i % 97} sacks of flour.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    proc = subprocess.Popen([sys.executable, "-c", UPLOADER, str(docs), str(a.settings.index_dir),
                             str(big)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = docs / UPLOAD_DIR / STAGING_DIR
    try:
        deadline = time.monotonic() + 120
        while not any(staging.glob("*")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the upload ended before it could be interrupted"
            time.sleep(0.05)
        assert any(staging.glob("*")), "the upload never reached the staging area"
        time.sleep(1)  # mid-embedding
        assert proc.poll() is None, "the upload finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (docs / UPLOAD_DIR / "big.txt").exists()  # never in the folder unindexed
    small = tmp_path / "small.md"
    small.write_text("# Bread\n\nThe baker proves the dough overnight.\n", encoding="utf-8")
    report = a.indexer.add_files([(small, "small.md")])
    assert report.added == ("docs/uploads/small.md",)
    assert report.index is not None and report.index.embedded == 1  # not the 3,000 chunks
    assert any(n.startswith("uploads/big.txt: an upload interrupted before it was indexed (")
               and n.endswith("was removed; upload the file again") for n in report.index.notes)
    assert not staging.exists() or not any(staging.iterdir())
    assert sorted(p.name for p in (docs / UPLOAD_DIR).iterdir() if p.is_file()) == ["small.md"]
    answer = a.ask("When does the baker prove the dough?")
    assert answer.found and "overnight" in answer.text
    _answers_base(a)


def test_the_chat_clears_interrupted_uploads_when_it_starts(tmp_path: Path, embedder) -> None:
    a, docs = _base(tmp_path, embedder)
    staging = docs / UPLOAD_DIR / STAGING_DIR
    staging.mkdir(parents=True)
    (staging / "x1y2--report.pdf").write_bytes(b"%PDF-1.4 half of it")
    with store.locked(a.settings.index_dir):  # an update is running: it is that one's to clear
        assert a.indexer.clear_interrupted_uploads() == []
    assert (staging / "x1y2--report.pdf").exists()
    assert a.indexer.clear_interrupted_uploads() == [
        "uploads/report.pdf: an upload interrupted before it was indexed (0.0 MB) was removed; "
        "upload the file again"]
    assert not any(staging.iterdir())
    _answers_base(a)
