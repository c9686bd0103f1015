"""The chat's named API endpoints through gradio_client, against the real app behind a login.

The app starts with no index, so this also covers "built first on start-up".
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request

import pytest
from conftest import DOCS_SRC, SEED
from ui_server import App, start_app

from assistant import store

AUTH = ("reader", "correct horse battery")
REVIEW = "What did the independent review of Rotherham find?"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    work = tmp_path_factory.mktemp("api")
    docs = work / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    served = start_app(work, docs, work / "index", auth=":".join(AUTH))
    print(f"\n[timing] python app.py (no index: built first) -> HTTP 200: "
          f"{served.ready - served.started:.1f} s")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def client(app: App):
    from gradio_client import Client

    return Client(app.url, auth=AUTH, verbose=False)


def test_index_is_built_on_first_start(app: App) -> None:
    assert store.exists(app.index_dir)


def test_ask_returns_exact_citations(app: App, client) -> None:
    text = (app.docs_dir / SEED).read_text(encoding="utf-8")
    result = client.predict(question=REVIEW, api_name="/ask")
    assert result["found"] and "[1]" in result["answer"]
    seed = [c for c in result["citations"] if c["source"].endswith(SEED)]
    assert seed
    for c in result["citations"]:
        assert f"[{c['n']}]" in result["answer"]
        assert "path" not in c  # server paths stay on the server
    for c in seed:
        assert text[c["start"]:c["end"]] == c["quote"]
        line = text.count("\n", 0, c["start"]) + 1
        end = text.count("\n", 0, c["end"]) + 1
        assert c["line_start"] == line and c["line_end"] == end
        assert (f"line {line}" if end == line else f"lines {line}\u2013{end}") in c["locator"]
        assert c["plain"].endswith(f"({c['source']}, {c['locator']})")
        assert c["markdown"].startswith("> ")
        assert c["csl"]["label"] == "line" and c["csl"]["locator"].split("-")[0] == str(line)
        assert c["csl"]["title"] == "Praise for Rotherham fight against child sex abuse"


def test_followup_and_document_filter(client) -> None:
    docs = client.predict(api_name="/documents")
    by_source = {d["source"].split("/", 1)[1]: d["doc_id"] for d in docs}
    first = client.predict(question=REVIEW, api_name="/ask")
    follow = client.predict(question="And who led it?", history=[[REVIEW, first["answer"]]],
                            api_name="/ask")
    assert any("Steve Ashley" in c["quote"] for c in follow["citations"])

    only = by_source["black-death.pdf"]
    r = client.predict(question="How did the Black Death spread?", doc_ids=[only],
                       api_name="/ask")
    assert r["citations"] and {c["doc_id"] for c in r["citations"]} == {only}
    assert all(c["page_start"] is not None and c["locator"].startswith("p") for c in r["citations"])


def test_empty_question_is_refused_kindly(client) -> None:
    with pytest.raises(Exception, match="Please type a question"):
        client.predict(question="   ", api_name="/ask")


def test_login_is_required(app: App) -> None:
    from gradio_client import Client

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(app.url + "config", timeout=10)
    assert err.value.code == 401
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do; the 401 is checked above
        Client(app.url, verbose=False).predict(question=REVIEW, api_name="/ask")
