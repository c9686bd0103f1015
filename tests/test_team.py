"""The team database, the policy and the team commands, on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.team import Forbidden, NoSuchCollection, Team, TeamError, TooManyAttempts


def settings(tmp_path: Path, **kw) -> Settings:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    return Settings.load(env={}, docs_dir=tmp_path / "docs", index_dir=tmp_path / "index", **kw)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    from assistant.team import collections

    s = settings(tmp_path)
    t = Team(s)
    collections.add(t.db, "alpha", tmp_path / "a", None, "Alpha")
    collections.add(t.db, "bravo", tmp_path / "b", None, None)
    t = Team(s)  # collections are read when a Team is made
    t.accounts.add_user("alice", "alice-pass-1")
    t.accounts.add_user("bob", "bob-pass-12")
    t.accounts.add_user("root", "root-pass-1", admin=True)
    return t


def test_an_empty_team_is_open_and_everyone_is_the_local_administrator(tmp_path):
    t = Team(settings(tmp_path))
    assert t.is_open()
    who = t.identity(None)
    assert who is not None and who.admin
    assert t.collections.names() == ["default"]
    assert t.policy.may(who, "upload", "default")


def test_roles_by_user_and_by_group_and_the_strongest_wins(team):
    acc = team.accounts
    acc.grant("alice", "reader", "alpha")
    acc.add_members("staff", ["alice", "bob"])
    acc.grant("@staff", "editor", "alpha")
    acc.grant("@staff", "reader", "bravo")
    alice, bob = team.identity("alice"), team.identity("bob")
    assert not team.is_open()
    assert alice.roles == {"alpha": "editor", "bravo": "reader"}
    assert team.policy.may(alice, "upload", "alpha")
    assert not team.policy.may(alice, "upload", "bravo")
    assert team.policy.readable(bob) == ["alpha", "bravo"]
    acc.remove_members("staff", ["bob"])
    assert team.policy.readable(team.identity("bob")) == []
    assert team.policy.readable(team.identity("root")) == ["alpha", "bravo"]
    assert team.identity("nobody") is None and team.identity(None) is None


def test_an_unreadable_collection_is_answered_like_a_missing_one(team):
    team.accounts.grant("alice", "reader", "alpha")
    alice = team.identity("alice")
    with pytest.raises(NoSuchCollection) as hidden:
        team.policy.require(alice, "ask", "bravo")
    with pytest.raises(NoSuchCollection) as missing:
        team.policy.require(alice, "ask", "charlie")
    assert str(hidden.value).replace("bravo", "X") == str(missing.value).replace("charlie", "X")
    assert "bravo" not in str(missing.value)
    with pytest.raises(Forbidden, match="editor"):
        team.policy.require(alice, "upload", "alpha")
    assert team.policy.require(alice, "read", "alpha") == "alpha"


def test_passwords_are_stored_as_argon2_hashes_and_checked(team, tmp_path):
    assert team.accounts.check_password("alice", "alice-pass-1")
    assert not team.accounts.check_password("alice", "alice-pass-2")
    assert not team.accounts.check_password("nobody", "alice-pass-1")
    raw = (tmp_path / "index" / "team.sqlite").read_bytes()
    assert b"alice-pass-1" not in raw
    with sqlite3.connect(tmp_path / "index" / "team.sqlite") as db:
        (stored,) = db.execute("SELECT password FROM users WHERE name='alice'").fetchone()
    assert stored.startswith("$argon2id$")
    assert (tmp_path / "index" / "team.sqlite").stat().st_mode & 0o077 == 0
    with pytest.raises(TeamError, match="at least 8"):
        team.accounts.add_user("carol", "short")
    with pytest.raises(TeamError, match="exists"):
        team.accounts.add_user("alice", "another-pass")
    with pytest.raises(TeamError, match="not allowed"):
        team.accounts.add_user("../etc", "another-pass")


def test_failed_logins_are_limited_per_account_and_per_address(team):
    for _ in range(5):
        assert not team.authenticate("alice", "wrong-pass", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        team.authenticate("alice", "alice-pass-1", "10.0.0.2")  # the account is locked
    for _ in range(5):
        assert not team.authenticate("bob", "wrong", "10.0.0.9")
    with pytest.raises(TooManyAttempts):  # and the address, for another account
        team.authenticate("root", "root-pass-1", "10.0.0.9")
    assert team.authenticate("root", "root-pass-1", "10.0.0.3")
    actions = [e.action for e in team.audit.events()]
    assert actions.count("login_failed") == 10 and "login_refused" in actions
    assert "wrong-pass" not in json.dumps([e.detail for e in team.audit.events()])


def test_keys_and_sessions_are_kept_as_digests_and_revoked_at_once(team, tmp_path):
    key_id, key = team.accounts.create_key("alice")
    assert team.accounts.key_user(key) == "alice"
    assert team.accounts.key_user(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    token = team.accounts.open_session("bob", 60)
    assert team.accounts.session_user(token) == "bob"
    raw = (tmp_path / "index" / "team.sqlite").read_bytes()
    assert key.encode() not in raw and token.encode() not in raw
    assert team.accounts.revoke_key(key_id)
    assert team.accounts.key_user(key) is None
    team.accounts.close_session(token)
    assert team.accounts.session_user(token) is None
    expired = team.accounts.open_session("bob", -1)
    assert team.accounts.session_user(expired) is None
    team.accounts.remove_user("alice")
    assert team.accounts.keys("alice") == []


def test_conversations_are_found_only_by_their_owner(team):
    h = team.history
    records = [{"question": "What is the secret code of Bravo?", "answer": "4417"}]
    cid = h.save("alice", None, "alpha", records)
    assert h.get("bob", cid) is None
    assert h.save("bob", cid, "alpha", [{"question": "mine"}]) != cid  # not hers to overwrite
    assert h.get("alice", cid).records == records
    assert [c.title for c in h.list("alice")] == ["What is the secret code of Bravo?"]
    assert not h.rename("bob", cid, "stolen") and h.rename("alice", cid, "Bravo  code")
    assert h.list("alice")[0].title == "Bravo code"
    assert not h.delete("bob", cid) and h.get("alice", cid) is not None
    assert h.delete("alice", cid) and h.list("alice") == []


def test_collections_from_a_toml_file_and_their_errors(tmp_path):
    cfg = tmp_path / "assistant.toml"
    cfg.write_text('[collections.hr]\ndocs = "a"\ntitle = "Human resources"\n'
                   '[collections.sales]\ndocs = "b"\nindex = "idx/sales"\n', encoding="utf-8")
    t = Team(settings(tmp_path, config=cfg))
    assert t.collections.names() == ["hr", "sales"]
    hr = t.collections.get("hr")
    assert hr.docs_dir == (tmp_path / "a").resolve() and hr.title == "Human resources"
    assert hr.index_dir == tmp_path / "index" / "collections" / "hr"
    assert t.collections.get("sales").index_dir == (tmp_path / "idx" / "sales").resolve()
    cfg.write_text('[collections.hr]\ndoc = "a"\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"needs docs"):
        Team(settings(tmp_path, config=cfg))
    cfg.write_text('[collections.HR]\ndocs = "a"\n', encoding="utf-8")
    with pytest.raises(Exception, match="not allowed"):
        Team(settings(tmp_path, config=cfg))
    cfg.write_text("[collections\n", encoding="utf-8")
    with pytest.raises(Exception, match="not valid TOML"):
        Team(settings(tmp_path, config=cfg))


def _cli(*args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], input=stdin, cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


def test_a_server_is_set_up_by_script(tmp_path):
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "leave.txt").write_text("Staff get 30 days of annual leave.\n",
                                               encoding="utf-8")
    ix = ["--index", str(tmp_path / "index")]
    assert _cli("collection", "add", "hr", "--docs", "hr", *ix, cwd=tmp_path).returncode == 0
    r = _cli("user", "add", "alice", "--password-stdin", *ix, stdin="secret-pass\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "secret-pass" not in r.stdout + r.stderr
    assert _cli("group", "add", "people", "alice", *ix, cwd=tmp_path).returncode == 0
    assert _cli("grant", "@people", "reader", "hr", *ix, cwd=tmp_path).returncode == 0
    r = _cli("key", "create", "alice", *ix, cwd=tmp_path)
    key = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0 and key.startswith("ask_")
    t = Team(Settings.load(env={}, index_dir=tmp_path / "index"))
    assert t.accounts.key_user(key) == "alice"
    assert t.policy.readable(t.identity("alice")) == ["hr"]
    r = _cli("index", "--collection", "hr", "--json", *ix, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["added"] == 1
    r = _cli("grant", "bob", "reader", "hr", *ix, cwd=tmp_path)
    assert r.returncode == 1 and "no user 'bob'" in r.stderr
    r = _cli("user", "add", "bob", "--password-stdin", *ix, cwd=tmp_path)
    assert r.returncode == 1 and "no password on stdin" in r.stderr
    r = _cli("audit", "--csv", *ix, cwd=tmp_path)
    lines = r.stdout.splitlines()
    assert lines[0] == "time,user,action,collection,detail"
    assert [ln.split(",")[2] for ln in lines[1:]] == [
        "collection_add", "user_add", "group_add", "grant", "key_create"]
    assert key not in r.stdout


def test_audit_events_are_filtered_and_old_ones_dropped(tmp_path):
    import time

    from assistant.team.audit import Audit

    t = Team(settings(tmp_path, audit_days=1))
    with t.db.connect() as db:  # an event from three days ago
        db.execute("INSERT INTO audit VALUES (?, 'alice', 'ask', 'alpha', '{}')",
                   (time.time() - 3 * 86400,))
    assert len(t.audit.events()) == 1
    t.audit.record("bob", "login", address="10.0.0.1")
    assert [(e.user, e.action) for e in t.audit.events()] == [("bob", "login")]
    t.audit.record("alice", "search", "alpha", query="vault")
    assert [e.action for e in t.audit.events(user="alice")] == ["search"]
    assert t.audit.events(since=time.time() + 60) == []
    keep_all = Audit(t.db, keep_days=0)
    with t.db.connect() as db:
        db.execute("INSERT INTO audit VALUES (?, 'carol', 'ask', NULL, '{}')", (1.0,))
    keep_all.record("carol", "logout")
    assert [e.action for e in keep_all.events(user="carol")] == ["ask", "logout"]
