"""Signing in over HTTP against the real app (`python app.py`), its accounts made by the real
CLI: password logins and their cookie, logout, session expiry, failed-login limits per account
and per address, the reverse proxy's header, and an open server refusing a public address.
Then the ID-token checks of web/oidc.py with real keys (the browser test signs in end to end).

Several client addresses come from the loopback network itself: on Linux every 127.x.y.z is
this machine, so a client bound to 127.0.0.2 is another address to the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from ui_server import ROOT, App, cli, start_app

from assistant.config import Settings
from assistant.team import Team

PASSWORDS = {"alice": "alice-pass-1", "dave": "dave-pass-12", "erin": "erin-pass-12"}


def team_server(work: Path, extra_env: dict[str, str]) -> App:
    """Two collections, three users and a group granted one collection, set up by script."""
    for name, text in (("alpha", "Alpha pays its invoices in 30 days."),
                       ("bravo", "Bravo keeps its secret code in the safe.")):
        (work / name).mkdir()
        (work / name / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    index = work / "index"
    cli("collection", "add", "alpha", "--docs", str(work / "alpha"), index=index)
    cli("collection", "add", "bravo", "--docs", str(work / "bravo"), index=index)
    for name, password in PASSWORDS.items():
        cli("user", "add", name, "--password-stdin", index=index, stdin=password + "\n")
    cli("grant", "alice", "reader", "alpha", index=index)
    cli("grant", "@analysts", "reader", "bravo", index=index)
    return start_app(work, work / "alpha", index, extra_env=extra_env)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    served = team_server(tmp_path_factory.mktemp("login"),
                         {"ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory):
    """Three failures allowed, 3.6-second sessions, a proxy at an address that is not ours."""
    served = team_server(tmp_path_factory.mktemp("strict"), {
        "ASSISTANT_LOGIN_ATTEMPTS": "3", "ASSISTANT_SESSION_HOURS": "0.001",
        "ASSISTANT_TRUSTED_PROXIES": "10.1.2.3"})
    yield served
    served.stop()


def client(app: App, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=app.url, timeout=30, follow_redirects=False,
                        transport=httpx.HTTPTransport(local_address=source))


def login(app: App, name: str, password: str, source: str = "127.0.0.1",
          browser: bool = True, next_: str = "/") -> httpx.Response:
    headers = {"Accept": "text/html"} if browser else {}
    with client(app, source) as c:
        return c.post("/login", data={"username": name, "password": password, "next": next_},
                      headers=headers)


def signed_in(app: App, token: str | None, source: str = "127.0.0.1") -> bool:
    """Does Gradio's own config route (behind the auth dependency) answer this session?"""
    with client(app, source) as c:
        if token:
            c.cookies.set("assistant-session", token)
        r = c.get("/config")
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def team(app: App) -> Team:
    return Team(Settings.load(env={}, index_dir=app.index_dir))


def test_a_wrong_password_is_refused_and_a_right_one_sets_a_strict_cookie(app):
    r = login(app, "alice", "not-her-password")
    assert r.status_code == 401 and "Incorrect user name or password" in r.text
    assert "set-cookie" not in r.headers
    r = login(app, "alice", "not-her-password", browser=False)  # gradio_client's way
    assert r.status_code == 401 and r.json()["detail"] == "Incorrect user name or password."
    assert login(app, "nobody", "alice-pass-1").status_code == 401

    r = login(app, "alice", PASSWORDS["alice"], next_="/?view=sources")
    assert r.status_code == 303 and r.headers["location"] == "/?view=sources"
    cookie = r.headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert cookie.startswith("assistant-session=")
    assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes  # http
    assert "samesite=lax" in cookie.lower() and "max-age=43200" in cookie.lower()
    token = r.cookies["assistant-session"]
    assert signed_in(app, token) and not signed_in(app, None)
    assert not signed_in(app, token[:-2] + "xx")
    with client(app) as c:
        assert c.get("/").status_code == 303  # a browser without a session: the login page
        c.cookies.set("assistant-session", token)
        assert c.get("/").status_code == 200
    # `next` never leaves the server
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert login(app, "alice", PASSWORDS["alice"], next_=target).headers["location"] == "/"


