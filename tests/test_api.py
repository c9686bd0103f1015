"""The OpenAI-compatible API and MCP over HTTP, against the real app (`python app.py`) behind a
login, through real clients: the official `openai` client, plain HTTP (httpx), `gradio_client`
for the chat's own answer, and the official `mcp` client over streamable HTTP.

One server for the module, with one worker and no queue (ASSISTANT_WORKERS=1,
ASSISTANT_API_QUEUE=0) so that a second request at once is refused with 429.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import DOCS_SRC, SEED, make_assistant
from ui_server import App, start_app

AUTH = ("reader", "correct horse battery")
KEY, SECOND = "sk-test-4f1d0c2a9e7b", "sk-second-77aa01"
WRONG = "sk-wrong-0000000000"
REVIEW = "What did the independent review of Rotherham find?"
CITATION_FIELDS = {"n", "id", "chunk_id", "doc_id", "title", "path", "quote", "start", "end",
                   "line_start", "line_end", "page_start", "page_end", "heading_path", "locator",
                   "spans", "content_hash", "score", "verified", "unsupported", "csl", "plain",
                   "markdown", "language"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    work = tmp_path_factory.mktemp("api")
    docs = work / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    served = start_app(work, docs, work / "index", auth=":".join(AUTH), extra_env={
        "ASSISTANT_API_KEYS": f"{KEY},{SECOND}", "ASSISTANT_WORKERS": "1",
        "ASSISTANT_API_QUEUE": "0"})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def index(app: App, embedder):
    """The server's index opened here, read-only: the document texts the offsets point into."""
    return make_assistant(app.index_dir, embedder, app.docs_dir).answerer


