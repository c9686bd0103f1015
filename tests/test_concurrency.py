"""Many users at once, in one process: the same answers as one at a time, and no stalls."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import DOCS_SRC, SEED, make_assistant

from assistant.errors import AssistantError

QUESTIONS = [
    "Who carried out the review?",
    "What did the independent review of Rotherham find?",
    "Who invented the steam engine?",
    "How did the Black Death spread?",
    "How large is the Amazon rainforest?",
    "When was the Victoria and Albert Museum founded?",
    "Where is the multi-agency team based?",
    "What is the capital of Mongolia?",  # not in the documents: abstains
]


def _key(answer):
    return (answer.text, answer.found, tuple((c.chunk.doc_id, c.start, c.end)
                                             for c in answer.citations))


def test_concurrent_asks_give_the_sequential_answers(tmp_path, embedder):
    a = make_assistant(tmp_path / "index", embedder)
    a.index()
    expected = {q: _key(a.ask(q)) for q in QUESTIONS}
    fresh = make_assistant(tmp_path / "index", embedder)  # first load races as well
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: (q, _key(fresh.ask(q))), QUESTIONS * 4))
    assert len(got) == 4 * len(QUESTIONS)
    for q, key in got:
        assert key == expected[q], q


def test_an_error_under_load_reaches_only_its_own_user(tmp_path, embedder):
    a = make_assistant(tmp_path / "index", embedder)
    a.index()
    asks = QUESTIONS[:4] * 3 + ["   "] * 3  # blank questions are refused with a reason

    def one(q):
        try:
            return q, a.ask(q)
        except AssistantError as exc:
            return q, exc

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, asks))
    for q, result in results:
        if q.strip():
            assert not isinstance(result, Exception), (q, result)
        else:
            assert isinstance(result, AssistantError) and "type a question" in str(result)


def test_questions_are_answered_while_an_upload_is_being_indexed(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    upload = tmp_path / "ledger.md"
    upload.write_text("# Harbour ledger\n\n" + "\n\n".join(
        f"Entry {i}: the schooner Margaret unloaded {i * 7} barrels of herring at Kelling "
        f"harbour on day {i} of the season." for i in range(200)), encoding="utf-8")
    embedding = threading.Event()
    release = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            embedding.set()
            # Hold the upload mid-embedding (index lock held) until the questions are answered.
            assert release.wait(120), "the questions never finished"

    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(
        report=a.indexer.add_files([(upload, "ledger.md")], progress=progress)))
    worker.start()
    try:
        assert embedding.wait(120)
        answers = []
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(a.ask, ["Who carried out the review?"] * 8))
        assert worker.is_alive()  # the upload was still being indexed all along
        assert all(x.found and "Ashley" in x.text for x in answers)
    finally:
        release.set()
        worker.join(300)
    report = result["report"]
    assert report.added == ("docs/uploads/ledger.md",)  # type: ignore[attr-defined]
    answer = a.ask("How many barrels of herring did the Margaret unload on day 3?")
    assert answer.found and "21 barrels" in answer.text


@pytest.mark.parametrize("workers,expected", [(0, None), (3, 3)])
def test_worker_count(workers, expected):
    import os

    from assistant.config import Settings

    n = Settings.load(env={}, workers=workers).worker_count()
    assert n == (expected or max(4, 2 * (os.cpu_count() or 1)))
