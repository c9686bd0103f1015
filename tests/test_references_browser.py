"""References in the web chat, in a real headless Chromium against the real app.

The style picker, "Copy reference", the cited PDF page with the quote
highlighted, and the Word and references exports of the whole conversation.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import refdocs
from conftest import make_assistant
from ui_server import CHROMIUM, CHROMIUM_FLAGS, App, start_app

pytestmark = pytest.mark.browser

PDF_QUESTION = "How much container traffic did Felixstowe handle in 2021?"
HTML_QUESTION = "How much ice thickness did the Aletsch glacier lose?"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> App:
    work = tmp_path_factory.mktemp("refui")
    docs = refdocs.write(work / "docs")
    make_assistant(work / "index", embedder, docs).index(docs)
    served = start_app(work, docs, work / "index")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def page(app: App, tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, accept_downloads=True,
            permissions=["clipboard-read", "clipboard-write"],
            viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(app.url)
        pg.wait_for_selector("#question textarea", timeout=60_000)
        pg.wait_for_load_state("networkidle")
        yield pg
        assert errors == [], f"JavaScript errors: {errors}"
        ctx.close()


def ask(page, question: str, turn: int) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_selector(f"#sources .sources[data-turn='{turn}']", timeout=120_000)
    # The reference buttons are filled in by the step that follows the answer.
    page.wait_for_function("document.querySelector('#export-docx button, button#export-docx')"
                           " && !document.querySelector('#export-docx button, button#export-docx')"
                           ".disabled", timeout=60_000)


def choose_style(page, style: str) -> None:
    page.locator("#style input").click()
    page.get_by_role("option", name=style, exact=True).click()
    page.wait_for_load_state("networkidle")


def copied_reference(page) -> str:
    page.locator("#sources .src").first.get_by_role("button", name="Copy reference").click()
    return page.evaluate("navigator.clipboard.readText()")


def test_style_picker_and_copy_reference(page) -> None:
    ask(page, HTML_QUESTION, 0)
    ref = copied_reference(page)  # APA is the default
    assert ref.startswith("Moreau, C., & Keller, J. (2021). Glacier retreat in the Bernese Alps.")
    assert ref.endswith("(Moreau & Keller, 2021, para. 3)")
    choose_style(page, "bibtex")
    page.wait_for_function(
        "document.querySelector('#sources .copy-ref').dataset.copy.startsWith('@article')")
    bib = copied_reference(page)
    assert "title = {Glacier retreat in the Bernese Alps}" in bib
    assert "journal = {Journal of Alpine Studies}" in bib and "note = {paragraph 3}" in bib
    choose_style(page, "apa")


def test_pdf_citation_shows_the_page_with_the_quote_highlighted(page) -> None:
    import numpy as np
    from PIL import Image

    ask(page, PDF_QUESTION, 1)
    page.locator("#sources .src").first.get_by_role("button", name="Show in document").click()
    fig = page.locator("#document figure.page-img").first
    fig.wait_for(timeout=60_000)
    assert fig.get_attribute("data-page") == "2"
    assert int(fig.get_attribute("data-marked") or 0) > 20
    assert "the quote is highlighted" in fig.inner_text()
    src = fig.locator("img").get_attribute("src") or ""
    import base64

    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    px = np.asarray(image).astype(int)
    yellow = int(((px[..., 0] > 230) & (px[..., 1] > 200) & (px[..., 2] < 180)).sum())
    assert yellow > 500  # the highlight is painted on the page image
    assert page.locator("#document mark#cited").count() == 1  # the text view is still there


def test_conversation_exports_as_word_and_references(page, tmp_path: Path) -> None:
    import docx

    with page.expect_download() as dl:
        page.locator("#export-docx").click()
    path = tmp_path / "talk.docx"
    dl.value.save_as(path)
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert HTML_QUESTION in text and PDF_QUESTION in text
    assert "(Natarajan, 2022, p. 2)" in text
    assert "Natarajan, P. (2022). Harbour Freight Survey 2022. East Coast Port Authority." in text
    choose_style(page, "csl-json")
    page.wait_for_function(
        "document.querySelector('#sources .copy-ref').dataset.copy.trim().startsWith('[')")
    with page.expect_download() as dl:
        page.locator("#export-refs").click()
    assert dl.value.suggested_filename.endswith(".json")
    items = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert {i["title"] for i in items} >= {"Glacier retreat in the Bernese Alps",
                                           "Harbour Freight Survey 2022"}
    assert {(i["locator"], i["label"]) for i in items} >= {("2", "page"), ("3", "paragraph")}


def test_a_corrected_reference_is_saved_beside_the_documents(page, app: App) -> None:
    choose_style(page, "apa")
    page.locator("#ref-editor").get_by_text("Edit a reference").click()
    page.locator("#ref-doc input").click()
    page.get_by_role("option", name="Harbour Freight Survey 2022 (docs/survey.pdf)").click()
    title = page.locator("#ref-title textarea")
    page.wait_for_function("document.querySelector('#ref-title textarea').value !== ''")
    assert title.input_value() == "Harbour Freight Survey 2022"
    assert page.locator("#ref-authors textarea").input_value() == "Natarajan, Priya"
    page.fill("#ref-date textarea", "2023")
    page.fill("#ref-container textarea", "")
    page.fill("#ref-publisher textarea", "Port of Felixstowe")
    page.locator("#ref-save").click()
    page.wait_for_selector("#ref-status:has-text('Saved in references.json')", timeout=30_000)
    saved = json.loads((app.docs_dir / "references.json").read_text(encoding="utf-8"))
    assert saved["survey.pdf"]["issued"] == {"date-parts": [[2023]]}
    assert saved["survey.pdf"]["publisher"] == "Port of Felixstowe"
    # The conversation's sources now carry the corrected reference (the PDF is source 1 of turn 1).
    page.locator("#chat [data-testid='bot']").nth(1).click()
    page.wait_for_function("document.querySelector('#sources .sources').dataset.turn === '1'"
                           " && document.querySelector('#sources .copy-ref').dataset.copy"
                           ".includes('(2023)')", timeout=30_000)
    ref = copied_reference(page)
    assert ref.startswith("Natarajan, P. (2023). Harbour Freight Survey 2022. Port of Felixstowe.")