@pytest.fixture(scope="module")
def client(app: App) -> openai.OpenAI:
    return openai.OpenAI(base_url=app.url + "v1", api_key=KEY, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def http(app: App) -> httpx.Client:
    with httpx.Client(base_url=app.url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=120) as c:
        yield c


def assert_exact(cite: dict[str, Any], index, app: App) -> None:
    """quote == document_text[start:end] for the citation and each of its spans; for a text
    file, against the file itself too; the content hash is the file's."""
    doc = index.document(cite["doc_id"])
    assert doc is not None
    assert doc.text[cite["start"]:cite["end"]] == cite["quote"]
    assert cite["spans"] and cite["spans"][0]["quote"] == cite["quote"]
    for s in cite["spans"]:
        assert doc.text[s["start"]:s["end"]] == s["quote"]
    file = app.docs_dir / cite["path"].split("/", 1)[1]
    assert cite["content_hash"] == hashlib.sha256(file.read_bytes()).hexdigest()
    if file.suffix in (".txt", ".md"):
        assert file.read_text(encoding="utf-8-sig")[cite["start"]:cite["end"]] == cite["quote"]
        assert cite["line_start"] == file.read_text(encoding="utf-8").count(
            "\n", 0, cite["start"]) + 1
    assert cite["id"] == f"{cite['doc_id']}:{cite['chunk_id']}"
    assert not cite["path"].startswith("/")  # the server's own paths stay on the server


def assert_annotated(content: str, annotations: list[dict], cites: list[dict]) -> None:
    """One annotation per [n] marker, pointing at it and at citation n."""
    by_n = {c["n"]: c for c in cites}
    assert len(annotations) == content.count("[") and annotations
    for a in annotations:
        assert a["type"] == "file_citation"
        f = a["file_citation"]
        assert content[f["start_index"]:f["end_index"]] == f"[{f['n']}]"
        c = by_n[f["n"]]
        assert (f["id"], f["file_id"], f["filename"], f["title"], f["quote"], f["locator"]) == \
            (c["id"], c["doc_id"], c["path"], c["title"], c["quote"], c["locator"])
    assert {a["file_citation"]["n"] for a in annotations} == set(by_n)


def test_models_name_the_collections(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["assistant"]
    assert client.models.retrieve("assistant").owned_by == "assistant"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("assistant/nope")
    assert err.value.code == "model_not_found"


def test_chat_completion_with_the_openai_client(client: openai.OpenAI, index, app: App) -> None:
    done = client.chat.completions.create(
        model="assistant", messages=[{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": REVIEW}])
    msg = done.choices[0].message
    assert done.object == "chat.completion" and done.choices[0].finish_reason == "stop"
    assert msg.role == "assistant" and "[1]" in msg.content
    cites = msg.model_extra["citations"]
    assert cites and all(set(c) == CITATION_FIELDS for c in cites)
    assert any(c["path"].endswith(SEED) for c in cites)
    for c in cites:
        assert_exact(c, index, app)
        assert c["verified"] is None and c["csl"]["title"] == c["title"]
        assert c["csl"]["label"] == "line" and c["csl"]["locator"].split("-")[0] == \
            str(c["line_start"])
    # `annotations` is a field of the client's message type: its items keep our extension.
    assert_annotated(msg.content, [a.to_dict() for a in msg.annotations], cites)
    assert msg.model_extra["found"] is True
    assert done.usage.completion_tokens > 0 and done.usage.total_tokens == \
        done.usage.prompt_tokens + done.usage.completion_tokens


def test_streaming_sends_text_then_one_chunk_of_sources(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": REVIEW}]).choices[0].message
    stream = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": REVIEW}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.content
    assert sum(bool(c.choices and c.choices[0].delta.content) for c in chunks) >= 1
    with_sources = [c for c in chunks if c.choices and c.choices[0].delta.model_extra
                    and "citations" in c.choices[0].delta.model_extra]
    assert len(with_sources) == 1
    last = with_sources[0]
    assert last is [c for c in chunks if c.choices][-1]  # after every text delta
    assert last.choices[0].finish_reason == "stop"
    extra = last.choices[0].delta.model_extra
    assert extra["citations"] == whole.model_extra["citations"]
    assert extra["annotations"] == [a.to_dict() for a in whole.annotations]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_followup_answers_like_the_chat(client: openai.OpenAI, app: App, index) -> None:
    from gradio_client import Client

    first = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": REVIEW}]).choices[0].message
    follow = client.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": REVIEW}, {"role": "assistant", "content": first.content},
        {"role": "user", "content": "And who led it?"}]).choices[0].message
    chat = Client(app.url, auth=AUTH, verbose=False).predict(
        question="And who led it?", history=[[REVIEW, first.content]], api_name="/ask")
    assert follow.content == chat["answer"]
    cites = follow.model_extra["citations"]
    assert [(c["quote"], c["start"], c["end"], c["doc_id"]) for c in cites] == \
        [(c["quote"], c["start"], c["end"], c["doc_id"]) for c in chat["citations"]]
    assert any("Steve Ashley" in c["quote"] for c in cites)
    for c in cites:
        assert_exact(c, index, app)
    # Without the conversation the same words are a different question.
    alone = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "And who led it?"}])
    assert alone.choices[0].message.content != follow.content


def test_search_over_plain_http(http: httpx.Client, index, app: App) -> None:
    r = http.post("/v1/search", json={"query": "How did the Black Death spread?", "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["collection"] == "default" and len(body["data"]) == 3
    assert [p["rank"] for p in body["data"]] == [1, 2, 3]
    scores = [p["score"] for p in body["data"]]
    assert scores == sorted(scores, reverse=True)
    for p in body["data"]:
        assert set(p) == CITATION_FIELDS | {"rank", "text", "dense", "lexical"}
        assert_exact(p, index, app)
        assert p["text"] == "\n\n".join(s["quote"] for s in p["spans"])
        assert p["language"] == "en"  # detected in the document
    pdfs = http.post("/v1/search", json={"query": "plague", "k": 2,
                                         "filters": {"sources": ["docs_src/*.pdf"]}}).json()
    assert pdfs["data"] and all(p["path"].endswith(".pdf") and p["page_start"] is not None
                                and p["csl"]["label"] == "page" for p in pdfs["data"])
    doc_id = pdfs["data"][0]["doc_id"]
    only = http.post("/v1/search", json={"query": "Rotherham review", "filters":
                                         {"doc_ids": [doc_id]}}).json()["data"]
    assert only and {p["doc_id"] for p in only} == {doc_id}
    passage = http.get(f"/v1/documents/{pdfs['data'][0]['id']}").json()
    assert passage["kind"] == "passage" and passage["chunk_id"] == pdfs["data"][0]["chunk_id"]
    assert all(index.document(doc_id).text[s["start"]:s["end"]] == s["quote"]
               for s in passage["spans"])
    fetched = http.get(f"/v1/documents/{doc_id}").json()
    assert fetched["kind"] == "document" and fetched["text"] == index.document(doc_id).text
    assert [p["page"] for p in fetched["pages"]] == [1, 2, 3]
    listing = http.get("/v1/documents").json()
    assert len(listing["documents"]) == len(index.listing())
    assert {d["language"] for d in listing["documents"]} == {"en"}
    english = http.post("/v1/search", json={"query": "plague", "k": 2,
                                            "filters": {"languages": ["en"]}}).json()["data"]
    assert len(english) == 2 and all(p["language"] == "en" for p in english)


@pytest.mark.parametrize(("path", "body", "status", "param"), [
    ("/v1/search", {"query": "plague", "collection": "nope"}, 404, "collection"),
    ("/v1/search", {"query": "plague", "filters": {"doc_ids": ["0" * 16]}}, 404,
     "filters.doc_ids"),
    ("/v1/search", {"query": "plague", "filters": {"sources": ["nothing/*"]}}, 404, "filters"),
    ("/v1/search", {"query": "plague", "filters": {"languages": ["de"]}}, 404, "filters"),
    ("/v1/search", {"query": "plague", "filters": {"languages": "en"}}, 400, "filters.languages"),
    ("/v1/search", {"query": "plague", "k": 0}, 400, "k"),
    ("/v1/search", {"query": "  "}, 400, "query"),
    ("/v1/search", {"query": "plague", "colection": "default"}, 400, "colection"),
    ("/v1/chat/completions", {"model": "assistant/nope", "messages": [
        {"role": "user", "content": "Why?"}]}, 404, "model"),
    ("/v1/chat/completions", {"model": "assistant", "messages": []}, 400, "messages"),
    ("/v1/chat/completions", {"model": "assistant", "messages": [
        {"role": "user", "content": "Why?"}, {"role": "assistant", "content": "x"}]}, 400,
     "messages"),
    ("/v1/chat/completions", {"model": "assistant", "messages": [
        {"role": "tool", "content": "x"}, {"role": "user", "content": "Why?"}]}, 400,
     "messages[0].role"),
    ("/v1/chat/completions", {"model": "assistant", "n": 2, "messages": [
        {"role": "user", "content": "Why?"}]}, 400, "n"),
    ("/v1/documents/0000000000000000", None, 404, "id"),
])
def test_bad_requests_get_openai_errors(http: httpx.Client, path: str, body: Any, status: int,
                                        param: str) -> None:
    r = http.post(path, json=body) if body is not None else http.get(path)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"] and "/tmp" not in error["message"]


def test_malformed_json_and_the_openai_client_errors(http: httpx.Client,
                                                     client: openai.OpenAI) -> None:
    r = http.post("/v1/chat/completions", content=b"{not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "the request body must be JSON"
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                  "content": "Hi"}])
    assert err.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="assistant", messages=[{"role": "user",
                                                                     "content": " "}])