def test_logout_ends_the_session_and_the_old_cookie_no_longer_works(app):
    token = login(app, "alice", PASSWORDS["alice"]).cookies["assistant-session"]
    assert signed_in(app, token)
    with client(app) as c:
        c.cookies.set("assistant-session", token)
        r = c.get("/logout")
    assert r.status_code == 303 and r.headers["location"] == "login"
    assert 'assistant-session=""' in r.headers["set-cookie"]
    assert not signed_in(app, token)  # the server forgot it, not only the browser
    events = team(app).audit.events(user="alice", action="logout")
    assert events and events[-1].detail["address"] == "127.0.0.1"


def test_an_expired_session_no_longer_works(strict):
    r = login(strict, "alice", PASSWORDS["alice"])
    token = r.cookies["assistant-session"]
    assert "max-age=3" in r.headers["set-cookie"].lower()  # 0.001 hours
    assert signed_in(strict, token)
    time.sleep(4.5)
    assert not signed_in(strict, token)


def test_failed_logins_lock_the_account_and_the_address_even_with_the_right_password(strict):
    for _ in range(3):
        assert login(strict, "dave", "wrong-password", source="127.0.0.2").status_code == 401
    # the account, from an address that never failed
    r = login(strict, "dave", PASSWORDS["dave"], source="127.0.0.3")
    assert r.status_code == 429 and "too many failed logins" in r.text
    assert "set-cookie" not in r.headers
    r = login(strict, "dave", PASSWORDS["dave"], source="127.0.0.3", browser=False)
    assert r.status_code == 429 and "too many failed logins" in r.json()["detail"]
    # the address, for an account that never failed
    assert login(strict, "erin", PASSWORDS["erin"], source="127.0.0.2").status_code == 429
    # ... while that account from elsewhere is fine
    assert login(strict, "erin", PASSWORDS["erin"], source="127.0.0.4").status_code == 303
    refused = team(strict).audit.events(action="login_refused")
    assert {(e.user, e.detail["address"]) for e in refused} >= {
        ("dave", "127.0.0.3"), ("erin", "127.0.0.2")}


def test_the_proxy_header_is_believed_from_a_trusted_address_only(app, strict):
    headers = {"X-Forwarded-User": "pat", "X-Forwarded-Groups": "analysts, staff"}
    with client(app) as c:  # 127.0.0.1 is in ASSISTANT_TRUSTED_PROXIES
        assert c.get("/config", headers=headers).status_code == 200
        assert c.get("/", headers=headers).status_code == 200
    pat = team(app).identity("pat")
    assert pat is not None and pat.groups == ("analysts", "staff")
    assert team(app).policy.readable(pat) == ["bravo"]  # the group's grant
    assert team(app).accounts.user("pat").source == "proxy"
    with client(app, "127.0.0.2") as c:  # not a trusted proxy: the header is ignored
        assert c.get("/config", headers={"X-Forwarded-User": "alice"}).status_code == 401
    with client(strict) as c:  # its only trusted proxy is 10.1.2.3
        assert c.get("/config", headers={"X-Forwarded-User": "alice"}).status_code == 401
        assert c.get("/", headers={"X-Forwarded-User": "alice"}).status_code == 303
    assert team(strict).accounts.user("pat") is None


