"""The web chat, unchanged, on the Milvus store: `python app.py` with ASSISTANT_STORE=milvus.

The app builds its own index at start (milvus-lite serves one process per .db
file, so this test process never opens it while the app runs), then a real
headless Chromium asks, reads the cited quotes and opens one in its document.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import DOCS_SRC, SEED
from test_ui_browser import REVIEW, SEED_TEXT, expected_lines
from ui_server import App, ask, cards, last_answer, start_app

from assistant import store
from assistant.config import Settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    work = tmp_path_factory.mktemp("ui-milvus")
    docs = work / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    served = start_app(work, docs, work / "index", extra_env={
        "ASSISTANT_STORE": "milvus", "ASSISTANT_MILVUS_URI": str(work / "milvus.db")})
    served.first_answer = None  # type: ignore[attr-defined]
    yield served
    served.stop()


def test_the_chat_answers_with_exact_quotes_from_the_milvus_store(page, app: App) -> None:  # noqa: F811
    ask(page, app, REVIEW, 0)
    assert "[1]" in last_answer(page)
    found = cards(page)
    seed = [c for c in found if SEED in c["loc"]]
    assert seed, found
    for c in seed:
        assert c["quote"] and c["quote"] in SEED_TEXT
        assert expected_lines(SEED_TEXT, c["quote"]) in c["loc"]
    first = page.locator("#sources .src").first
    first.get_by_role("button", name="Show in document").click()
    mark = page.locator("#document mark")
    mark.wait_for(timeout=30_000)
    shown = page.evaluate("""() => { const m = document.querySelector('#document mark')
        .cloneNode(true); m.querySelectorAll('.ln, .page').forEach(e => e.remove());
        return m.textContent; }""")  # the quote without the line numbers shown beside it
    assert shown == found[0]["quote"]
    app.stop()  # milvus-lite: one process per .db; now this one may open it
    assert store.backend_of(app.index_dir) == "milvus"
    s = store.load(app.index_dir, None, Settings.load(
        env={}, store="milvus", milvus_uri=str(app.index_dir.parent / "milvus.db")))
    assert any(src.endswith(SEED) for _, _, src in s.listing()) and len(s) > 0
    s.close()