def test_a_full_pool_answers_429(app: App) -> None:
    """One worker, no queue: of requests sent at once, those that find the worker busy get
    429 in OpenAI's shape at once, and the others their answer."""
    statuses: list[int] = []
    bodies: list[dict] = []
    for _ in range(5):
        gate = threading.Barrier(8)

        def one(gate: threading.Barrier = gate) -> None:
            with httpx.Client(timeout=120) as c:
                gate.wait()
                r = c.post(app.url + "v1/chat/completions",
                           headers={"Authorization": f"Bearer {KEY}"},
                           json={"model": "assistant",
                                 "messages": [{"role": "user", "content": REVIEW}]})
            statuses.append(r.status_code)
            bodies.append(r.json())

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if 429 in statuses:
            break
    assert set(statuses) == {200, 429}, statuses
    refused = [b for s, b in zip(statuses, bodies, strict=True) if s == 429]
    assert all(b["error"]["code"] == "rate_limit_exceeded" for b in refused)


async def _mcp_calls(url: str, key: str) -> dict[str, Any]:
    """Every tool and resource over streamable HTTP, with `key`."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    out: dict[str, Any] = {}
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as h, \
            Client(streamable_http_client(url, http_client=h)) as mcp:
        out["tools"] = {t.name: t for t in (await mcp.list_tools()).tools}
        out["search"] = await mcp.call_tool("search", {"query": "Who carried out the review of "
                                                                "Rotherham?", "k": 2})
        passage = out["search"].structured_content["results"][0]
        out["fetch_passage"] = await mcp.call_tool("fetch", {"id": passage["id"]})
        out["fetch_doc"] = await mcp.call_tool("fetch", {"id": passage["doc_id"]})
        out["ask"] = await mcp.call_tool("ask", {"question": REVIEW})
        out["cite"] = await mcp.call_tool("cite", {"id": passage["id"], "style": "harvard"})
        out["bad_collection"] = await mcp.call_tool("search", {"query": "x",
                                                               "collection": "nope"})
        out["bad_id"] = await mcp.call_tool("fetch", {"id": "0" * 16})
        out["resources"] = [str(r.uri) for r in (await mcp.list_resources()).resources]
        out["default"] = json.loads(
            (await mcp.read_resource("assistant://collections/default")).contents[0].text)
        try:
            await mcp.read_resource("assistant://collections/nope")
            out["bad_resource"] = None
        except Exception as exc:  # noqa: BLE001 - the SDK raises its MCPError
            out["bad_resource"] = str(exc)
    return out


def test_mcp_over_streamable_http_calls_every_tool(app: App, index) -> None:
    got = asyncio.run(_mcp_calls(app.url + "mcp", SECOND))
    assert set(got["tools"]) == {"search", "fetch", "ask", "cite"}
    for t in got["tools"].values():
        assert t.input_schema["properties"] and t.output_schema["properties"], t.name
    for name in ("search", "fetch_passage", "fetch_doc", "ask", "cite"):
        result = got[name]
        assert not result.is_error, result.content
        assert json.loads(result.content[0].text) == result.structured_content  # the text copy
    for p in got["search"].structured_content["results"]:
        assert_exact(p, index, app)
    passage = got["search"].structured_content["results"][0]
    fetched = got["fetch_passage"].structured_content
    doc = got["fetch_doc"].structured_content
    assert fetched["kind"] == "passage" and fetched["id"] == passage["id"]
    assert all(doc["text"][s["start"]:s["end"]] == s["quote"] for s in fetched["spans"])
    assert doc["kind"] == "document" and doc["text"] == index.document(doc["doc_id"]).text
    answer = got["ask"].structured_content
    assert answer["found"] and answer["citations"]
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"]
        assert_exact(c, index, app)
    ref = got["cite"].structured_content
    assert ref["style"] == "harvard" and "Praise for Rotherham" in ref["reference"]
    assert ref["csl"]["label"] == "line" and ref["in_text"]
    assert got["bad_collection"].is_error and "unknown collection 'nope'" in \
        got["bad_collection"].content[0].text
    assert got["bad_id"].is_error and "no document or passage" in got["bad_id"].content[0].text
    assert "assistant://collections/default" in got["resources"]
    assert len(got["default"]["documents"]) == len(index.listing())
    assert got["bad_resource"] and "unknown collection" in got["bad_resource"]


def test_every_route_refuses_a_missing_or_wrong_key(app: App) -> None:
    routes = [("GET", "v1/models", None), ("GET", "v1/models/assistant", None),
              ("POST", "v1/chat/completions", {"model": "assistant", "messages": [
                  {"role": "user", "content": REVIEW}]}),
              ("POST", "v1/search", {"query": "plague"}), ("GET", "v1/documents", None),
              ("GET", "v1/documents/0000000000000000", None),
              ("POST", "mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})]
    refusals = [{}, {"Authorization": f"Bearer {WRONG}"}, {"Authorization": f"Basic {KEY}"},
                {"Authorization": "Bearer"}, {"Authorization": f"Bearer {KEY}x"}]
    with httpx.Client(timeout=60) as c:
        for method, path, body in routes:
            for headers in refusals:
                r = c.request(method, app.url + path, json=body, headers=headers)
                assert r.status_code == 401, (path, headers, r.text)
                assert r.json()["error"]["code"] == "invalid_api_key"
                assert r.headers["www-authenticate"] == "Bearer"
                assert KEY not in r.text and WRONG not in r.text
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=app.url + "v1", api_key=WRONG, max_retries=0).models.list()
    with pytest.raises(Exception):  # noqa: B017 - the MCP client fails on the 401 (checked above)
        asyncio.run(_mcp_calls(app.url + "mcp", WRONG))
    log = Path(app.log).read_text(encoding="utf-8", errors="replace")
    assert KEY not in log and SECOND not in log and WRONG not in log
