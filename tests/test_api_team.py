"""The API and MCP on a team's server: one policy, every route, for every key.

Two users, two collections, set up with the real commands (`assistant collection add`,
`user add`, `grant`, `key create`, `index`) and served by the real app (`python app.py`);
called with the official `openai` client, plain HTTP (httpx) and the official `mcp` client
over streamable HTTP and over stdio (`assistant mcp --user`). Bob's key never reaches
Alice's collection: not through models, search, chat completions, document lists, document
ids, MCP tools or resources, and every refusal reads exactly like one for something that
does not exist. A revoked key, and the key of a removed account, are refused on the very
next request; every question is in the audit trail with the cited document's content hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from ui_server import ROOT, cli, start_app

ALPHA = "The launch code of project Alpha is 7731, kept in the north vault.\n"
BRAVO = "The harbour of Bravo opens at six in the morning for the fishing fleet.\n"
ALPHA_Q = "What is the launch code of project Alpha?"
BRAVO_Q = "When does the harbour of Bravo open?"
SERVICE = "sk-service-5be1d04c77"
MADE_UP = "0123456789abcdef"


def _key(root: Path, user: str) -> str:
    key = cli("key", "create", user, index=root / "index").stdout.strip().splitlines()[-1]
    assert key.startswith("ask_")
    return key


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("apiteam")
    index = root / "index"
    for name, text in (("a", ALPHA), ("b", BRAVO)):
        (root / name).mkdir()
        (root / name / f"{name}.txt").write_text(text, encoding="utf-8")
        cli("collection", "add", name, "--docs", name, index=index)
    for user in ("alice", "bob", "carol"):
        cli("user", "add", user, "--password-stdin", index=index, stdin=f"{user}-pass-1\n")
    cli("grant", "alice", "reader", "a", index=index)
    cli("grant", "bob", "reader", "b", index=index)
    cli("grant", "carol", "reader", "a", index=index)
    keys = {"alice": _key(root, "alice"), "bob": _key(root, "bob"),
            "bob2": _key(root, "bob"), "carol": _key(root, "carol")}
    cli("index", index=index)
    app = start_app(root, root / "unused-docs", index, extra_env={
        "ASSISTANT_API_KEYS": SERVICE, "PYTHONPATH": str(ROOT)})
    yield {"root": root, "index": index, "app": app, "keys": keys}
    app.stop()


def _http(team: dict[str, Any], who: str) -> httpx.Client:
    key = SERVICE if who == "service" else team["keys"][who]
    return httpx.Client(base_url=team["app"].url, headers={"Authorization": f"Bearer {key}"},
                        timeout=120)


def _openai(team: dict[str, Any], who: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=team["app"].url + "v1", api_key=team["keys"][who],
                         max_retries=0, timeout=120)


def _alpha_doc(team: dict[str, Any]) -> dict[str, Any]:
    """Alice's document, as she lists it, with a passage id of it."""
    with _http(team, "alice") as alice:
        docs = alice.get("/v1/documents").json()["documents"]
        hit = alice.post("/v1/search", json={"query": ALPHA_Q, "k": 1}).json()["data"][0]
    assert [d["path"] for d in docs] == ["a/a.txt"] and hit["doc_id"] == docs[0]["doc_id"]
    return {"doc_id": hit["doc_id"], "passage": hit["id"]}


