"""Two users, two collections, on the real server: B never reaches A's documents by any route.

The server is set up as an administrator would, with the real commands (`assistant
collection add`, `user add`, `grant`, `index`), then started as `python app.py`. The
checks go over HTTP (gradio_client, plain requests with and without the session cookie,
guessed file URLs) and in headless Chromium (the login form, the collection picker, the
conversation kept in the browser, exports, the history kept on the server).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from ui_server import CHROMIUM, CHROMIUM_FLAGS, App, start_app

from assistant.config import Settings
from assistant.team import Team

pytestmark = pytest.mark.browser

ALPHA = "The launch code of project Alpha is 7731, kept in the north vault.\n"
BRAVO = "The harbour of Bravo opens at six in the morning for the fishing fleet.\n"
USERS = {"alice": "alice-pass-1", "bob": "bob-pass-12", "carol": "carol-pass-1"}


def _cli(root: Path, *args: str, stdin: str = "") -> str:
    r = subprocess.run([sys.executable, "-m", "assistant", *args, "--index", str(root / "index")],
                       input=stdin, cwd=root, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def team_app(tmp_path_factory: pytest.TempPathFactory) -> App:
    root = tmp_path_factory.mktemp("team")
    for name, text in (("alpha", ALPHA), ("bravo", BRAVO)):
        (root / name).mkdir()
        (root / name / f"{name}.txt").write_text(text, encoding="utf-8")
    _cli(root, "collection", "add", "alpha", "--docs", "alpha", "--title", "Project Alpha")
    _cli(root, "collection", "add", "bravo", "--docs", "bravo", "--title", "Bravo harbour")
    for user, password in USERS.items():
        _cli(root, "user", "add", user, "--password-stdin", stdin=password + "\n")
    _cli(root, "grant", "alice", "editor", "alpha")
    _cli(root, "grant", "bob", "reader", "bravo")
    _cli(root, "grant", "carol", "reader", "alpha")
    _cli(root, "index")
    served = start_app(root, root / "unused-docs", root / "index")
    yield served
    served.stop()


def _login(app: App, user: str) -> str:
    """The session cookie a password login sets (as gradio_client logs in)."""
    data = f"username={user}&password={USERS[user]}".encode()
    with urllib.request.urlopen(urllib.request.Request(app.url + "login", data=data),
                                timeout=30) as r:
        cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    return cookie.split(";", 1)[0]


def _get(app: App, path: str, cookie: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(app.url + path.lstrip("/"),
                                 headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _options(page) -> list[str]:
    """The open dropdown's options, without the mark on the chosen one."""
    return [o.inner_text().split("\n")[-1] for o in page.get_by_role("option").all()]


def test_nobody_gets_in_without_signing_in(team_app: App) -> None:
    req = urllib.request.Request(team_app.url)
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *a, **k: None}))
    with pytest.raises(urllib.error.HTTPError) as went:
        opener.open(req, timeout=30)
    assert went.value.code == 303 and went.value.headers["Location"].startswith("login")
    for path in ("config", "gradio_api/info", "gradio_api/queue/status"):
        status, _ = _get(team_app, path)
        assert status == 401, path
    status, body = _get(team_app, "config", _login(team_app, "bob"))
    assert status == 200
    assert "alpha.txt" not in body and "7731" not in body and "Project Alpha" not in body


def test_b_never_reaches_a_s_documents_through_the_gradio_api(team_app: App) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    bob = Client(team_app.url, auth=("bob", USERS["bob"]), verbose=False)
    docs = bob.predict(api_name="/documents")
    assert [d["source"] for d in docs] == ["bravo/bravo.txt"] or \
        all("bravo" in d["source"] for d in docs)
    answer = bob.predict(question="What is the launch code of project Alpha?", api_name="/ask")
    assert "7731" not in json.dumps(answer)
    errors = []
    for name in ("alpha", "zulu"):  # A's collection, and one that does not exist
        with pytest.raises(AppError) as refused:
            bob.predict(collection=name, api_name="/documents")
        errors.append(str(refused.value).replace(name, "NAME"))
        with pytest.raises(AppError):
            bob.predict(question="What is the launch code?", collection=name, api_name="/ask")
    assert errors[0] == errors[1]  # A's collection is answered as if it did not exist
    alice = Client(team_app.url, auth=("alice", USERS["alice"]), verbose=False)
    got = alice.predict(question="What is the launch code of project Alpha?", api_name="/ask")
    assert "7731" in got["citations"][0]["quote"]