def test_a_trusted_proxy_that_sends_x_forwarded_for_is_believed_and_counts_by_it(app, strict):
    """nginx's usual set-up adds X-Forwarded-For: the user header is still the proxy's (its
    peer address is trusted), and failed logins count against the forwarded address."""
    forwarded = {"X-Forwarded-User": "quinn", "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    with client(app) as c:
        assert c.get("/config", headers=forwarded).status_code == 200
    with client(app, "127.0.0.2") as c:  # not a proxy: neither header is believed
        assert c.get("/config", headers=forwarded).status_code == 401
    with client(app) as c:
        r = c.post("/login", data={"username": "alice", "password": "wrong-password"},
                   headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401
    failed = team(app).audit.events(user="alice", action="login_failed")
    assert failed[-1].detail["address"] == "203.0.113.9"  # the proxy's last entry
    with client(strict) as c:  # 127.0.0.1 is not strict's proxy: the peer's address counts
        c.post("/login", data={"username": "alice", "password": "wrong-password"},
               headers={"X-Forwarded-For": "203.0.113.9"})
    assert team(strict).audit.events(action="login_failed")[-1].detail["address"] == \
        "127.0.0.1"


def test_an_open_server_on_a_public_address_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "GRADIO_"))}
    env.update({"ASSISTANT_HOST": "0.0.0.0", "ASSISTANT_PORT": "1",  # never reached
                "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
                "ASSISTANT_DOCS_DIR": str(tmp_path / "docs"), "HF_HUB_OFFLINE": "1"})
    r = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "refusing to serve on 0.0.0.0 without a login" in out
    for what in ("assistant user add", "ASSISTANT_OIDC_ISSUER", "ASSISTANT_TRUSTED_PROXIES",
                 "127.0.0.1"):
        assert what in out
    assert "Traceback" not in out


# --- the ID token checks of web/oidc.py, with real keys ------------------------------------

ISSUER, CLIENT = "https://id.example", "assistant-client"


def id_token(key, **claims) -> str:
    from joserfc import jwt

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": CLIENT, "sub": "u-1", "iat": now, "exp": now + 300,
               "nonce": "n-1", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    alg = "HS256" if key.key_type == "oct" else "RS256"
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def test_an_id_token_is_accepted_only_signed_by_the_providers_key_and_meant_for_us():
    from joserfc.jwk import KeySet, OctKey, RSAKey

    from assistant.web.oidc import SsoError, check_id_token

    ours = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, another key
    published = KeySet.import_key_set({"keys": [ours.as_dict(private=False)]})
    claims = check_id_token(id_token(ours, groups=["g"]), published, ISSUER, CLIENT, "n-1")
    assert claims["sub"] == "u-1" and claims["groups"] == ["g"]
    assert check_id_token(id_token(ours, aud=[CLIENT, "x"], azp=CLIENT), published, ISSUER,
                          CLIENT, "n-1")["azp"] == CLIENT
    refused = [
        id_token(other),  # a forged signature
        id_token(ours, iss="https://evil.example"),
        id_token(ours, aud="another-client"),
        id_token(ours, aud=[CLIENT, "x"]),  # several audiences and no azp
        id_token(ours, nonce="n-2"),  # replayed from another sign-in
        id_token(ours, nonce=None),
        id_token(ours, exp=int(time.time()) - 3600),
        id_token(ours)[:-4] + "AAAA",
        id_token(OctKey.import_key(b"x" * 32, {"kid": "k1"})),  # HS256: not allowed
        "not.a.token",
    ]
    for token in refused:
        with pytest.raises(SsoError, match="refused|another client"):
            check_id_token(token, published, ISSUER, CLIENT, "n-1")


def test_the_name_comes_from_its_claim_else_sub_and_groups_from_theirs():
    from assistant.web.oidc import SsoError, identity

    assert identity({"sub": "u-1", "preferred_username": "alice", "groups": ["b", "a", "a"]},
                    "preferred_username", "groups") == ("alice", ["a", "b"])
    assert identity({"sub": "u-1", "roles": "x, y z"}, "preferred_username", "roles") == \
        ("u-1", ["x", "y", "z"])
    assert identity({"sub": "u-1"}, "preferred_username", "groups") == ("u-1", None)
    with pytest.raises(SsoError, match="cannot name a user"):
        identity({"sub": "u-1", "email": "Alice Smith <a@x>"}, "email", "groups")
    with pytest.raises(SsoError, match="neither"):
        identity({"email": "a@x"}, "preferred_username", "groups")
