"""The MCP server: tools search, fetch, ask and cite over a Library, and its collections as
resources; served over stdio (`assistant mcp`) or streamable HTTP at /mcp (api.py).

Each tool publishes input and output schemas (schema.py) and answers with structured
content plus its JSON text copy; an unknown collection or id is a tool error that says so.

Every message is answered for its caller: `caller(request)` (the HTTP request that carried
it; None over stdio) names the Identity, which a middleware keeps for that message's
handler, so the tools and resources read only what the team's policy lets that caller read,
and the resource list leaves out the collections they may not. The MCP SDK is imported when
the server is made. No `from __future__ import annotations`: the SDK reads the tools'
annotations at runtime.
"""

import contextvars
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from ..cite.styles import ANSWER_STYLES
from ..errors import AssistantError
from ..team import Identity
from .library import MAX_K, Library, public
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
    description="the collection to use; omitted: your first (see the collections resources)")]
Caller = Callable[[Any], Identity | None]
_WHO: contextvars.ContextVar[Identity | None] = contextvars.ContextVar("caller", default=None)


def server(library: Library, pool: Pool, caller: Caller) -> Any:
    """An MCPServer with the four tools and the collection resources, answering each
    message for `caller(request)` (None: nobody, who may read nothing)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceError, ToolError
    from mcp_types import ToolAnnotations

    async def as_caller(ctx: Any, call_next: Any) -> Any:
        who = caller(ctx.request)
        token = _WHO.set(who)
        try:
            result = await call_next(ctx)
        finally:
            _WHO.reset(token)
        if ctx.method == "resources/list":  # only the collections this caller may read
            shown = {"assistant://collections"} | {
                f"assistant://collections/{n}" for n in library.names(who)}
            wire = result if isinstance(result, dict) else result.model_dump(
                by_alias=True, mode="json", exclude_none=True)
            result = {**wire, "resources": [r for r in wire.get("resources", [])
                                            if str(r.get("uri")) in shown]}
        return result

    mcp = MCPServer("assistant", instructions=INSTRUCTIONS, log_level="WARNING",
                    middleware=[as_caller])
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    async def call(fn: Callable[..., T], *args: Any) -> T:
        try:
            return await pool.run(fn, _WHO.get(), *args)
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
        return await call(library.search, query, collection, k, None, "mcp")

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
        return await call(library.answer, question, collection, "mcp")

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
                           for n in library.names(_WHO.get())])

    def described(name: str) -> str:
        try:
            return json.dumps(library.describe(_WHO.get(), name), ensure_ascii=False)
        except AssistantError as exc:
            raise ResourceError(public(exc)) from None

    mcp.resource("assistant://collections", name="collections", mime_type="application/json",
                 description="the collections you may read")(listing)
    for name in library.team.collections.names():  # each caller lists only theirs (as_caller)
        def one(name: str = name) -> str:
            return described(name)

        mcp.resource(f"assistant://collections/{name}", name=f"collection {name}",
                     mime_type="application/json",
                     description=f"the documents of the collection {name!r}")(_static(one))

    @mcp.resource("assistant://collections/{name}", name="collection",
                  mime_type="application/json")
    def collection(name: str) -> str:
        """The documents of one collection; an unknown name is an error."""
        return described(name)

    return mcp


def _static(fn: Callable[[], str]) -> Callable[[], str]:
    """A function of no parameters (a static resource's reader) that calls `fn`."""
    def read() -> str:
        return fn()
    return read
