"""`assistant mcp` through the official MCP client over stdio: the client spawns the command,
as a desktop client does, and calls every tool; quotes are checked against the index."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import bibtexparser
import rispy
from conftest import ROOT

from assistant.pipeline import Assistant

STYLES = ("apa", "harvard", "chicago", "bibtex", "ris", "csl-json")


async def _session(index_dir: str) -> dict[str, Any]:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "assistant", "mcp", "--index", index_dir],
                                   env=env, cwd=str(ROOT))
    out: dict[str, Any] = {}
    async with Client(params) as mcp:
        out["tools"] = {t.name: t for t in (await mcp.list_tools()).tools}
        out["search"] = await mcp.call_tool("search", {"query": "How did the Black Death "
                                                                "spread?", "k": 3})
        first = out["search"].structured_content["results"][0]
        out["ask"] = await mcp.call_tool("ask", {"question": "Who carried out the review of "
                                                             "Rotherham?"})
        out["fetch_passage"] = await mcp.call_tool("fetch", {"id": first["id"]})
        out["fetch_doc"] = await mcp.call_tool("fetch", {"id": first["doc_id"]})
        out["cite"] = {s: await mcp.call_tool("cite", {"id": first["id"], "style": s})
                       for s in STYLES}
        out["cite_doc"] = await mcp.call_tool("cite", {"id": first["doc_id"], "style": "apa"})
        out["errors"] = [
            await mcp.call_tool("fetch", {"id": "f" * 16}),
            await mcp.call_tool("fetch", {"id": f"{first['doc_id']}:{'0' * 16}"}),
            await mcp.call_tool("cite", {"id": first["id"], "style": "mla"}),
            await mcp.call_tool("ask", {"question": "Why?", "collection": "elsewhere"}),
            await mcp.call_tool("search", {"query": "plague", "k": 500}),
        ]
        out["resources"] = [str(r.uri) for r in (await mcp.list_resources()).resources]
        out["collections"] = json.loads(
            (await mcp.read_resource("assistant://collections")).contents[0].text)
    return out


def test_assistant_mcp_over_stdio_calls_every_tool(docs_index: Assistant) -> None:
    got = asyncio.run(_session(str(docs_index.settings.index_dir)))
    docs = docs_index.answerer
    assert set(got["tools"]) == {"search", "fetch", "ask", "cite"}
    assert got["tools"]["cite"].input_schema["properties"]["style"]["enum"] == list(STYLES)
    results = got["search"].structured_content["results"]
    assert len(results) == 3
    for p in results:
        doc = docs.document(p["doc_id"])
        assert doc.text[p["start"]:p["end"]] == p["quote"]
        assert all(doc.text[s["start"]:s["end"]] == s["quote"] for s in p["spans"])
    assert results[0]["path"].endswith("black-death.pdf") and results[0]["page_start"]
    answer = got["ask"].structured_content
    assert answer["found"] and answer["short_answer"]["text"] == "Steve Ashley"
    for c in answer["citations"]:
        doc = docs.document(c["doc_id"])
        assert doc.text[c["start"]:c["end"]] == c["quote"]
        assert f"[{c['n']}]" in answer["answer"]
    sa = answer["short_answer"]
    cited = next(c for c in answer["citations"] if c["n"] == sa["citation_n"])
    assert docs.document(cited["doc_id"]).text[sa["start"]:sa["end"]] == sa["text"]

    passage = got["fetch_passage"].structured_content
    whole = got["fetch_doc"].structured_content
    assert passage["kind"] == "passage" and passage["chunk_id"] == results[0]["chunk_id"]
    assert whole["kind"] == "document" and whole["text"] == docs.document(whole["doc_id"]).text
    assert whole["pages"][0] == {"page": 1, "start": 0, "end": whole["pages"][1]["start"]}
    assert passage["page_start"] in {p["page"] for p in passage["pages"]}

    cites = {s: r.structured_content for s, r in got["cite"].items()}
    assert not any(r.is_error for r in got["cite"].values())
    page = str(results[0]["page_start"])
    assert cites["apa"]["in_text"] == f"(Wikipedia contributors, 2024, p. {page})"
    assert cites["apa"]["reference"] == "Wikipedia contributors. (2024). Black Death."
    assert cites["harvard"]["in_text"] and cites["chicago"]["in_text"]
    assert all(cites[s]["in_text"] is None for s in ("bibtex", "ris", "csl-json"))
    entry = bibtexparser.parse_string(cites["bibtex"]["reference"]).entries[0]
    assert entry["title"] == "Black Death" and entry["pages"] == page
    assert rispy.loads(cites["ris"]["reference"])[0]["start_page"] == page
    assert json.loads(cites["csl-json"]["reference"])[0]["locator"] == page
    assert "locator" not in got["cite_doc"].structured_content["csl"]  # a whole document

    messages = [e.content[0].text for e in got["errors"]]
    assert all(e.is_error for e in got["errors"]), messages
    assert "no document or passage has the id" in messages[0]
    assert "no passage has the id" in messages[1]
    assert "Input should be 'apa'" in messages[2]  # the input schema's enum, enforced
    assert "unknown collection 'elsewhere'" in messages[3]
    assert "less than or equal to 50" in messages[4]
    assert "assistant://collections/default" in got["resources"]
    assert got["collections"] == [{"name": "default", "uri": "assistant://collections/default"}]