def test_guessed_file_urls_serve_nothing(team_app: App) -> None:
    bob = _login(team_app, "bob")
    alpha = team_app.docs_dir.parent / "alpha" / "alpha.txt"
    for path in (f"gradio_api/file={alpha}", f"gradio_api/file/{alpha}", f"file={alpha}",
                 "gradio_api/file=/etc/passwd"):
        for cookie in (bob, None):
            status, body = _get(team_app, path, cookie)
            assert status in (401, 403, 404), (path, status)
            assert "7731" not in body and "root:" not in body


def test_in_the_browser_each_sees_only_their_collections_and_conversations(
        team_app: App, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, accept_downloads=True, viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()

        def sign_in(user: str, password: str | None = None) -> None:
            page.goto(team_app.url)
            page.wait_for_selector("#login")
            page.fill("#username", user)
            page.fill("#password", password or USERS[user])
            page.click("#sign-in")

        sign_in("alice", "wrong-password")
        assert "Incorrect user name or password" in page.inner_text("#login-error")
        sign_in("alice")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert "Signed in as alice" in page.inner_text("#who")
        page.click("#collection input")
        assert _options(page) == ["Project Alpha"]
        page.keyboard.press("Escape")
        page.fill("#question textarea", "What is the launch code of project Alpha?")
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#sources .sources[data-turn='0']", timeout=120_000)
        assert "7731" in page.inner_text("#sources")
        with page.expect_download() as got:
            page.click("#export")
        export = got.value
        assert "7731" in Path(export.path()).read_text(encoding="utf-8")
        export_url = export.url
        alice_cookie = next(c for c in ctx.cookies() if c["name"] == "assistant-session")
        assert alice_cookie["httpOnly"] and alice_cookie["sameSite"] == "Lax"
        assert _get(team_app, export_url.removeprefix(team_app.url),
                    f"assistant-session={alice_cookie['value']}")[0] == 200

        # Bob, in the same browser after Alice signs out: nothing of hers is shown or fetched.
        page.goto(team_app.url + "logout")
        page.wait_for_selector("#login")
        status, body = _get(team_app, export_url.removeprefix(team_app.url), _login(team_app, "bob"))
        assert status == 404 and "7731" not in body
        conv_id = Team(Settings.load(env={}, index_dir=team_app.index_dir)).history.list(
            "alice")[0].id
        sign_in("bob")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.wait_for_load_state("networkidle")
        assert "7731" not in page.inner_text("#chat") and "7731" not in page.inner_text("#sources")
        page.click("#collection input")
        assert _options(page) == ["Bravo harbour"]
        page.keyboard.press("Escape")
        page.goto(team_app.url + f"?c={conv_id}")  # Alice's conversation, by its address
        page.wait_for_selector("#status :text('not one of yours')", timeout=60_000)
        assert "7731" not in page.content()
        page.click("#history-panel")
        page.click("#history input")
        assert page.get_by_role("option").count() == 0  # Bob has no conversation yet

        # Alice's conversation follows her to another browser (a fresh profile).
        other = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        tab = other.new_page()
        tab.goto(team_app.url)
        tab.fill("#username", "alice")
        tab.fill("#password", USERS["alice"])
        tab.click("#sign-in")
        tab.wait_for_selector("#question textarea", timeout=60_000)
        tab.click("#history-panel")
        tab.click("#history input")
        tab.get_by_role("option", name="What is the launch code of project Alpha?").click()
        tab.click("#history-open")
        tab.wait_for_selector("#sources .sources[data-turn='0']", timeout=60_000)
        assert "7731" in tab.inner_text("#chat")
        other.close()
        ctx.close()


@dataclass
class Request:
    """What Gradio passes as gr.Request, as far as the handlers read it."""

    username: str
    session_hash: str = "tab"


def test_readers_cannot_upload_or_edit_and_an_editor_s_upload_stays_in_its_collection(
        team_app: App, tmp_path: Path) -> None:
    import gradio as gr

    from assistant.web.controller import Chat, Page
    from assistant.web.shelf import Shelf

    names = {f.name: f.name for f in fields(Page)}
    names["ref_fields"] = [f"ref_{i}" for i in range(7)]  # type: ignore[assignment]
    team = Team(Settings.load(env={}, index_dir=team_app.index_dir))
    chat = Chat(team, Page(**names))  # type: ignore[arg-type]
    shelf = Shelf(chat)
    note = tmp_path / "memo.txt"
    note.write_text("The alpha memo says the vault opens on Fridays.\n", encoding="utf-8")
    for user, collection in (("carol", "alpha"), ("bob", "bravo"), ("bob", "alpha")):
        with pytest.raises(gr.Error):
            shelf.add_files([str(note)], collection, Request(user))
    alpha_doc = shelf.documents("alpha", Request("carol"))[0]["doc_id"]
    with pytest.raises(gr.Error, match="editor"):
        shelf.save_reference(alpha_doc, None, "alpha", Request("carol"), "Stolen title",
                             "", "", "", "", "", "")
    done = shelf.add_files([str(note)], "alpha", Request("alice"))
    assert "alpha/uploads/memo" in done["upload_status"]
    root = team_app.index_dir.parent
    assert (root / "alpha" / "uploads" / "memo.txt").exists()
    assert not list((root / "bravo").rglob("memo.txt"))
    assert [d["source"] for d in shelf.documents("bravo", Request("bob"))] == ["bravo/bravo.txt"]
    # A conversation crafted to name Alpha is not opened for Bob (page images, documents).
    crafted = {"v": 2, "user": "bob", "collection": "alpha", "id": None, "turns": []}
    assert chat.restore(crafted, "apa", None, Request("bob"))["collection"]["value"] == "bravo"
    shelf.ask("What is the launch code of project Alpha?", None, None, None, "alpha",
              Request("alice"))
    _login(team_app, "alice")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(
            team_app.url + "login", data=b"username=alice&password=wrong-one"), timeout=30)
    actions = [e.action for e in team.audit.events()]
    assert {"ask", "upload", "login", "login_failed"} <= set(actions)
    asked = [e for e in team.audit.events(action="ask") if e.user == "alice"]
    assert asked and asked[0].detail["cited"][0]["content_hash"]


