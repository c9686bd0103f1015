"""The HTTP API on the chat's own server: OpenAI-compatible chat, search, documents and MCP.

    GET  /v1/models                the collections, as models ("assistant" = the default)
    POST /v1/chat/completions      the chat's answer to a conversation (stream or not)
    POST /v1/search                passages with exact spans, their references and scores
    GET  /v1/documents[/{id}]      the collection's documents; one document or passage
    *    /mcp                      MCP over streamable HTTP (tools.py)

`Api.routes()` are added to the server (web/server.py) before the chat is mounted, and
`Api.lifespan` runs the MCP session manager. Every route first asks callers.Callers who
calls (a personal key, a service key, or the local user of an open server; refused: 401),
then the library, which asks the team's policy for every collection it touches; errors have
OpenAI's shape. Starlette and the MCP SDK are imported when the routes are made,
so importing this module costs nothing at start-up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import AssistantError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ..team import Identity, Team
from . import chat, tools
from .callers import Callers
from .fields import answer_citations, marker_annotations
from .library import Library, RequestError, public
from .pool import Busy, Pool

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # bytes of one JSON request body
_SERVER_ERRORS = (IndexMissingError, IndexMismatchError, IndexCorruptError)
Handler = Callable[["Request"], Awaitable["Response"]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers)


def _error(exc: Exception) -> Response:
    """An exception as OpenAI's error object with the status that fits it."""
    if isinstance(exc, RequestError):
        return _json(exc.status, chat.error_body(public(exc), param=exc.param, code=exc.code))
    if isinstance(exc, Busy):
        return _json(429, chat.error_body(str(exc), "rate_limit_error", None,
                                          "rate_limit_exceeded"), {"Retry-After": "1"})
    if isinstance(exc, _SERVER_ERRORS):
        log.error("%s", exc)
        return _json(503, chat.error_body(public(exc), "server_error", None, "index_unavailable"))
    if isinstance(exc, AssistantError):  # a message that says what to do ("Please type ...")
        return _json(400, chat.error_body(public(exc)))
    log.exception("API request failed")
    return _json(500, chat.error_body("the server failed to answer; its log says why",
                                      "server_error"))


