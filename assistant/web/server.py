"""The HTTP server: login, the API and the chat, in one FastAPI app served by uvicorn.

    /login, /logout        the login page and a session cookie (HttpOnly, SameSite=Lax,
                           Secure behind https); failed logins limited (team.Team.authenticate)
    /oidc/login, /oidc/callback   single sign-on with OpenID Connect (oidc.py), when set up
    /v1/*, /mcp            the API (service/api.py): its own keys, never the cookie
    /                      the Gradio chat, mounted with `auth_dependency=self.user`: Gradio
                           then refuses every route of its own (config, queue, uploads, file
                           routes) to a request without a signed-in user

Why mount rather than Gradio's `launch(auth=...)`: Gradio's login keeps its tokens in memory,
has no expiry, no limit on failed attempts, SameSite=None cookies and no single sign-on;
`mount_gradio_app` lets one place (`user`) say who a request is, for every route.
An open server (team.Team.is_open: no login configured) is served on loopback only.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ..errors import AssistantError
from ..service.keys import is_loopback
from ..team import LOCAL, Team, TeamError
from .guard import local_path
from .proxy import proxy_user, trusted

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

COOKIE = "assistant-session"
PUBLIC = ("/login", "/logout", "/oidc/", "/v1/", "/mcp", "/favicon.ico")

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in \u2014 assistant</title><style>
body{{font-family:system-ui,sans-serif;background:#f6f7f9;display:flex;justify-content:center;
padding-top:12vh;margin:0}} form{{background:#fff;padding:2rem 2.2rem;border-radius:10px;
box-shadow:0 1px 4px #0002;width:20rem}} h1{{font-size:1.3rem;margin:0 0 1.2rem}}
label{{display:block;margin:.8rem 0 .3rem;font-size:.9rem}} input{{width:100%;padding:.5rem;
box-sizing:border-box;font-size:1rem}} button,a.sso{{display:block;width:100%;margin-top:1.2rem;
padding:.6rem;font-size:1rem;border:0;border-radius:6px;background:#2b59c3;color:#fff;
text-align:center;text-decoration:none;cursor:pointer}} .error{{color:#b00020;font-size:.9rem}}
.or{{text-align:center;color:#666;margin-top:1rem;font-size:.9rem}}</style></head><body>
<form method="post" action="login" id="login"><h1>Ask your documents</h1>{error}
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="sign-in">Sign in</button>{sso}</form></body></html>"""


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class Server:
    """Who a request is (`user`), and the routes that sign people in and out."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.settings = team.settings
        self.sso: Any = None
        if self.settings.oidc_issuer:
            from .oidc import Sso  # authlib: only loaded when single sign-on is set up

            self.sso = Sso(team)

    def peer(self, request: Request) -> str:
        """The address the connection comes from."""
        return request.client.host if request.client else "unknown"

    def from_proxy(self, request: Request) -> bool:
        proxies = self.settings.trusted_proxies
        return bool(proxies) and trusted(self.peer(request), proxies or "")

    def address(self, request: Request) -> str:
        """The client's address: the peer, or what a trusted proxy says (X-Forwarded-For's
        last entry, the one the proxy itself added)."""
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and self.from_proxy(request):
            return forwarded.rsplit(",", 1)[-1].strip() or self.peer(request)
        return self.peer(request)

    def secure(self, request: Request) -> bool:
        """Whether the browser speaks https to us (directly, or to a trusted proxy)."""
        if self.settings.public_url:
            return urlsplit(self.settings.public_url).scheme == "https"
        if self.from_proxy(request):
            return request.headers.get("x-forwarded-proto", "").lower() == "https"
        return request.url.scheme == "https"

    def user(self, request: Request) -> str | None:
        """The signed-in user of `request`, or None (Gradio's auth_dependency)."""
        if self.team.is_open():
            return LOCAL
        if self.settings.trusted_proxies:
            name = proxy_user(self.team, request, self.peer(request))
            if name is not None:
                return name
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        name = self.team.accounts.session_user(token)
        return name if name is not None and self.team.identity(name) is not None else None

    # --- routes ---------------------------------------------------------------

    def _page(self, next_: str, error: str = "", status: int = 200) -> Response:
        from starlette.responses import HTMLResponse

        sso = ""
        if self.sso is not None:
            sso = (f'<div class="or">or</div><a class="sso" id="sso" '
                   f'href="oidc/login?next={quote(next_)}">Sign in with single sign-on</a>')
        body = LOGIN_PAGE.format(next=html.escape(next_), sso=sso, error=(
            f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else ""))
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    async def login_page(self, request: Request) -> Response:
        from starlette.responses import RedirectResponse

        next_ = local_path(request.query_params.get("next"))
        if self.user(request) is not None:
            return RedirectResponse(next_, status_code=303)
        return self._page(next_)

    async def login(self, request: Request) -> Response:
        """A password login: the form (a browser, then 303 to `next`) or gradio_client's POST."""
        from starlette.responses import JSONResponse, RedirectResponse

        form = await request.form()
        name, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
        next_ = local_path(str(form.get("next") or "/"))
        browser = _wants_html(request)
        try:
            ok = bool(name and password) and self.team.authenticate(
                name, password, self.address(request))
        except TeamError as exc:  # too many attempts
            if browser:
                return self._page(next_, str(exc), 429)
            return JSONResponse({"detail": str(exc)}, status_code=429)
        if not ok:
            message = "Incorrect user name or password."
            if browser:
                return self._page(next_, message, 401)
            return JSONResponse({"detail": message}, status_code=401)
        if self.team.accounts.user(name) is None:  # ASSISTANT_AUTH's account: sessions need a row
            self.team.accounts.ensure_user(name, "env")
        response: Response = RedirectResponse(next_, status_code=303) if browser else \
            JSONResponse({"success": True})
        self.start_session(request, response, name)
        return response

    def start_session(self, request: Request, response: Response, name: str) -> None:
        seconds = self.settings.session_hours * 3600
        token = self.team.accounts.open_session(name, seconds)
        response.set_cookie(COOKIE, token, max_age=int(seconds), path="/", httponly=True,
                            samesite="lax", secure=self.secure(request))

    async def logout(self, request: Request) -> Response:
        from starlette.responses import RedirectResponse

        token = request.cookies.get(COOKIE)
        if token:
            name = self.team.accounts.session_user(token)
            self.team.accounts.close_session(token)
            if name:
                self.team.audit.record(name, "logout", address=self.address(request))
        response = RedirectResponse("login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    def routes(self) -> list[Any]:
        from starlette.routing import Route

        out = [Route(path, self.login_page, methods=["GET"]) for path in ("/login", "/login/")]
        out += [Route(path, self.login, methods=["POST"]) for path in ("/login", "/login/")]
        out += [Route("/logout", self.logout, methods=["GET", "POST"])]
        if self.sso is not None:
            out += self.sso.routes(self)
        return out


class LoginGate:
    """Sends a browser that is not signed in from the chat's page to the login page (Gradio
    itself would answer 401 JSON); every other route is Gradio's or the API's to refuse."""

    def __init__(self, app: Any, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("path") == "/":
            from starlette.requests import Request
            from starlette.responses import RedirectResponse

            request = Request(scope)
            if self.server.user(request) is None:
                target = "login" + (f"?next={quote('/?' + request.url.query)}"
                                    if request.url.query else "")
                await RedirectResponse(target, status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FileGate:
    """Gradio's file routes serve a file only to whoever may have it: an export, to its owner;
    anything else (an uploaded file's cached copy, a guessed path), to nobody (404). The chat
    itself serves no other file: page images are inline, uploads are indexed from the copy."""

    PREFIXES = ("/gradio_api/file=", "/gradio_api/file/", "/file=")

    def __init__(self, app: Any, server: Server, exports: Any) -> None:
        self.app, self.server, self.exports = app, server, exports

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.PREFIXES):
            from urllib.parse import unquote

            from starlette.requests import Request
            from starlette.responses import JSONResponse

            name = unquote(path).rstrip("/").rsplit("/", 1)[-1]
            owner = self.exports.owner_of(name)
            if owner is None or owner != self.server.user(Request(scope)):
                await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def check_exposure(team: Team) -> None:
    """An open server (no login) only on loopback: elsewhere anyone could read everything."""
    host = team.settings.host
    if team.is_open() and not is_loopback(host):
        raise AssistantError(
            f"refusing to serve on {host} without a login: anyone who can reach it would read "
            "every document. Add an account (`assistant user add NAME --password-stdin --admin`),"
            " or set ASSISTANT_OIDC_ISSUER (single sign-on), ASSISTANT_TRUSTED_PROXIES (a "
            "signing-in reverse proxy) or ASSISTANT_AUTH=user:password; or serve on 127.0.0.1 "
            "(docs/TEAMS.md)")


def app(team: Team, demo: Any, launch: dict[str, Any], api: Any, exports: Any) -> FastAPI:
    """The whole server: guards, login routes, the API, and the chat mounted at /."""
    import gradio as gr
    from fastapi import FastAPI
    from starlette.middleware import Middleware

    server = Server(team)
    parent = FastAPI(lifespan=api.lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                     middleware=[*launch.pop("middleware"), Middleware(LoginGate, server=server),
                                 Middleware(FileGate, server=server, exports=exports)])
    parent.router.routes.extend(server.routes() + api.routes())
    served = gr.mount_gradio_app(parent, demo, path="", auth_dependency=server.user, **launch)
    # Gradio checks that a file handed to an event was uploaded (not any path on the server)
    # only once `has_launched`, which launch() sets and mount_gradio_app does not: without
    # this, a crafted event could make the chat read and index any file the server can.
    demo.has_launched = True
    return served
