"""Single sign-on with OpenID Connect: the authorization code flow with PKCE (authlib).

    GET /oidc/login?next=/path     303 to the provider's authorization endpoint, with a
                                   random state, nonce and PKCE (S256) code challenge
    GET /oidc/callback?code&state  the code exchanged at the token endpoint (with the client
                                   secret and the PKCE verifier); the ID token checked: its
                                   signature against the provider's JWKS, iss, aud, azp, exp,
                                   iat and nonce; userinfo read when the ID token lacks the
                                   name or groups claim; the user made (source "oidc") and
                                   given the groups of the groups claim (when sent); a
                                   session started as after a password login; 303 to `next`

Where state, nonce and verifier wait between the two: in a cookie `assistant-oidc`,
encrypted and authenticated (Fernet, with a key derived from the client secret), HttpOnly,
SameSite=Lax (the provider's redirect back is a top-level GET, which Lax lets through),
Secure behind https, for 10 minutes, and removed at the callback. Nothing is kept on the
server, so a login started on one of several servers (or before a restart) ends on another;
the state in the cookie ties the callback to the browser that started it (no login CSRF);
the encryption keeps the verifier and nonce from anyone who reads the cookie; and a changed
client secret voids the logins under way. One login at a time per browser: a second one
started in another tab replaces the first.

The provider's metadata (`ISSUER/.well-known/openid-configuration`) is read at the first
sign-in, not at start-up, so the chat starts while the provider is down; its keys are read
again when a token names a key not seen yet (key rotation). The user's name is the
`oidc_name_claim` claim, else `sub`. A name that is already a password account here is
refused: a provider's user never takes over a local account (say, the administrator).
Every failure is a short page (400, or 502 when the provider cannot be reached), never a
traceback, and is recorded in the audit trail as `login_failed` with method "oidc".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..errors import AssistantError
from ..team import Team, TeamError
from ..team.accounts import checked_name
from .guard import local_path

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger(__name__)

FLOW = "assistant-oidc"  # the cookie that carries one sign-in from /oidc/login to the callback
FLOW_SECONDS = 600
METADATA_SECONDS = 3600.0
ENDPOINTS = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
TIMEOUT = 10.0  # seconds for each request to the provider
LEEWAY = 60  # seconds of clock difference allowed with the provider (exp, iat)
# Asymmetric signatures only: "none" and HS256 (keyed by the client secret) are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA"]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed \u2014 assistant</title><style>body{{font-family:system-ui,sans-serif;
background:#f6f7f9;display:flex;justify-content:center;padding-top:12vh;margin:0}}
main{{background:#fff;padding:2rem 2.2rem;border-radius:10px;box-shadow:0 1px 4px #0002;
width:24rem}} h1{{font-size:1.3rem;margin:0 0 1rem}} #sso-error{{color:#b00020}}</style>
</head><body><main><h1>Single sign-on failed</h1><p id="sso-error">{message}</p>
<p><a href="{login}">Back to the sign-in page</a></p></main></body></html>"""


