"""The running app under load: concurrent clients, and questions during an upload.

One real `python app.py` for the module, started with no index (so it builds
one first), asked through its named API with gradio_client on 127.0.0.1.
bench/load.py runs the bigger version of the load test and reports timings.
"""

from __future__ import annotations

import importlib.util
import random
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest
from conftest import DOCS_SRC, ROOT, SEED
from ui_server import CHROMIUM, CHROMIUM_FLAGS, App, start_app

from assistant import store

SEED_Q = "Who carried out the review?"
SEED_A = "Steve Ashley"
LOAD_QUESTIONS = [SEED_Q, "What did the review of Rotherham find?",
                  "Where is the multi-agency team based?", "What bill is the council facing?"]


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    work = tmp_path_factory.mktemp("load")
    docs = work / "docs_src"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)  # one small document: 2 CPU cores
    assert not (work / "index").exists()
    served = start_app(work, docs, work / "index")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def client(app: App):
    from gradio_client import Client

    return Client(app.url, verbose=False, download_files=False)


def test_app_started_without_an_index_builds_one_first(app: App, client) -> None:
    assert store.exists(app.index_dir)
    log = app.log_tail(20_000)
    assert "no index in" in log and "building it from" in log
    reply = client.predict(question=SEED_Q, api_name="/ask")
    assert reply["found"] and any(SEED_A in c["quote"] for c in reply["citations"])


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) with a socket listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(addr)
    return found


def test_listens_on_loopback_only(app: App) -> None:
    port = int(re.search(r":(\d+)/", app.url).group(1))
    addrs = _listening(port)
    assert addrs, "nothing listens on the app's port"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(addrs) <= loopback, addrs


def test_concurrent_clients_are_all_answered_without_error(app: App) -> None:
    bench = _bench_load()
    result = bench.run(app.url, clients=5, questions=4, timeout=300, asked=LOAD_QUESTIONS,
                       baseline=False)
    assert result.errors == 0, result.error_messages
    assert result.requests == 20 and sum(len(a) for a in result.answers.values()) == 20
    assert result.found == 20
    # Under load every client gets the same answer to the same question.
    for question, replies in result.answers.items():
        assert len(set(replies)) == 1, (question, replies)


def _generated_document(path: Path, paragraphs: int) -> None:
    """Unique prose (so every passage must be embedded), with one findable fact."""
    rng = random.Random(3)
    vocab = sorted(set(re.findall(r"[a-z]{3,}", (DOCS_SRC / SEED).read_text().lower())))
    paras = ["# Survey of the Tamsin estate",
             "The surveyor of the Tamsin estate recorded that the old granary was rebuilt "
             "in 1821 by the mason Ottoline Varga."]
    for _ in range(paragraphs):
        paras.append(" ".join(" ".join(rng.choice(vocab) for _ in range(rng.randint(12, 22)))
                              .capitalize() + "." for _ in range(6)))
    path.write_text("\n\n".join(paras) + "\n", encoding="utf-8")


@pytest.mark.browser
def test_questions_are_answered_while_an_upload_is_indexed(
        app: App, client, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import sync_playwright

    upload = tmp_path / "tamsin-survey.md"
    _generated_document(upload, paragraphs=160)  # ~110 passages for the model to embed
    stored = app.docs_dir / "uploads" / upload.name
    live = (app.index_dir / "CURRENT").read_text()
    replies: list[tuple[bool, dict]] = []  # (asked and answered while indexing, reply)
    failures: list[BaseException] = []
    done = threading.Event()

    def indexing() -> bool:
        """The upload is stored and being indexed: the live index is still the old one."""
        return stored.exists() and (app.index_dir / "CURRENT").read_text() == live

    def keep_asking() -> None:
        while not done.is_set():
            before = indexing()
            try:
                reply = client.predict(question=SEED_Q, api_name="/ask")
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test below
                failures.append(exc)
                return
            replies.append((before and indexing(), reply))

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-load")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS)
        try:
            page = ctx.new_page()
            page.goto(app.url)
            page.wait_for_selector("#upload input[type=file]", state="attached", timeout=60_000)
            asker = threading.Thread(target=keep_asking)
            asker.start()
            try:
                page.set_input_files("#upload input[type=file]", [str(upload)])
                page.locator("#upload-status").get_by_text("Index updated").wait_for(
                    timeout=300_000)
            finally:
                done.set()
                asker.join(timeout=120)
            status = page.locator("#upload-status").inner_text()
        finally:
            ctx.close()
    assert not failures, failures[0]
    assert f"uploads/{upload.name}" in status
    during = [r for indexing, r in replies if indexing]
    assert len(during) >= 2, f"{len(during)} answers while indexing, {len(replies)} in all"
    for _, reply in replies:
        assert reply["found"] and any(SEED_A in c["quote"] for c in reply["citations"])
    # And the upload itself is answerable once indexed.
    reply = client.predict(question="Who rebuilt the old granary of the Tamsin estate?",
                           api_name="/ask")
    assert reply["found"]
    top = reply["citations"][0]
    assert top["source"].endswith(f"uploads/{upload.name}") and "Ottoline Varga" in top["quote"]
    text = stored.read_text(encoding="utf-8")
    assert text[top["start"]:top["end"]] == top["quote"]
