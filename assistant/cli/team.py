"""`assistant collection|user|group|grant|revoke|key|audit`: set a team's server up by script.

Each command opens the team database of the settings (INDEX/team.sqlite, or
ASSISTANT_TEAM_DB), changes it in one transaction and records what it did in the audit
trail. Passwords are read from stdin (`--password-stdin`), never from the command line,
where other users of the machine could see them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AssistantError

TEAM_COMMANDS = ("collection", "user", "group", "grant", "revoke", "key", "audit")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("collection", help="declare the server's collections (docs/TEAMS.md)")
    c = p.add_subparsers(dest="action", required=True)
    a = c.add_parser("add", help="a named documents folder with its own index")
    a.add_argument("name")
    a.add_argument("--docs", dest="collection_docs", required=True, metavar="DIR")
    a.add_argument("--collection-index", default=None, metavar="DIR",
                   help="its index folder (default: INDEX/collections/NAME)")
    a.add_argument("--title", default=None, help="the name shown in the chat's picker")
    c.add_parser("list", help="every collection, with its folders and grants")
    r = c.add_parser("remove", help="forget a collection and its grants (files stay)")
    r.add_argument("name")

    p = sub.add_parser("user", help="add, remove or list accounts")
    c = p.add_subparsers(dest="action", required=True)
    a = c.add_parser("add", help="a new account; its password comes from stdin")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", required=True,
                   help="read the password from the first line of stdin")
    a.add_argument("--admin", action="store_true", help="every role on every collection")
    a = c.add_parser("password", help="set a new password (from stdin); ends their sessions")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", required=True)
    r = c.add_parser("remove", help="remove an account with its keys, sessions, grants and "
                                    "conversations")
    r.add_argument("name")
    c.add_parser("list", help="every account, its groups and roles")

    p = sub.add_parser("group", help="put users in a group (grant @GROUP)")
    c = p.add_subparsers(dest="action", required=True)
    for name, text in (("add", "add USERs to GROUP"), ("remove", "take USERs out of GROUP")):
        a = c.add_parser(name, help=text)
        a.add_argument("group")
        a.add_argument("users", nargs="+", metavar="USER")
    c.add_parser("list", help="every group with its members")

    p = sub.add_parser("grant", help="give USER or @GROUP a role on a collection")
    p.add_argument("subject", metavar="USER|@GROUP")
    p.add_argument("role", choices=("reader", "editor", "admin"))
    p.add_argument("collection")
    p = sub.add_parser("revoke", help="take a grant away")
    p.add_argument("subject", metavar="USER|@GROUP")
    p.add_argument("collection")

    p = sub.add_parser("key", help="personal API keys (docs/API.md)")
    c = p.add_subparsers(dest="action", required=True)
    a = c.add_parser("create", help="a new key for USER, printed once on the last line")
    a.add_argument("user")
    a = c.add_parser("revoke", help="a key stops working at once")
    a.add_argument("key_id", metavar="KEY_ID")
    a = c.add_parser("list", help="keys (ids only) and whether they are revoked")
    a.add_argument("user", nargs="?")

    p = sub.add_parser("audit", help="who asked, cited, uploaded, granted, logged in")
    p.add_argument("--since", default=None, metavar="WHEN",
                   help="an ISO date or time (2026-12-01, 2026-12-01T09:00) or hours ago (24h)")
    p.add_argument("--user", default=None)
    p.add_argument("--action", default=None, help="only this action (ask, login, upload ...)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object a line")
    fmt.add_argument("--csv", action="store_true")
    for parser in sub.choices.values():  # --index and -v on every command added here
        leaves = [parser] if parser._subparsers is None else \
            list(parser._subparsers._group_actions[0].choices.values())
        for leaf in leaves:
            if leaf.get_default("team") is None and parser.prog.split()[-1] in TEAM_COMMANDS:
                leaf.set_defaults(team=True)
                leaf.add_argument("--index", type=Path, default=None, metavar="DIR",
                                  help="the server's index folder, which holds the team "
                                       "database (default: index/, or ASSISTANT_INDEX_DIR)")
                leaf.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def _password() -> str:
    line = sys.stdin.readline()
    if not line.strip():
        raise AssistantError("no password on stdin: pipe it in, e.g. "
                             "`printf '%s\\n' \"$PASSWORD\" | assistant user add NAME --password-stdin`")
    return line.rstrip("\r\n")


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    if text.endswith("h") and text[:-1].replace(".", "", 1).isdigit():
        return dt.datetime.now(dt.timezone.utc).timestamp() - float(text[:-1]) * 3600
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise AssistantError(f"--since {text!r}: give an ISO date or time, or hours like 24h") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from ..team import Team
    from ..team import collections as declared

    team = Team(settings)
    acc, log = team.accounts, team.audit
    cmd, action = args.command, getattr(args, "action", None)
    if cmd == "collection":
        if action == "add":
            index = Path(args.collection_index) if args.collection_index else None
            declared.add(team.db, args.name, Path(args.collection_docs), index, args.title)
            log.record(None, "collection_add", args.name, docs=str(args.collection_docs))
            print(f"added collection {args.name}; index it with "
                  f"`assistant index --collection {args.name}`")
        elif action == "remove":
            declared.remove(team.db, args.name)
            log.record(None, "collection_remove", args.name)
            print(f"removed collection {args.name} (its files and index are left on disk)")
        else:
            grants = acc.grants()
            for c in team.collections.by_name.values():
                who = ", ".join(f"{s} {r}" for s, col, r in grants if col == c.name) or "no grants"
                print(f"{c.name}\t{c.title}\tdocs {c.docs_dir}\tindex {c.index_dir}\t{who}")
    elif cmd == "user":
        if action == "add":
            acc.add_user(args.name, _password(), admin=args.admin)
            log.record(None, "user_add", admin=args.admin, name=args.name)
            print(f"added user {args.name}" + (" (administrator)" if args.admin else ""))
        elif action == "password":
            acc.set_password(args.name, _password())
            log.record(None, "password_set", name=args.name)
            print(f"new password for {args.name}; their sessions are closed")
        elif action == "remove":
            acc.remove_user(args.name)
            log.record(None, "user_remove", name=args.name)
            print(f"removed user {args.name}")
        else:
            for u in acc.users():
                roles = acc.roles(u)
                print(f"{u.name}\t{'admin' if u.admin else '-'}\t{u.source}\t"
                      f"groups: {', '.join(u.groups) or '-'}\t"
                      f"roles: {', '.join(f'{c} {r}' for c, r in roles.items()) or '-'}")
    elif cmd == "group":
        if action == "list":
            for g, members in acc.groups().items():
                print(f"{g}\t{', '.join(members)}")
        else:
            (acc.add_members if action == "add" else acc.remove_members)(args.group, args.users)
            log.record(None, f"group_{action}", group=args.group, users=args.users)
            print(f"group {args.group}: {'added' if action == 'add' else 'removed'} "
                  f"{', '.join(args.users)}")
    elif cmd == "grant":
        team.collections.get(args.collection)
        acc.grant(args.subject, args.role, args.collection)
        log.record(None, "grant", args.collection, subject=args.subject, role=args.role)
        print(f"{args.subject} is {args.role} of {args.collection}")
    elif cmd == "revoke":
        if not acc.revoke(args.subject, args.collection):
            raise AssistantError(f"{args.subject} has no grant on {args.collection}")
        log.record(None, "revoke", args.collection, subject=args.subject)
        print(f"{args.subject} has no role on {args.collection} any more")
    elif cmd == "key":
        if action == "create":
            key_id, key = acc.create_key(args.user)
            log.record(args.user, "key_create", key_id=key_id)
            print(f"key {key_id} for {args.user}; it is shown this once, keep it now:")
            print(key)
        elif action == "revoke":
            if not acc.revoke_key(args.key_id):
                raise AssistantError(f"no active key {args.key_id!r} (`assistant key list`)")
            log.record(None, "key_revoke", key_id=args.key_id)
            print(f"key {args.key_id} revoked")
        else:
            for k in acc.keys(args.user):
                state = "revoked" if k.revoked else "active"
                print(f"{k.id}\t{k.user}\t{state}")
    else:
        events = log.events(_since(args.since), args.user, args.action)
        if args.csv:
            from ..team.audit import as_csv

            sys.stdout.write(as_csv(events))
        else:
            for e in events:
                row = e.row()
                print(json.dumps(row, ensure_ascii=False) if args.json else
                      f"{row['time']}\t{e.user or '-'}\t{e.action}\t{e.collection or '-'}\t"
                      + json.dumps(e.detail, ensure_ascii=False))
    return 0