def test_models_and_chat_completions_are_the_callers_collections(team) -> None:
    alice, bob = _openai(team, "alice"), _openai(team, "bob")
    assert [m.id for m in alice.models.list().data] == ["assistant", "assistant/a"]
    assert [m.id for m in bob.models.list().data] == ["assistant", "assistant/b"]
    refusals = []
    for model in ("assistant/a", "assistant/zz"):  # A's collection, and one that does not exist
        with pytest.raises(openai.NotFoundError) as err:
            bob.models.retrieve(model)
        assert err.value.code == "model_not_found"
        with pytest.raises(openai.NotFoundError) as err:
            bob.chat.completions.create(model=model, messages=[
                {"role": "user", "content": ALPHA_Q}])
        refusals.append(err.value.response.text.replace(model, "MODEL"))
    assert refusals[0] == refusals[1] and "assistant/b" in refusals[0]

    for model in ("assistant", "assistant/b"):  # Bob asks Alice's question in his own
        msg = bob.chat.completions.create(model=model, messages=[
            {"role": "user", "content": ALPHA_Q}]).choices[0].message
        assert "7731" not in msg.content + json.dumps(msg.model_extra)
        assert all(c["path"] == "b/b.txt" for c in msg.model_extra["citations"])
    msg = alice.chat.completions.create(model="assistant/a", messages=[
        {"role": "user", "content": ALPHA_Q}]).choices[0].message
    assert "7731" in msg.content and msg.model_extra["citations"][0]["path"] == "a/a.txt"
    stream = alice.chat.completions.create(model="assistant", stream=True, messages=[
        {"role": "user", "content": ALPHA_Q}])
    assert "7731" in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_search_and_documents_never_reach_an_unreadable_collection(team) -> None:
    alpha = _alpha_doc(team)
    with _http(team, "bob") as bob:
        found = bob.post("/v1/search", json={"query": ALPHA_Q, "k": 5}).json()
        assert found["collection"] == "b" and found["data"]
        assert {p["path"] for p in found["data"]} == {"b/b.txt"}
        assert "7731" not in json.dumps(found)
        bodies = []
        for name in ("a", "zz"):
            r = bob.post("/v1/search", json={"query": ALPHA_Q, "collection": name})
            assert r.status_code == 404 and r.json()["error"]["code"] == "collection_not_found"
            listed = bob.get("/v1/documents", params={"collection": name})
            assert listed.status_code == 404 and listed.text == r.text
            bodies.append(r.text.replace(f"'{name}'", "NAME"))
        assert bodies[0] == bodies[1] and "yours: b" in bodies[0]
        listed = bob.get("/v1/documents").json()
        assert listed["name"] == "b" and [d["path"] for d in listed["documents"]] == ["b/b.txt"]

        refused = [bob.get(f"/v1/documents/{i}") for i in (
            alpha["doc_id"], MADE_UP, alpha["passage"], f"{MADE_UP}:{MADE_UP}")]
        assert {r.status_code for r in refused} == {404}
        assert len({r.text for r in refused}) == 1, [r.text for r in refused]  # byte for byte
        assert alpha["doc_id"] not in refused[0].text and "7731" not in refused[0].text
        r = bob.post("/v1/chat/completions", json={
            "model": "assistant", "filters": {"doc_ids": [alpha["doc_id"]]},
            "messages": [{"role": "user", "content": ALPHA_Q}]})
        assert r.status_code == 404 and "7731" not in r.text
    with _http(team, "alice") as alice:
        doc = alice.get(f"/v1/documents/{alpha['doc_id']}").json()
        assert doc["text"] == ALPHA
    with _http(team, "service") as service:  # a service key: the server's administrator
        models = [m["id"] for m in service.get("/v1/models").json()["data"]]
        assert models == ["assistant", "assistant/a", "assistant/b"]
        assert service.get(f"/v1/documents/{alpha['doc_id']}").json()["text"] == ALPHA


async def _mcp_http(url: str, key: str, alpha: dict[str, Any]) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as h, \
            Client(streamable_http_client(url, http_client=h)) as mcp:
        return await _mcp_calls(mcp, alpha)


async def _mcp_calls(mcp: Any, alpha: dict[str, Any]) -> dict[str, Any]:
    """Bob's attempts on Alice's collection, beside the same for what does not exist."""
    out: dict[str, Any] = {"search": await mcp.call_tool("search", {"query": ALPHA_Q})}
    out["ask"] = await mcp.call_tool("ask", {"question": ALPHA_Q})
    for name in ("a", "zz"):
        out[f"search_{name}"] = await mcp.call_tool("search", {"query": ALPHA_Q,
                                                               "collection": name})
        out[f"ask_{name}"] = await mcp.call_tool("ask", {"question": ALPHA_Q,
                                                         "collection": name})
        try:
            await mcp.read_resource(f"assistant://collections/{name}")
            out[f"resource_{name}"] = None
        except Exception as exc:  # noqa: BLE001 - the SDK raises its MCPError
            out[f"resource_{name}"] = str(exc)
    for label, id in (("doc", alpha["doc_id"]), ("passage", alpha["passage"]),
                      ("made_up", MADE_UP)):
        out[f"fetch_{label}"] = await mcp.call_tool("fetch", {"id": id})
        out[f"cite_{label}"] = await mcp.call_tool("cite", {"id": id, "style": "apa"})
    out["resources"] = [str(r.uri) for r in (await mcp.list_resources()).resources]
    out["collections"] = json.loads(
        (await mcp.read_resource("assistant://collections")).contents[0].text)
    return out


def _assert_bob_kept_out(got: dict[str, Any]) -> None:
    text = {k: v.content[0].text for k, v in got.items() if hasattr(v, "content")}
    assert not got["search"].is_error and not got["ask"].is_error
    assert {p["path"] for p in got["search"].structured_content["results"]} == {"b/b.txt"}
    assert got["ask"].structured_content["collection"] == "b"
    assert "7731" not in text["search"] + text["ask"]
    for tool in ("search", "ask"):
        assert got[f"{tool}_a"].is_error and got[f"{tool}_zz"].is_error
        assert text[f"{tool}_a"].replace("'a'", "N") == text[f"{tool}_zz"].replace("'zz'", "N")
    assert got["resource_a"] and got["resource_a"].replace("'a'", "N").replace(
        "collections/a", "U") == got["resource_zz"].replace("'zz'", "N").replace(
        "collections/zz", "U")
    for tool in ("fetch", "cite"):  # Alice's document, her passage, a made-up id: one text
        assert all(got[f"{tool}_{x}"].is_error for x in ("doc", "passage", "made_up"))
        assert len({text[f"{tool}_{x}"] for x in ("doc", "passage", "made_up")}) == 1
    assert "assistant://collections/a" not in got["resources"]
    assert "assistant://collections/b" in got["resources"]
    assert got["collections"] == [{"name": "b", "uri": "assistant://collections/b"}]


