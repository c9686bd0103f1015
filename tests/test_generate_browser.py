"""The page switches generators per question: real app, real llama.cpp server, real Chromium."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import DATA, make_assistant
from ui_server import CHROMIUM, CHROMIUM_FLAGS, App, start_app

pytestmark = [pytest.mark.browser, pytest.mark.llm]

DOCS = DATA / "generate"
QUESTION = "When did the Kelling harbour bridge open?"


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder, llm_server) -> App:
    work = tmp_path_factory.mktemp("gen-ui")
    docs = work / "docs_src"
    shutil.copytree(DOCS, docs)
    make_assistant(work / "index", embedder, docs).index(docs)
    served = start_app(work, docs, work / "index", extra_env={
        "ASSISTANT_LLM_BASE_URL": llm_server, "ASSISTANT_LLM_TIMEOUT": "120",
        "ASSISTANT_LLM_MAX_TOKENS": "96"})
    yield served
    served.stop()


@pytest.fixture
def page(app: App, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        requests: list[str] = []
        errors: list[str] = []
        ctx.on("request", lambda r: requests.append(r.url))
        pg = ctx.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(app.url)
        pg.wait_for_selector("#question textarea", timeout=60_000)
        pg.wait_for_load_state("networkidle")
        yield pg
        ctx.close()
    assert [u for u in requests if not u.startswith(app.url)] == []
    assert errors == []


def ask(page, question: str, turn: int) -> str:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_selector(f"#sources .sources[data-turn='{turn}']", timeout=180_000)
    return page.locator("#chat [data-testid='bot']").last.inner_text()


def choose(page, generator: str) -> None:
    page.locator("#generator label", has_text=generator).click()
    assert page.locator(f"#generator input[value='{generator}']").is_checked()


def check_sources(page, answer: str) -> None:
    """Every [n] in the answer has its source card, and every card's quote is in a document."""
    marks = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer)})
    cards = page.locator("#sources .src")
    assert [int(cards.nth(i).locator(".src-n").inner_text().strip("[]"))
            for i in range(cards.count())] == marks
    texts = [f.read_text(encoding="utf-8") for f in DOCS.glob("*.txt")]
    for i in range(cards.count()):
        quote = cards.nth(i).locator("mark").text_content() or ""
        assert quote and any(quote in t for t in texts)


def test_switching_generators_per_question(page, app: App) -> None:
    extractive = ask(page, QUESTION, 0)
    assert "1894" in extractive and "unverified" not in extractive
    check_sources(page, extractive)

    choose(page, "openai")
    generated = ask(page, QUESTION, 1)
    assert generated.strip() and generated != extractive
    assert "extractive answer is shown instead" not in generated  # the server did answer
    check_sources(page, generated)

    choose(page, "extractive")
    again = ask(page, QUESTION, 2)
    assert again == extractive