class SsoError(AssistantError):
    """A single sign-on that cannot complete; the message is shown to the person signing in."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_id_token(id_token: str, keys: KeySet, issuer: str, client_id: str,
                   nonce: str) -> dict[str, Any]:
    """The claims of `id_token` once its signature (by one of `keys`), issuer, audience,
    authorized party, lifetime and nonce are what this sign-in expects (OIDC Core 3.1.3.7)."""
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY, iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id}, sub={"essential": True},
            exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce}).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SsoError(f"the identity provider's ID token was refused ({exc})") from exc
    claims = dict(token.claims)
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise SsoError("the identity provider's ID token was made for another client (azp)")
    return claims


def identity(claims: dict[str, Any], name_claim: str,
             groups_claim: str) -> tuple[str, list[str] | None]:
    """The user name (the `name_claim` claim, else `sub`) and the groups the claims give
    (a list, or a string of names separated by commas or spaces); None without the claim."""
    name = claims.get(name_claim) or claims.get("sub")
    if not isinstance(name, str) or not name:
        raise SsoError(f"the identity provider sent neither a {name_claim!r} claim nor 'sub': "
                       "nobody to sign in (ASSISTANT_OIDC_NAME_CLAIM)")
    try:
        checked_name("user", name)
    except TeamError as exc:
        raise SsoError(f"the identity provider's {name_claim!r} claim cannot name a user here: "
                       f"{exc}") from exc
    raw = claims.get(groups_claim)
    if raw is None:
        return name, None
    groups = raw.replace(",", " ").split() if isinstance(raw, str) else \
        [g for g in raw if isinstance(g, str)] if isinstance(raw, list) else []
    return name, sorted(set(groups))


class Sso:
    """Signs people in through the OpenID Connect provider of `team.settings`."""

    def __init__(self, team: Team) -> None:
        from cryptography.fernet import Fernet

        s = team.settings
        assert s.oidc_issuer and s.oidc_client_id and s.oidc_client_secret  # Settings checks
        self.team, self.settings = team, s
        self.issuer = s.oidc_issuer.rstrip("/")
        self.client_id = s.oidc_client_id
        self._secret = s.oidc_client_secret.get_secret_value()
        key = hashlib.sha256(b"assistant oidc flow\0" + self._secret.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    # --- the provider -----------------------------------------------------------

    def _client(self, redirect_uri: str) -> Any:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(self.client_id, self._secret, scope=self.settings.oidc_scopes,
                                 redirect_uri=redirect_uri, code_challenge_method="S256",
                                 timeout=TIMEOUT)

    async def _get(self, client: Any, url: str, with_token: bool = False) -> Any:
        try:
            response = await client.request("GET", url, withhold_token=not with_token)
            response.raise_for_status()
            return response.json()
        except Exception as exc:  # unreachable, an error status, not JSON: all the same here
            log.warning("single sign-on: %s failed: %s", url, exc)
            raise SsoError("the identity provider cannot be reached or answered an error; try "
                           "again later", 502) from exc

    async def metadata(self, client: Any) -> dict[str, Any]:
        """The provider's configuration (OIDC Discovery), cached for an hour."""
        if self._metadata is None or time.time() - self._metadata_at > METADATA_SECONDS:
            meta = await self._get(client, self.issuer + "/.well-known/openid-configuration")
            if not isinstance(meta, dict) or str(meta.get("issuer", "")).rstrip("/") != \
                    self.issuer or not all(isinstance(meta.get(k), str) for k in ENDPOINTS):
                log.warning("single sign-on: %s/.well-known/openid-configuration names another "
                            "issuer or lacks %s: %r", self.issuer, ", ".join(ENDPOINTS), meta)
                raise SsoError("the identity provider's configuration does not fit "
                               "ASSISTANT_OIDC_ISSUER (its issuer, or an endpoint missing)", 502)
            self._metadata, self._metadata_at, self._keys = meta, time.time(), None
        return self._metadata

    async def _key_set(self, client: Any, meta: dict[str, Any], fresh: bool) -> KeySet:
        if self._keys is None or fresh:
            try:
                self._keys = KeySet.import_key_set(await self._get(client, meta["jwks_uri"]))
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise SsoError("the identity provider's keys (jwks_uri) cannot be read", 502) \
                    from exc
        return self._keys

    async def _claims(self, client: Any, code: str, flow: dict[str, str]) -> dict[str, Any]:
        """The checked ID token's claims, completed from userinfo when they lack ours."""
        from authlib.integrations.base_client import OAuthError

        meta = await self.metadata(client)
        try:
            token = await client.fetch_token(meta["token_endpoint"], code=code,
                                             grant_type="authorization_code",
                                             code_verifier=flow["verifier"])
        except OAuthError as exc:
            raise SsoError(f"the identity provider refused the sign-in code ({exc.error}: "
                           f"{exc.description or 'no description'})") from exc
        except Exception as exc:
            log.warning("single sign-on: the token request failed: %s", exc)
            raise SsoError("the identity provider cannot be reached; try again later",
                           502) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError("the identity provider sent no ID token (is 'openid' among the "
                           "scopes, ASSISTANT_OIDC_SCOPES?)")
        args = (meta["issuer"], self.client_id, flow["nonce"])
        try:
            claims = check_id_token(id_token, await self._key_set(client, meta, False), *args)
        except SsoError:  # perhaps signed by a key published since: read the keys again once
            claims = check_id_token(id_token, await self._key_set(client, meta, True), *args)
        s = self.settings
        wanted = (s.oidc_name_claim, s.oidc_groups_claim)
        if any(c not in claims for c in wanted) and meta.get("userinfo_endpoint"):
            info = await self._get(client, meta["userinfo_endpoint"], with_token=True)
            if isinstance(info, dict) and info.get("sub") == claims["sub"]:  # Core 5.3.2
                claims.update({c: info[c] for c in wanted if c not in claims and c in info})
        return claims

    # --- the routes -------------------------------------------------------------

    def _redirect_uri(self, request: Request) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/") + "/oidc/callback"
        return str(request.url_for("oidc_callback"))

    def _error(self, server: Any, request: Request, message: str, status: int = 400,
               name: str | None = None) -> Response:
        from starlette.responses import HTMLResponse

        self.team.audit.record(name, "login_failed", address=server.address(request),
                               method="oidc", reason=message)
        body = PAGE.format(message=html.escape(message[0].upper() + message[1:] + "."),
                           login="../login")  # relative: right behind a path prefix too
        response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
        response.delete_cookie(FLOW, path="/")
        return response

    async def login(self, server: Any, request: Request) -> Response:
        from authlib.common.security import generate_token
        from starlette.responses import RedirectResponse

        flow = {"state": generate_token(32), "nonce": generate_token(32),
                "verifier": generate_token(64), "redirect_uri": self._redirect_uri(request),
                "next": local_path(request.query_params.get("next"))}
        async with self._client(flow["redirect_uri"]) as client:
            try:
                meta = await self.metadata(client)
            except SsoError as exc:
                return self._error(server, request, str(exc), exc.status)
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=flow["state"], nonce=flow["nonce"],
                code_verifier=flow["verifier"])
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        sealed = self._fernet.encrypt(json.dumps(flow).encode("utf-8")).decode("ascii")
        response.set_cookie(FLOW, sealed, max_age=FLOW_SECONDS, path="/", httponly=True,
                            samesite="lax", secure=server.secure(request))
        return response

    def _flow(self, request: Request) -> dict[str, str] | None:
        from cryptography.fernet import InvalidToken

        sealed = request.cookies.get(FLOW)
        if not sealed:
            return None
        try:
            flow = json.loads(self._fernet.decrypt(sealed.encode("ascii"), ttl=FLOW_SECONDS))
        except (InvalidToken, ValueError, UnicodeEncodeError):
            return None
        return flow if isinstance(flow, dict) else None

    async def callback(self, server: Any, request: Request) -> Response:
        from starlette.responses import RedirectResponse

        params = request.query_params
        flow = self._flow(request)
        state = params.get("state", "")
        # Some providers send an error without the state: shown only to a browser that is
        # signing in, and nothing is signed in by it.
        if flow is not None and "error" in params and state in ("", flow["state"]):
            detail = params.get("error_description") or params["error"]
            return self._error(server, request,
                               f"the identity provider did not sign you in: {detail}")
        if flow is None or not hmac.compare_digest(flow["state"].encode(), state.encode()):
            return self._error(server, request, "this sign-in was not started in this browser, "
                               "or it took longer than 10 minutes: please start again")
        if not params.get("code"):
            return self._error(server, request, "the identity provider sent no sign-in code")
        name = None
        try:
            async with self._client(flow["redirect_uri"]) as client:
                claims = await self._claims(client, params["code"], flow)
            s = self.settings
            name, groups = identity(claims, s.oidc_name_claim, s.oidc_groups_claim)
            existing = self.team.accounts.user(name)
            if existing is not None and existing.source != "oidc":
                raise SsoError(f"{name!r} is an account of this server that signs in with "
                               "its password, not with single sign-on", 403)
            self.team.accounts.ensure_user(name, "oidc")
            if groups is not None:  # without the claim, groups set here (`group add`) stay
                self.team.accounts.set_groups(name, groups)
        except SsoError as exc:
            return self._error(server, request, str(exc), exc.status, name)
        self.team.audit.record(name, "login", address=server.address(request), method="oidc",
                               groups=groups)
        response = RedirectResponse(flow["next"], status_code=303)
        response.delete_cookie(FLOW, path="/")
        server.start_session(request, response, name)
        return response

    def routes(self, server: Any) -> list[Any]:
        """GET /oidc/login and GET /oidc/callback; `server` (server.Server) starts sessions."""
        from starlette.routing import Route

        async def login(request: Request) -> Response:
            return await self.login(server, request)

        async def callback(request: Request) -> Response:
            return await self.callback(server, request)

        return [Route("/oidc/login", login, methods=["GET"], name="oidc_login"),
                Route("/oidc/callback", callback, methods=["GET"], name="oidc_callback")]
