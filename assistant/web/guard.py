"""HTTP guards in front of the chat (ASGI middleware): only the page's own origin, upload size.

They wrap the whole app, so they run before Gradio reads anything of a request:
- `SameOrigin` refuses a request that a page of another origin sends. Gradio's
  own CORS rule trusts every localhost origin (any port) and, on any other host,
  every origin; a page on another port could call the logged-in API with the
  visitor's cookies. Browsers always send `Origin` on such requests; clients
  that are not browsers (gradio_client, curl) send none and are not affected.
- `UploadLimit` refuses an upload request larger than the settings allow for
  all its files together, from its Content-Length, before a byte is stored.
- `local_path` keeps a sign-in's `next` on this server (no open redirect; server.py and
  oidc.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATH = "/gradio_api/upload"
# Multipart framing around each file (boundary, headers with the name) and the request's own.
PART_OVERHEAD = 4096
REQUEST_OVERHEAD = 65536


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _refuse(send: Send, status: int, message: str) -> None:
    """Answer `status` with {"detail": message}, and no CORS header."""
    body = json.dumps({"detail": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _host(netloc: str, scheme: str) -> str:
    """host[:port] as a browser compares origins: lower case, without the default port."""
    netloc = netloc.strip().lower()
    default = {"http": ":80", "https": ":443", "ws": ":80", "wss": ":443"}.get(scheme, "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def same_origin(origin: str, headers: dict[str, str], scheme: str) -> bool:
    """Is `origin` (an Origin header) the origin the request was sent to (its Host)?

    Only Host counts: a page may add headers such as X-Forwarded-Host to its own request.
    A reverse proxy in front of the chat must pass the Host the browser used.
    """
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return False  # "null" (sandboxed frames, file: pages) or garbage
    host = headers.get("host", "")
    return bool(host) and _host(parts.netloc, parts.scheme) == _host(host, scheme)


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never //host or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class SameOrigin:
    """Refuse (403) every request whose Origin is not the page's own."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = _headers(scope)
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, headers,
                                                      scope.get("scheme", "http")):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await _refuse(send, 403, f"requests from {origin} are refused: only the "
                                         "chat's own page may call it")
                return
        await self.app(scope, receive, send)


class UploadLimit:
    """Refuse (413) an upload request larger than `total_mb` for all its files together."""

    def __init__(self, app: App, total_mb: int, max_files: int) -> None:
        self.app = app
        self.total_mb = total_mb
        self.limit = total_mb * 2**20 + REQUEST_OVERHEAD + max_files * PART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and \
                scope.get("path", "").endswith(UPLOAD_PATH):
            size = _headers(scope).get("content-length")
            if size is None or not size.isdigit():
                await _refuse(send, 411, "an upload must say its size (Content-Length)")
                return
            if int(size) > self.limit:
                await _refuse(send, 413, f"this upload is {int(size) / 2**20:.1f} MB; one upload "
                                         f"may carry up to {self.total_mb} MB in all "
                                         "(ASSISTANT_MAX_UPLOAD_TOTAL_MB)")
                return
        await self.app(scope, receive, send)