def test_mcp_over_http_never_reaches_an_unreadable_collection(team) -> None:
    alpha = _alpha_doc(team)
    _assert_bob_kept_out(asyncio.run(_mcp_http(team["app"].url + "mcp", team["keys"]["bob"],
                                               alpha)))
    alice = asyncio.run(_mcp_http(team["app"].url + "mcp", team["keys"]["alice"], alpha))
    assert not alice["fetch_doc"].is_error and alice["fetch_doc"].structured_content["text"] \
        == ALPHA
    assert "7731" in alice["ask"].structured_content["answer"]


def test_assistant_mcp_over_stdio_acts_as_the_user_it_is_given(team) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    alpha = _alpha_doc(team)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

    async def session() -> dict[str, Any]:
        params = StdioServerParameters(
            command=sys.executable, env=env, cwd=str(team["root"]),
            args=["-m", "assistant", "mcp", "--user", "bob", "--index", str(team["index"])])
        async with Client(params) as mcp:
            return await _mcp_calls(mcp, alpha)

    _assert_bob_kept_out(asyncio.run(session()))
    r = subprocess.run([sys.executable, "-m", "assistant", "mcp", "--user", "nobody",
                        "--index", str(team["index"])], env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "no user 'nobody'" in r.stderr and not r.stdout


def test_a_revoked_key_and_a_removed_users_key_are_refused_at_once(team) -> None:
    url, keys = team["app"].url, team["keys"]
    mcp_list = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    routes = [("GET", "v1/models", None), ("POST", "v1/search", {"query": BRAVO_Q}),
              ("POST", "v1/chat/completions", {"model": "assistant", "messages": [
                  {"role": "user", "content": BRAVO_Q}]}),
              ("GET", "v1/documents", None), ("POST", "mcp", mcp_list)]
    mcp_headers = {"Accept": "application/json, text/event-stream"}

    def statuses(key: str) -> list[int]:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {key}",
                                                **mcp_headers}) as c:
            return [c.request(m, url + p, json=b).status_code for m, p, b in routes]

    assert set(statuses(keys["bob2"])) <= {200, 400}  # MCP wants a session first: not 401
    assert statuses(keys["bob2"])[:4] == [200, 200, 200, 200]
    cli("key", "revoke", keys["bob2"].split("_")[1], index=team["index"])
    assert statuses(keys["bob2"]) == [401] * len(routes)
    assert statuses(keys["bob"])[:4] == [200, 200, 200, 200]  # his other key still works

    assert statuses(keys["carol"])[0] == 200
    cli("user", "remove", "carol", index=team["index"])
    assert statuses(keys["carol"]) == [401] * len(routes)
    with pytest.raises(openai.AuthenticationError):
        _openai(team, "carol").models.list()
    with httpx.Client(timeout=60) as c:
        r = c.get(url + "v1/models", headers={"Authorization": f"Bearer {keys['bob2']}"})
    assert r.json()["error"]["code"] == "invalid_api_key" and keys["bob2"] not in r.text


def test_api_questions_and_searches_are_in_the_audit_trail(team) -> None:
    with _http(team, "alice") as alice:
        r = alice.post("/v1/chat/completions", json={
            "model": "assistant/a", "messages": [{"role": "user", "content": ALPHA_Q}]})
        assert r.status_code == 200
        alice.post("/v1/search", json={"query": "north vault", "collection": "a"})
    asyncio.run(_mcp_ask(team["app"].url + "mcp", team["keys"]["bob"]))
    lines = cli("audit", "--json", index=team["index"]).stdout.splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    digest = hashlib.sha256((team["root"] / "a" / "a.txt").read_bytes()).hexdigest()
    asked = [e for e in events if e["action"] == "ask" and e["user"] == "alice"
             and e["detail"]["via"] == "api" and e["detail"]["question"] == ALPHA_Q]
    assert asked and all(e["collection"] == "a" for e in asked)
    assert asked[-1]["detail"]["cited"][0]["content_hash"] == digest
    assert asked[-1]["detail"]["cited"][0]["source"] == "a/a.txt"
    by_mcp = [e for e in events if e["action"] == "ask" and e["detail"]["via"] == "mcp"
              and e["user"] == "bob" and e["detail"]["question"] == BRAVO_Q]
    assert by_mcp and by_mcp[-1]["collection"] == "b"
    assert by_mcp[-1]["detail"]["cited"][0]["content_hash"] == hashlib.sha256(
        (team["root"] / "b" / "b.txt").read_bytes()).hexdigest()
    searched = [e for e in events if e["action"] == "search" and e["user"] == "alice"
                and e["detail"]["query"] == "north vault"]
    assert searched and searched[-1]["collection"] == "a" and searched[-1]["detail"]["via"] \
        == "api"
    log = team["app"].log_tail(10**7) + "\n".join(lines)
    assert not any(k in log for k in (*team["keys"].values(), SERVICE))  # no key is written


async def _mcp_ask(url: str, key: str) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as h, \
            Client(streamable_http_client(url, http_client=h)) as mcp:
        done = await mcp.call_tool("ask", {"question": BRAVO_Q})
        assert not done.is_error and done.structured_content["found"]
