"""Single sign-on end to end: a real OpenID Connect provider (oidc-provider-mock, started here
on a free loopback port, with a registered client whose redirect URI and secret it checks),
the real app (`python app.py`, accounts and grants made by the real CLI) and headless Chromium.
The callback's refusals are driven over HTTP (httpx), as a browser would follow them.
"""

from __future__ import annotations

import json
import urllib.request

import httpx
import pytest
from sso_provider import Provider, provider
from ui_server import CHROMIUM, CHROMIUM_FLAGS, App, cli, free_port, start_app

from assistant.config import Settings
from assistant.team import Team

pytestmark = [
    pytest.mark.browser,
    # oidc-provider-mock still calls authlib's older provider API (its own warnings, not ours)
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated"),
    pytest.mark.filterwarnings("ignore:get_jwt_config"),
]

USERS = {
    "u-alice": {"preferred_username": "alice-sso", "groups": ["analysts"]},
    "u-bob": {"preferred_username": "bob-sso", "groups": ["visitors"]},
    "u-carol": {"preferred_username": "carol"},  # a password account of the server
    "u-odd": {"preferred_username": "Not A Name"},
}
CAROL = "carol-pass-12"


@pytest.fixture(scope="module")
def idp():
    with provider(USERS) as served:
        yield served


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, idp: Provider):
    work = tmp_path_factory.mktemp("sso")
    for name in ("alpha", "bravo"):
        (work / name).mkdir()
        (work / name / f"{name}.txt").write_text(f"The {name} team meets on Mondays.\n",
                                                 encoding="utf-8")
    index = work / "index"
    cli("collection", "add", "alpha", "--docs", str(work / "alpha"), index=index)
    cli("collection", "add", "bravo", "--docs", str(work / "bravo"), index=index)
    cli("user", "add", "carol", "--password-stdin", index=index, stdin=CAROL + "\n")
    cli("grant", "@analysts", "reader", "alpha", index=index)
    port = free_port()
    client_id, secret = idp.register(f"http://127.0.0.1:{port}/oidc/callback")
    served = start_app(work, work / "alpha", index, port=port, extra_env={
        "ASSISTANT_OIDC_ISSUER": idp.issuer, "ASSISTANT_OIDC_CLIENT_ID": client_id,
        "ASSISTANT_OIDC_CLIENT_SECRET": secret})
    yield served
    served.stop()
    assert secret not in served.log_tail(100_000)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def team(app: App) -> Team:
    return Team(Settings.load(env={}, index_dir=app.index_dir))


def sign_in_with_sso(browser, app: App, sub: str, path: str = ""):
    """A fresh browser signs in through the provider's page as `sub`; returns its page."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    page.goto(app.url + path)
    page.wait_for_selector("#sso")
    page.click("#sso")
    page.wait_for_selector(f"button[name=sub][value={sub}]")  # the provider's own page
    page.click(f"button[name=sub][value={sub}]")
    return page


def test_sso_in_chromium_lands_in_the_chat_with_the_groups_rights(browser, app, idp):
    page = sign_in_with_sso(browser, app, "u-alice", "?view=x")
    page.wait_for_selector("#question textarea", timeout=60_000)
    assert page.url == app.url + "?view=x"  # `next` kept through the provider
    assert page.request.get(app.url + "config").ok  # Gradio's own routes answer her
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["assistant-session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert "assistant-oidc" not in cookies  # the sign-in's state is gone
    alice = team(app).identity("alice-sso")
    assert alice is not None and alice.groups == ("analysts",)
    assert team(app).accounts.user("alice-sso").source == "oidc"
    assert team(app).policy.readable(alice) == ["alpha"]
    logins = team(app).audit.events(user="alice-sso", action="login")
    assert logins[-1].detail == {"address": "127.0.0.1", "method": "oidc",
                                 "groups": ["analysts"]}
    page.context.close()

    page = sign_in_with_sso(browser, app, "u-bob")
    page.wait_for_selector("#question textarea", timeout=60_000)
    bob = team(app).identity("bob-sso")
    assert bob is not None and bob.groups == ("visitors",)
    assert team(app).policy.readable(bob) == []  # no grant for his group: no collections
    page.context.close()


def test_a_wrong_password_in_the_browser_form_shows_the_error(browser, app):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(app.url)
    page.fill("#username", "carol")
    page.fill("#password", "not-her-password")
    page.click("#sign-in")
    assert page.locator("#login-error").inner_text() == "Incorrect user name or password."
    assert not [c for c in ctx.cookies() if c["name"] == "assistant-session"]
    page.fill("#username", "carol")
    page.fill("#password", CAROL)
    page.click("#sign-in")
    page.wait_for_selector("#question textarea", timeout=60_000)
    ctx.close()


def test_denying_at_the_provider_shows_a_message_not_a_traceback(browser, app):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(app.url)
    page.click("#sso")
    page.wait_for_selector("button[value=deny]")
    with page.expect_response(lambda r: "/oidc/callback" in r.url) as answer:
        page.click("button[value=deny]")
    assert answer.value.status == 400
    message = page.locator("#sso-error").inner_text()
    assert "did not sign you in" in message and "Traceback" not in page.content()
    page.click("text=Back to the sign-in page")
    page.wait_for_selector("#sso")
    ctx.close()


# --- the callback over HTTP ---------------------------------------------------------------

def start(app: App) -> tuple[httpx.Client, str]:
    """GET /oidc/login in a new client: the client (holding the state cookie) and the
    provider's authorization URL."""
    c = httpx.Client(base_url=app.url, timeout=30)
    r = c.get("/oidc/login", params={"next": "/"})
    assert r.status_code == 303
    return c, r.headers["location"]