def test_all_my_collections_asks_each_and_quotes_one(team_app: App) -> None:
    import gradio as gr

    from assistant.web.controller import Chat, Page
    from assistant.web.desk import ALL

    names = {f.name: f.name for f in fields(Page)}
    names["ref_fields"] = [f"ref_{i}" for i in range(7)]  # type: ignore[assignment]
    team = Team(Settings.load(env={}, index_dir=team_app.index_dir))
    chat = Chat(team, Page(**names))  # type: ignore[arg-type]
    carol = Request("carol")
    assert ALL not in [v for _, v in chat.desks.choices(team.identity("carol"))]  # one only
    team.accounts.grant("carol", "reader", "bravo")
    try:
        assert [v for _, v in chat.desks.choices(team.identity("carol"))] == [
            "alpha", "bravo", ALL]
        picked = chat.pick_collection(ALL, "apa", carol)
        assert picked["only"]["choices"] == [] and picked["files"]["interactive"] is False
        *_, last = chat.respond("When does the harbour of Bravo open?", picked["conv"], None,
                                "extractive", "apa", ALL, carol)
        turn = last["conv"]["turns"][-1]
        assert "six in the morning" in turn["citations"][0]["quote"]
        assert turn["citations"][0]["source"].startswith("bravo/")
        assert "From Bravo harbour." in turn["notes"]
        shown = chat.show_document(last["conv"], gr.EventData(None, {"turn": 0, "n": 1}), carol)
        assert "<mark id='cited'>" in shown["document"]
        bob = Request("bob")  # Bob reads one collection: no ALL, and Carol's state is not his
        assert chat.restore(last["conv"], "apa", None, bob)["conv"]["turns"] == []
        with pytest.raises(gr.Error):
            chat.pick_collection(ALL, "apa", bob)
    finally:
        team.accounts.revoke("carol", "bravo")
