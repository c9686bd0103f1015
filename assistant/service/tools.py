"""The MCP server: tools search, fetch, ask and cite over a Library, and its collections as
resources; served over stdio (`assistant mcp`) or streamable HTTP at /mcp (api.py).

Each tool publishes input and output schemas (schema.py) and answers with structured
content plus its JSON text copy; an unknown collection or id is a tool error that says so.
The MCP SDK is imported when the server is made. No `from __future__ import annotations`:
the SDK reads the tools' annotations at runtime.
"""

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from ..cite.styles import ANSWER_STYLES
from ..errors import AssistantError
from .library import DEFAULT, MAX_K, Library, public
from .pool import Pool
from .schema import AnswerFields, FetchedFields, ReferenceFields, SearchFields

T = TypeVar("T")
Style = Literal["apa", "harvard", "chicago", "bibtex", "ris", "csl-json"]
assert set(Style.__args__) == set(ANSWER_STYLES)  # type: ignore[attr-defined]

INSTRUCTIONS = (
    "Search and quote the user's own documents. Every quote is verbatim: "
    "document_text[start:end] == quote. search finds passages, fetch reads a passage or a "
    "whole document by id, ask answers a question with numbered citations, cite gives a "
    "reference in a citation style. Collections: resource assistant://collections."
)
Collection = Annotated[str | None, Field(
    description=f"the collection to use; omitted: {DEFAULT!r} (see the collections resources)")]


def server(library: Library, pool: Pool) -> Any:
    """An MCPServer with the four tools and the collection resources."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError
    from mcp_types import ToolAnnotations

    mcp = MCPServer("assistant", instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    async def call(fn: Callable[..., T], *args: Any) -> T:
        try:
            return await pool.run(fn, *args)
        except AssistantError as exc:
            raise ToolError(public(exc)) from None

    @mcp.tool(annotations=read_only)
    async def search(
        query: Annotated[str, Field(description="what to look for, in words")],
        collection: Collection = None,
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many passages")] = 5,
    ) -> SearchFields:
        """Find the passages of the documents that best match a query: each with its exact
        quote and character offsets, lines or pages, headings, reference and id (for fetch
        and cite)."""
        return await call(library.search, query, collection, k)

    @mcp.tool(annotations=read_only)
    async def fetch(
        id: Annotated[str, Field(description="a passage id (DOC_ID:CHUNK_ID) from search or "
                                             "ask, or a document id")],
    ) -> FetchedFields:
        """Read one passage, or a whole document's text, with its locators (pages, lines,
        headings) and its reference."""
        return await call(library.fetch, id)

    @mcp.tool(annotations=read_only)
    async def ask(
        question: Annotated[str, Field(description="the question, in words")],
        collection: Collection = None,
    ) -> AnswerFields:
        """Answer a question from the documents: verbatim sentences, each followed by [n],
        and citation n with its exact quote, offsets, locator and reference. found is false
        when nothing relevant is there."""
        return await call(library.answer, question, collection)

    @mcp.tool(annotations=read_only)
    async def cite(
        id: Annotated[str, Field(description="a passage id (DOC_ID:CHUNK_ID) or a document id")],
        style: Annotated[Style, Field(description="the reference style")] = "apa",
    ) -> ReferenceFields:
        """The reference of a document, or of a passage with its page or line, in APA,
        Harvard, Chicago, BibTeX, RIS or CSL-JSON."""
        return await call(library.cite, id, style)

    def listing() -> str:
        return json.dumps([{"name": n, "uri": f"assistant://collections/{n}"}
                           for n in library.names()])

    mcp.resource("assistant://collections", name="collections", mime_type="application/json",
                 description="the collections this server answers from")(listing)
    for name in library.names():
        def one(name: str = name) -> str:
            return json.dumps(library.describe(name), ensure_ascii=False)

        mcp.resource(f"assistant://collections/{name}", name=f"collection {name}",
                     mime_type="application/json",
                     description=f"the documents of the collection {name!r}")(_static(one))

    @mcp.resource("assistant://collections/{name}", name="collection",
                  mime_type="application/json")
    def collection(name: str) -> str:
        """The documents of one collection; an unknown name is an error."""
        try:
            return json.dumps(library.describe(name), ensure_ascii=False)
        except AssistantError as exc:
            raise ResourceError(public(exc)) from None

    return mcp


def _static(fn: Callable[[], str]) -> Callable[[], str]:
    """A function of no parameters (a static resource's reader) that calls `fn`."""
    def read() -> str:
        return fn()
    return read