def authorize(url: str, sub: str) -> str:
    """The provider's form, submitted for `sub`: the callback URL it redirects to."""
    r = httpx.post(url, data={"sub": sub}, timeout=30)
    assert r.status_code == 302, r.text
    return r.headers["location"]


def test_the_login_asks_for_a_code_with_state_nonce_and_pkce_in_a_sealed_cookie(app):
    c, url = start(app)
    query = httpx.URL(url).params
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32 and query["code_challenge"]
    assert query["redirect_uri"] == app.url + "oidc/callback"
    assert set(query["scope"].split()) >= {"openid", "profile"}
    cookie = c.get("/oidc/login").headers["set-cookie"].lower()
    assert cookie.startswith("assistant-oidc=") and "httponly" in cookie
    assert "samesite=lax" in cookie and "max-age=600" in cookie
    sealed = c.cookies["assistant-oidc"]
    assert query["state"] not in sealed and query["nonce"] not in sealed  # encrypted
    c.close()


def test_the_callback_refuses_another_browser_a_forged_state_and_a_replay(app):
    c, url = start(app)
    callback = authorize(url, "u-alice")
    params = dict(httpx.URL(callback).params)
    with httpx.Client(timeout=30) as other:  # a browser that did not start this sign-in
        r = other.get(callback)
        assert r.status_code == 400 and "not started in this browser" in r.text
        assert "assistant-session" not in r.cookies
    r = c.get("/oidc/callback", params={**params, "state": params["state"][:-1] + "x"})
    assert r.status_code == 400 and "not started in this browser" in r.text
    sealed = c.cookies.get("assistant-oidc")
    assert sealed is None  # an error page clears the state too: start again
    c.close()

    c, url = start(app)
    callback = authorize(url, "u-alice")
    sealed = c.cookies["assistant-oidc"]
    r = c.get(callback, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "assistant-session" in r.cookies and "assistant-oidc" not in c.cookies
    c.cookies.set("assistant-oidc", sealed)  # the same code once more, with its old state
    r = c.get(callback, follow_redirects=False)
    assert r.status_code == 400 and "refused the sign-in code" in r.text
    assert "Traceback" not in r.text
    c.close()


def test_a_local_account_and_an_unusable_name_are_refused(app):
    for sub, status, message in (("u-carol", 403, "signs in with its password"),
                                 ("u-odd", 400, "cannot name a user")):
        c, url = start(app)
        r = c.get(authorize(url, sub), follow_redirects=False)
        assert r.status_code == status and message in r.text, r.text
        assert "assistant-session" not in r.cookies
        c.close()
    assert team(app).accounts.user("carol").source == "local"  # not taken over
    failed = team(app).audit.events(action="login_failed")
    assert any(e.user == "carol" and e.detail.get("method") == "oidc" for e in failed)


def test_the_groups_follow_the_provider_at_each_sign_in(app, idp):
    def set_claims(claims: dict) -> None:
        req = urllib.request.Request(f"{idp.issuer}/users/u-dora", method="PUT",
                                     data=json.dumps(claims).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).close()

    def sign_in() -> None:
        c, url = start(app)
        assert c.get(authorize(url, "u-dora"), follow_redirects=False).status_code == 303
        c.close()

    set_claims({"preferred_username": "dora", "groups": ["analysts", "../bad"]})
    sign_in()
    dora = team(app).identity("dora")
    assert dora.groups == ("analysts",) and team(app).policy.readable(dora) == ["alpha"]
    set_claims({"preferred_username": "dora", "groups": []})  # removed from the group
    sign_in()
    dora = team(app).identity("dora")
    assert dora.groups == () and team(app).policy.readable(dora) == []
