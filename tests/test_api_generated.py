"""The OpenAI-compatible API when the server generates its answers (ASSISTANT_GENERATOR=openai),
against the real app (`python app.py`) and a real llama.cpp server (SmolLM2-135M), through the
official `openai` client; the chat's own answer comes from its /ask through `gradio_client`.

The generator asks the model with temperature 0 (greedy), so one question gets the same draft
every time: the API's answer can be compared with the chat's, word for word. SmolLM2 writes
poor answers, so what is asserted is structure and verification (exact quotes, markers that
point at their citations, `verified` set on every citation), never wording.

A second app's generator is a closed port: the API then answers with the extractive answer
and the chat's note, in `message.notes`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from typing import Any

import openai
import pytest
from conftest import DATA, make_assistant
from llmserver import free_port
from ui_server import App, start_app

from assistant.types import MARKER, Statement

DOCS = DATA / "generate"
KEY = "sk-gen-5c0ffee1d2"
QUESTION = "When did the Kelling harbour bridge open?"


def _app(work, extra: dict[str, str]) -> App:
    docs = work / "docs"
    shutil.copytree(DOCS, docs)
    return start_app(work, docs, work / "index", extra_env={
        "ASSISTANT_API_KEYS": KEY, "ASSISTANT_GENERATOR": "openai",
        "ASSISTANT_LLM_MAX_TOKENS": "64", **extra})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, llm_server: str) -> App:
    served = _app(tmp_path_factory.mktemp("api-gen"), {
        "ASSISTANT_LLM_BASE_URL": llm_server, "ASSISTANT_LLM_TIMEOUT": "180"})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


@pytest.fixture(scope="module")
def dead(tmp_path_factory: pytest.TempPathFactory, dead_url: str) -> App:
    """The same app, its generator a closed port."""
    served = _app(tmp_path_factory.mktemp("api-gen-dead"), {
        "ASSISTANT_LLM_BASE_URL": dead_url, "ASSISTANT_LLM_TIMEOUT": "2"})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def index(app: App, embedder):
    """The server's index opened here, read-only: the document texts the offsets point into."""
    return make_assistant(app.index_dir, embedder, app.docs_dir).answerer


def _client(app: App) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url + "v1", api_key=KEY, max_retries=0, timeout=300)


def _chat(app: App, **kwargs: Any) -> dict[str, Any]:
    """The chat's own answer (its /ask), as the page gives it."""
    from gradio_client import Client

    return Client(app.url, verbose=False).predict(question=QUESTION, api_name="/ask", **kwargs)


@pytest.fixture(scope="module")
def answered(app: App) -> tuple[Any, dict[str, Any]]:
    """One generated answer through the API (not streamed) and the chat's to the same question."""
    done = _client(app).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}])
    return done, _chat(app)


