"""The web chat against hostile use (issue 25): one real `python app.py` behind a login.

Every test talks HTTP to the running app as the page does (login, /config, file
upload, then events through the queue), or through gradio_client's named API:
concurrent "Save reference" clicks, a damaged references.json, the page's
config and the sealed conversation, error messages, other origins, upload
limits and the reference editor's list of documents.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import make_assistant
from ui_server import App, start_app

AUTH = ("editor", "quiet harbour 42")
LIMITS = {"ASSISTANT_MAX_UPLOAD_FILES": "3", "ASSISTANT_MAX_UPLOAD_TOTAL_MB": "1"}
DOCKS = [f"Dock {n} of the port of Tamsin handles {crop} from the {side} quay."
         for n, crop, side in zip(range(8), ["grain", "timber", "coal", "salt", "wool", "tea",
                                             "iron", "cotton"],
                                  ["north", "south", "east", "west"] * 2, strict=True)]
QUESTION = "What does dock 3 of the port of Tamsin handle?"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, embedder) -> App:
    work = tmp_path_factory.mktemp("hostile")
    docs = work / "docs"
    docs.mkdir()
    for i, text in enumerate(DOCKS):
        (docs / f"dock{i}.txt").write_text(text + "\n", encoding="utf-8")
    make_assistant(work / "index", embedder, docs).index(docs)
    served = start_app(work, docs, work / "index", auth=":".join(AUTH), extra_env=LIMITS)
    yield served
    served.stop()


class Page:
    """The HTTP calls the chat page makes, logged in: config, uploads, events by element."""

    def __init__(self, app: App, origin: str | None = None) -> None:
        import httpx

        self.url = app.url
        headers = {"Origin": origin} if origin else {}
        self.http = httpx.Client(timeout=120, headers=headers)
        r = self.http.post(self.url + "login", data={"username": AUTH[0], "password": AUTH[1]})
        r.raise_for_status()
        self.config = self.http.get(self.url + "config").json()
        self.ids = {c["props"]["elem_id"]: c["id"] for c in self.config["components"]
                    if c.get("props", {}).get("elem_id")}
        self.conv_id = next(c["id"] for c in self.config["components"]
                            if c.get("type") == "browserstate")

    def dependency(self, elem_id: str | None, event: str) -> dict:
        target = self.ids[elem_id] if elem_id else None
        return next(d for d in self.config["dependencies"]
                    if any((t[0] == target or target is None) and t[1] == event
                           for t in d["targets"]))

    def event(self, elem_id: str | None, event: str, data: list) -> dict:
        """Run the handler bound to `event` of `elem_id` (None: the page's load); the finished
        message, with `outputs` mapping each output's elem_id (or id) to its value."""
        dep = self.dependency(elem_id, event)
        session = uuid.uuid4().hex[:12]
        joined = self.http.post(self.url + "gradio_api/queue/join", json={
            "data": data, "fn_index": dep["id"], "session_hash": session, "event_data": None,
            "trigger_id": self.ids.get(elem_id or "", dep["targets"][0][0])})
        joined.raise_for_status()
        with self.http.stream("GET", self.url + f"gradio_api/queue/data?session_hash={session}",
                              timeout=120) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    names = {v: k for k, v in self.ids.items()}
                    values = (msg.get("output") or {}).get("data") or []
                    msg["outputs"] = {names.get(i, i): v
                                      for i, v in zip(dep["outputs"], values, strict=False)}
                    return msg
        raise AssertionError("the event never completed")

    def upload(self, *files: tuple[str, bytes]) -> Any:
        return self.http.post(self.url + "gradio_api/upload",
                              files=[("files", (name, data)) for name, data in files])

    def add(self, paths: list[str]) -> dict:
        """The upload event on files already sent."""
        return self.event("upload", "upload", [[
            {"path": p, "orig_name": Path(p).name, "meta": {"_type": "gradio.FileData"}}
            for p in paths], None])  # the files, the collection (None: the user's first)

    def save_reference(self, doc_id: str, title: str, publisher: str = "") -> dict:
        return self.event("ref-save", "click", [doc_id, None, None, title, "", "", "",
                                                publisher, "", ""])


def error_of(msg: dict) -> str:
    assert msg.get("success") is False, msg
    return str((msg.get("output") or {}).get("error"))


def markdown_text(value: Any) -> str:
    """A Markdown component's value as it reads (the chat escapes Markdown characters)."""
    text = value.get("value", "") if isinstance(value, dict) else str(value)
    return text.replace("\\", "")


@pytest.fixture(scope="module")
def page(app: App) -> Page:
    return Page(app)


@pytest.fixture(scope="module")
def docs_by_name(app: App) -> dict[str, str]:
    from gradio_client import Client

    client = Client(app.url, auth=AUTH, verbose=False)
    return {d["source"].rsplit("/", 1)[1]: d["doc_id"]
            for d in client.predict(api_name="/documents")}


def ask(app: App, question: str = QUESTION) -> dict:
    from gradio_client import Client

    return Client(app.url, auth=AUTH, verbose=False).predict(question=question, api_name="/ask")


# --- references.json ----------------------------------------------------------------

def test_concurrent_reference_saves_through_the_page(app: App, docs_by_name) -> None:
    """8 clients click "Save reference" 10 times each at once: four on a document each, four on
    one document together. Every save succeeds, references.json stays valid and holds each
    client's last value, and questions are still answered."""
    refs = app.docs_dir / "references.json"
    refs.unlink(missing_ok=True)
    pages = [Page(app) for _ in range(8)]
    results: dict[int, list[dict]] = {i: [] for i in range(8)}
    start = threading.Barrier(8)

    def clicks(i: int) -> None:
        doc = docs_by_name[f"dock{i}.txt" if i < 4 else "dock7.txt"]
        start.wait()
        for k in range(10):
            results[i].append(pages[i].save_reference(doc, f"Client {i} save {k}"))

    threads = [threading.Thread(target=clicks, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    failed = [m for ms in results.values() for m in ms if m.get("success") is False]
    assert failed == [], failed[:2]
    assert all("Saved in references.json" in markdown_text(m["outputs"]["ref-status"])
               for ms in results.values() for m in ms)
    data = json.loads(refs.read_text(encoding="utf-8"))
    for i in range(4):
        assert data[f"dock{i}.txt"] == {"title": f"Client {i} save 9"}
    assert data["dock7.txt"]["title"] in {f"Client {i} save 9" for i in range(4, 8)}
    assert ask(app)["found"]


def test_a_damaged_references_json_never_stops_a_question(app: App, page: Page,
                                                          docs_by_name) -> None:
    refs = app.docs_dir / "references.json"
    refs.write_text('{"dock3.txt": {"title": "Salt dock"}, "dock1.txt": {"title": ',
                    encoding="utf-8")  # cut short: not valid JSON
    mark = len(app.log.read_text(encoding="utf-8", errors="replace"))
    for _ in range(2):
        answer = ask(app)
        assert answer["found"] and answer["citations"][0]["source"].endswith("dock3.txt")
        assert answer["citations"][0]["csl"]["title"] != "Salt dock"  # nothing of it applies
    log = app.log.read_text(encoding="utf-8", errors="replace")[mark:]
    assert log.count("references.json is damaged") == 1, log
    # The reference editor says so, without the server's path.
    loaded = page.event("ref-doc", "change", [docs_by_name["dock3.txt"], None])
    note = markdown_text(loaded["outputs"]["ref-status"])
    assert "references.json beside the documents is damaged" in note and "not valid JSON" in note
    assert str(app.docs_dir) not in note
    # Saving over it keeps a copy of the damaged file and writes a good one.
    damaged = refs.read_bytes()
    saved = page.save_reference(docs_by_name["dock3.txt"], "Salt dock")
    status = markdown_text(saved["outputs"]["ref-status"])
    assert "Saved in references.json" in status and "damaged file was copied to" in status
    copy = re.search(r"(\.references\.json\.damaged-[0-9-]+)", status)
    assert copy and (app.docs_dir / copy.group(1)).read_bytes() == damaged
    assert json.loads(refs.read_text(encoding="utf-8")) == {"dock3.txt": {"title": "Salt dock"}}
    assert ask(app)["citations"][0]["csl"]["title"] == "Salt dock"


# --- the page's config and the conversation ---------------------------------------------

def test_the_page_holds_no_secret_and_the_conversation_is_sealed(app: App, page: Page) -> None:
    secret = (app.index_dir / ".ui-secret").read_text(encoding="ascii").strip()
    config = page.http.get(app.url + "config").text
    html = page.http.get(app.url).text
    assert secret not in config and secret not in html
    # The conversation the browser is given is an opaque token, not the records.
    answered = page.event("question", "submit", [QUESTION, [], [], "extractive", "apa", None])
    assert answered.get("success") is not False, answered
    token = answered["outputs"][page.conv_id]
    assert isinstance(token, str) and "Tamsin" not in token and secret not in token
    # Sent back (as after a reload) it opens; changed by one character it does not.
    restored = page.event(None, "load", [token, "apa", None])
    assert QUESTION in json.dumps(restored["outputs"]["chat"])
    forged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    emptied = page.event(None, "load", [forged, "apa", None])
    assert emptied["outputs"]["chat"] == []
    records = [{"question": "planted", "text": "x", "found": False}]  # plain records: not ours
    assert page.event(None, "load", [records, "apa", None])["outputs"]["chat"] == []


# --- errors ------------------------------------------------------------------------

def test_errors_shown_to_users_hold_no_server_path(app: App, page: Page, docs_by_name) -> None:
    root = str(app.docs_dir.parent)
    refs = app.docs_dir / "references.json"
    refs.unlink(missing_ok=True)
    refs.mkdir()  # an error of ours that names the file: "cannot save .../references.json"
    try:
        shown = error_of(page.save_reference(docs_by_name["dock1.txt"], "Timber dock"))
    finally:
        refs.rmdir()
    assert "cannot save docs/references.json" in shown and root not in shown
    uploads = app.docs_dir / "uploads"
    shutil.rmtree(uploads, ignore_errors=True)
    uploads.write_text("a file where the uploads folder should be\n", encoding="utf-8")
    try:
        sent = page.upload(("pier.txt", b"The pier at Tamsin is 300 metres long.\n"))
        assert sent.status_code == 200, sent.text
        shown = error_of(page.add(sent.json()))  # unexpected: an OSError naming a path
    finally:
        uploads.unlink()
    assert shown == "Something went wrong on the server; the server log has the details."
    log = app.log_tail(20000)  # the traceback is in the server log (staging the upload failed)
    assert "Traceback" in log and ("FileExistsError" in log or "NotADirectoryError" in log)


# --- other origins -----------------------------------------------------------------

def test_only_the_page_itself_may_call_its_api(app: App, page: Page, docs_by_name) -> None:
    """A logged-in browser visiting a page of another origin (another localhost port, a
    sandboxed frame) cannot get the chat to do or tell anything: every request such a page
    makes is refused before it reaches a route."""
    import httpx

    refs = app.docs_dir / "references.json"
    refs.write_text(json.dumps({"dock5.txt": {"title": "Tea dock"}}), encoding="utf-8")
    save = page.dependency("ref-save", "click")
    for origin in ("http://localhost:9999", "http://127.0.0.1:1", "null"):
        http = httpx.Client(timeout=30)
        login = http.post(app.url + "login", data={"username": AUTH[0], "password": AUTH[1]})
        assert login.status_code == 200  # the cookie a browser would send along
        for method, path, kw in (
                ("GET", "config", {}),
                ("POST", "gradio_api/upload", {"files": {"files": ("x.txt", b"cross")}}),
                ("POST", "gradio_api/queue/join", {"json": {
                    "data": [docs_by_name["dock5.txt"], None, "Planted", "", "", "", "", "", ""],
                    "fn_index": save["id"], "trigger_id": page.ids["ref-save"],
                    "session_hash": "cross", "event_data": None}})):
            # X-Forwarded-Host: a page may add it to its request (Gradio's CORS allows any
            # header); it must not make the request look like the page's own.
            r = http.request(method, app.url + path, **kw, headers={
                "Origin": origin, "X-Forwarded-Host": origin.split("//")[-1]})
            assert r.status_code == 403, (origin, method, path, r.status_code, r.text)
            assert "only the chat's own page may call it" in r.json()["detail"]
            assert r.headers.get("access-control-allow-origin") in (None, origin)
    assert json.loads(refs.read_text(encoding="utf-8")) == {"dock5.txt": {"title": "Tea dock"}}
    same = Page(app, origin=app.url.rstrip("/"))  # the page's own origin works as before
    assert same.upload(("same.txt", b"Same origin upload.\n")).status_code == 200
    assert "Saved" in markdown_text(
        same.save_reference(docs_by_name["dock5.txt"], "Tea dock")["outputs"]["ref-status"])


# --- upload limits -----------------------------------------------------------------

def test_upload_requests_are_limited_in_files_and_size(app: App, page: Page) -> None:
    uploads = app.docs_dir / "uploads"
    before = sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else []
    body = b"Ballast stone from the Tamsin quarry. " * 12_000  # 0.45 MB each
    big = page.upload(*[(f"part{i}.txt", body) for i in range(3)])  # 1.35 MB in one request
    assert big.status_code == 413, big.text
    assert big.json()["detail"] == ("this upload is 1.3 MB; one upload may carry up to 1 MB in "
                                    "all (ASSISTANT_MAX_UPLOAD_TOTAL_MB)")
    four = page.upload(*[(f"note{i}.txt", f"Note {i} on the quay.\n".encode()) for i in range(4)])
    assert four.status_code == 200, four.text
    assert error_of(page.add(four.json())) == (
        "4 files in one upload; the limit is 3 (ASSISTANT_MAX_UPLOAD_FILES). Nothing was added.")
    sent = [page.upload((f"part{i}.txt", body)).json()[0] for i in range(3)]  # one by one
    assert error_of(page.add(sent)) == (
        "1.3 MB in one upload; the limit is 1 MB in all (ASSISTANT_MAX_UPLOAD_TOTAL_MB). "
        "Nothing was added.")
    after = sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else []
    assert after == before


# --- the reference editor's documents ---------------------------------------------------

def test_uploaded_documents_appear_in_the_reference_editor(app: App, page: Page) -> None:
    sent = page.upload(("lighthouse-log.md", b"# Lighthouse log\n\nThe Tamsin light was first "
                                             b"lit in 1861 by keeper Ada Quill.\n"))
    added = page.add(sent.json())
    assert added.get("success") is not False, added
    listed = added["outputs"]["ref-doc"]
    assert any("uploads/lighthouse-log.md" in str(c) for c in listed["choices"]), listed
    # And a page opened later lists it too.
    loaded = page.event(None, "load", [[], "apa", None])
    listed = loaded["outputs"]["ref-doc"]
    assert any("uploads/lighthouse-log.md" in str(c) for c in listed["choices"])