def unauthorized(required_but_unset: bool) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The 401 answer; it never repeats the key that was sent."""
    message = ("This server needs an API key and has none configured: its operator must make "
               "one (`assistant key create USER`) or set ASSISTANT_API_KEYS"
               if required_but_unset else
               "Missing, incorrect or revoked API key: send the header Authorization: Bearer KEY")
    return 401, chat.error_body(message, "invalid_request_error", None, "invalid_api_key"), \
        {"WWW-Authenticate": "Bearer"}


def _authorization(scope: Any) -> str:
    return dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")


class _KeyGuard:
    """An ASGI app that lets a request reach `app` only from a known caller (for /mcp; the
    MCP server then asks `Callers` again for each message, tools.py)."""

    def __init__(self, app: Any, callers: Callers) -> None:
        self.app, self.callers = app, callers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.callers.identify(_authorization(scope)) is None:
            status, body, headers = unauthorized(self.callers.none_configured())
            await _json(status, body, headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Api:
    """The routes over a team's collections: a Library, who calls, and the worker pool."""

    def __init__(self, team: Team) -> None:
        self.settings = team.settings
        self.library = Library(team)
        self.callers = Callers(team)
        self.pool = Pool(self.settings.worker_count(), self.settings.api_queue)
        self.created = int(time.time())
        self._mcp_manager: Any = None
        if self.callers.required() and self.callers.none_configured():
            log.warning("the API (/v1, /mcp) needs keys here (a login or a non-loopback host) "
                        "and none are set: every request is refused until a personal key is "
                        "made (`assistant key create USER`) or ASSISTANT_API_KEYS is set")

    # --- plumbing -------------------------------------------------------------

    def _guarded(self, handler: Callable[[Request, Identity], Awaitable[Response]]) -> Handler:
        """`handler(request, caller)` behind the key check, its errors in OpenAI's shape."""
        async def endpoint(request: Request) -> Response:
            who = self.callers.identify(request.headers.get("authorization"))
            if who is None:
                status, body, headers = unauthorized(self.callers.none_configured())
                return _json(status, body, headers)
            try:
                return await handler(request, who)
            except Exception as exc:  # noqa: BLE001 - every failure gets an OpenAI error body
                return _error(exc)
        return endpoint

    async def _body(self, request: Request) -> Any:
        """The request's JSON body, at most MAX_BODY bytes."""
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY:
            raise RequestError(f"the request body is over {MAX_BODY} bytes")
        data = bytearray()
        async for part in request.stream():
            data += part
            if len(data) > MAX_BODY:
                raise RequestError(f"the request body is over {MAX_BODY} bytes")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise RequestError("the request body must be JSON") from None

    # --- routes ---------------------------------------------------------------

    async def models(self, request: Request, who: Identity) -> Response:
        return _json(200, {"object": "list", "data": [self._model(m)
                                                      for m in self.library.models(who)]})

    async def model(self, request: Request, who: Identity) -> Response:
        name = request.path_params["name"]
        self.library.model(who, name)
        return _json(200, self._model(name))

    def _model(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": self.created, "owned_by": "assistant"}

    async def completions(self, request: Request, who: Identity) -> Response:
        req = chat.parse(await self._body(request))
        collection = self.library.model(who, req.model)
        answerer = self.library.answerer(collection)

        def answer() -> tuple[Any, list[Any], list[Any], dict[str, int]]:
            got, docs = self.library.ask(who, req.question, req.history, collection,
                                         req.filters, via="api")
            cites = answer_citations(got, docs)
            counts = answerer.embedder.count_tokens([*req.prompt, got.text])
            return got, cites, marker_annotations(got.text, cites), \
                chat.usage(sum(counts[:-1]), counts[-1])

        # Answered in full before the first byte: a stream's deltas are the checked answer's
        # sentences, and an error is still an HTTP status.
        got, cites, notes, used = await self.pool.run(answer)
        cid = chat.completion_id()
        if not req.stream:
            return _json(200, chat.completion(cid, req.model, got, cites, notes, used))
        from starlette.responses import StreamingResponse

        async def events() -> AsyncIterator[bytes]:
            for c in chat.chunks(cid, req.model, got, cites, notes,
                                 used if req.include_usage else None):
                yield chat.sse(c)
            yield chat.sse("[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def search(self, request: Request, who: Identity) -> Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        unknown = set(body) - {"query", "collection", "k", "filters"}
        if unknown:
            raise RequestError(f"unknown field(s): {', '.join(sorted(unknown))}",
                               sorted(unknown)[0])
        found = await self.pool.run(self.library.search, who, body.get("query"),
                                    body.get("collection"), body.get("k"), body.get("filters"),
                                    "api")
        return _json(200, {"object": "list", "query": found["query"],
                           "collection": found["collection"], "data": found["results"]})

    async def documents(self, request: Request, who: Identity) -> Response:
        name = request.query_params.get("collection")
        return _json(200, await self.pool.run(self.library.describe, who, name))

    async def document(self, request: Request, who: Identity) -> Response:
        return _json(200, await self.pool.run(self.library.fetch, who,
                                              request.path_params["id"]))

    def routes(self) -> list[Any]:
        """Starlette routes for every path above; /mcp's session manager runs in `lifespan`."""
        from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
        from starlette.routing import Route

        server = tools.server(self.library, self.pool, self._mcp_caller)
        server.streamable_http_app(streamable_http_path="/mcp", host=self.settings.host)
        self._mcp_manager = server.session_manager
        g = self._guarded
        return [
            Route("/v1/models", g(self.models), methods=["GET"]),
            Route("/v1/models/{name:path}", g(self.model), methods=["GET"]),
            Route("/v1/chat/completions", g(self.completions), methods=["POST"]),
            Route("/v1/search", g(self.search), methods=["POST"]),
            Route("/v1/documents", g(self.documents), methods=["GET"]),
            Route("/v1/documents/{id}", g(self.document), methods=["GET"]),
            Route("/mcp", _KeyGuard(StreamableHTTPASGIApp(self._mcp_manager), self.callers)),
        ]

    def _mcp_caller(self, request: Any) -> Identity | None:
        """Who sent one MCP message: the caller of the HTTP request that carried it."""
        if request is None:  # not over HTTP: nobody
            return None
        return self.callers.identify(request.headers.get("authorization"))

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """Runs the MCP session manager while the server runs."""
        async with self._mcp_manager.run():
            yield

