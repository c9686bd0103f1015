"""Shared fixtures: the real bundled model, loaded once per session, and corpus helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from ui_server import CHROMIUM, CHROMIUM_FLAGS, App  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from assistant.types import rendered  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS_SRC = ROOT / "docs_src"
DATA = Path(__file__).resolve().parent / "data"
SEED = "rotherham-cse-review.txt"


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code reads ASSISTANT_* variables; a developer's own must not change any test."""
    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def embedder():
    from assistant.embed import load_embedder

    return load_embedder(Settings.load(env={}))


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """A real llama.cpp server (SmolLM2-135M, one thread) on a free loopback port: its /v1 URL."""
    from llmserver import llama_server

    with llama_server(tmp_path_factory.mktemp("llm")) as url:
        yield url


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A private copy of docs_src/ that a test may change."""
    dst = tmp_path / "docs_src"
    shutil.copytree(DOCS_SRC, dst)
    return dst


def make_assistant(index_dir: Path, embedder, docs_dir: Path | None = None, **over) -> Assistant:
    settings = Settings.load(env={}, index_dir=index_dir, docs_dir=docs_dir or DOCS_SRC, **over)
    return Assistant(settings, embedder=embedder)


def assert_exact(assistant: Assistant, answer) -> None:
    """Every citation's quote is exactly the document text between its offsets.

    For .txt/.md files that is checked against the file as `Path.read_text()`
    decodes it; for other formats against the extracted text in the index.
    """
    store = assistant.answerer.retriever().store
    for c in answer.citations:
        doc = store.documents[c.chunk.doc_id]
        assert doc.text[c.start:c.end] == c.quote, (c.start, c.end, c.quote)
        for p in c.parts:  # a quote of several spans (a table row and its header row)
            assert doc.text[p.start:p.end] == p.quote, (p.start, p.end, p.quote)
        if doc.format in ("txt", "md"):
            try:
                file_text = Path(doc.path).read_text(encoding="utf-8-sig")
            except UnicodeDecodeError:
                file_text = None
            if file_text is not None and "\x00" not in file_text:  # NULs: UTF-16, not UTF-8
                assert file_text[c.start:c.end] == c.quote
        assert "Hide Ad" not in c.quote
        assert f"[{c.n}]" in answer.text
    # The text is its sentences rendered: exports write in-text citations from the sentences.
    assert not answer.sentences or answer.text == rendered(answer.sentences)


@pytest.fixture(scope="module")
def docs_index(tmp_path_factory, embedder) -> Assistant:
    """docs_src/ copied to a temporary folder and indexed once per test module."""
    root = tmp_path_factory.mktemp("docs")
    docs = root / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    assistant = make_assistant(root / "index", embedder, docs)
    assistant.index()
    return assistant


def make_pdf(path: Path, pages: list[str], title: str | None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


# --- the web chat in headless Chromium: a module that defines `app` (ui_server.App) gets a
# fresh tab on it from `page` --------------------------------------------------------------

@pytest.fixture(scope="module")
def browser_context(app: App, tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS, accept_downloads=True,
            permissions=["clipboard-read", "clipboard-write"],
            viewport={"width": 1400, "height": 1000})
        ctx.requests = []  # type: ignore[attr-defined]
        ctx.on("request", lambda r: ctx.requests.append(r.url))  # type: ignore[attr-defined]
        yield ctx
        ctx.close()


@pytest.fixture
def page(app: App, browser_context):
    """A fresh tab on an empty conversation; fails the test if anything left 127.0.0.1."""
    pg = browser_context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(app.url)
    pg.evaluate("localStorage.clear()")
    pg.reload()
    pg.wait_for_selector("#question textarea", timeout=60_000)
    pg.wait_for_load_state("networkidle")  # the stored conversation has been restored
    yield pg
    pg.close()
    foreign = [u for u in browser_context.requests if not u.startswith(app.url)]
    assert foreign == [], f"requests left the app: {foreign}"
    assert errors == [], f"JavaScript errors: {errors}"