def assert_exact(cite: dict[str, Any], index, app: App) -> None:
    """quote == document_text[start:end] for the citation and each of its spans, and against
    the text file itself; the content hash is the file's."""
    doc = index.document(cite["doc_id"])
    assert doc is not None
    assert doc.text[cite["start"]:cite["end"]] == cite["quote"]
    assert cite["spans"] and cite["spans"][0]["quote"] == cite["quote"]
    file = app.docs_dir / cite["path"].split("/", 1)[1]
    text = file.read_text(encoding="utf-8-sig")
    assert text[cite["start"]:cite["end"]] == cite["quote"]
    for s in cite["spans"]:
        assert doc.text[s["start"]:s["end"]] == s["quote"] == text[s["start"]:s["end"]]
    assert cite["content_hash"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert cite["id"] == f"{cite['doc_id']}:{cite['chunk_id']}"


def assert_generated(content: str, cites: list[dict], annotations: list[dict], index,
                     app: App) -> None:
    """A checked, generated answer: markers 1..N each with its citation and its annotation,
    every citation exact and verified true or false, unverified ones marked in the text."""
    marks = list(MARKER.finditer(content))
    assert marks, content  # the checked answer cites
    numbers = [c["n"] for c in cites]
    assert numbers == list(range(1, len(cites) + 1))
    assert {int(m.group(1)) for m in marks} == set(numbers)  # no marker without a citation
    for c in cites:
        assert_exact(c, index, app)
        assert c["verified"] in (True, False)  # checked: a generated answer, not extractive
        if c["verified"] is False:
            assert re.search(rf"\[{c['n']}\](\[\d+\])* \(unverified\)", content)
    by_n = {c["n"]: c for c in cites}
    assert [(a["file_citation"]["start_index"], a["file_citation"]["end_index"])
            for a in annotations] == [m.span() for m in marks]  # one per marker, in order
    for a in annotations:
        f = a["file_citation"]
        assert a["type"] == "file_citation"
        assert content[f["start_index"]:f["end_index"]] == f"[{f['n']}]"
        c = by_n[f["n"]]
        assert (f["id"], f["file_id"], f["filename"], f["quote"], f["locator"]) == \
            (c["id"], c["doc_id"], c["path"], c["quote"], c["locator"])


def _same_citations(api: list[dict], chat: list[dict]) -> None:
    keys = ("n", "doc_id", "chunk_id", "quote", "start", "end", "verified", "unsupported")
    assert [tuple(c[k] for k in keys) for c in api] == [tuple(c[k] for k in keys) for c in chat]
    assert [[(s["quote"], s["start"], s["end"]) for s in c["spans"]] for c in api] == \
        [[(s["quote"], s["start"], s["end"]) for s in c["spans"]] for c in chat]


@pytest.mark.llm
def test_generated_answer_is_checked_and_the_chats(answered, index, app: App) -> None:
    done, chat = answered
    msg = done.choices[0].message
    assert done.choices[0].finish_reason == "stop" and msg.role == "assistant"
    cites = msg.model_extra["citations"]
    assert_generated(msg.content, cites, [a.to_dict() for a in msg.annotations], index, app)
    assert msg.model_extra["found"] is True and msg.model_extra["notes"] == chat["notes"]
    assert not any("extractive answer is shown instead" in n for n in chat["notes"])
    # Greedy decoding: the chat's /ask gets the same draft, so the same checked answer.
    assert chat["fallback"] is False and chat["checked"] > 0
    assert msg.content == chat["answer"]
    _same_citations(cites, chat["citations"])
    # Generated, not the extractive answer (which quotes the document and verifies nothing).
    extractive = _chat(app, generator="extractive")
    assert all(c["verified"] is None for c in extractive["citations"])
    assert msg.content != extractive["answer"]
    assert done.usage.completion_tokens > 0


@pytest.mark.llm
def test_stream_sends_the_checked_sentences_then_the_sources(answered, index, app: App) -> None:
    done, chat = answered
    whole = done.choices[0].message
    chunks = list(_client(app).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}], stream=True,
        stream_options={"include_usage": True}))
    with_choices = [c for c in chunks if c.choices]
    pieces = [c.choices[0].delta.content for c in with_choices if c.choices[0].delta.content]
    text = "".join(pieces)
    assert text == whole.content  # the checked answer, not the model's draft
    # One delta per checked sentence, each with its markers and its (unverified) mark.
    assert [p.strip() for p in pieces] == [
        Statement(s["text"], tuple(s["cited"]), s["verified"]).render()
        for s in chat["sentences"]]
    with_sources = [c for c in with_choices if c.choices[0].delta.model_extra
                    and "citations" in c.choices[0].delta.model_extra]
    assert len(with_sources) == 1 and with_sources[0] is with_choices[-1]
    assert with_sources[0].choices[0].finish_reason == "stop"
    extra = with_sources[0].choices[0].delta.model_extra
    assert_generated(text, extra["citations"], extra["annotations"], index, app)
    assert extra["citations"] == whole.model_extra["citations"]
    assert extra["annotations"] == [a.to_dict() for a in whole.annotations]
    assert extra["notes"] == whole.model_extra["notes"] and extra["found"] is True
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_unreachable_generator_gets_the_extractive_answer_and_a_note(dead: App,
                                                                    dead_url: str) -> None:
    client = _client(dead)
    t0 = time.monotonic()
    done = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}])
    assert time.monotonic() - t0 < 60  # a hang guard, not a benchmark
    msg = done.choices[0].message
    extractive = _chat(dead, generator="extractive")
    assert msg.content == extractive["answer"] and "1894" in msg.content
    cites = msg.model_extra["citations"]
    _same_citations(cites, extractive["citations"])
    assert cites and all(c["verified"] is None for c in cites)
    notes = msg.model_extra["notes"]
    assert len(notes) == 1 and f"cannot reach the generator at {dead_url}" in notes[0]
    assert notes[0].endswith("; the extractive answer is shown instead")
    assert msg.model_extra["found"] is True
    chat = _chat(dead)  # the chat's own answer with the server's generator: the same note
    assert chat["fallback"] is True and chat["notes"] == notes and chat["answer"] == msg.content
    # Streamed: the same text, the note in the chunk with the sources.
    chunks = list(client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == msg.content
    assert chunks[-1].choices[0].delta.model_extra["notes"] == notes
