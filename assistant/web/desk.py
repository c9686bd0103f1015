"""Who asks, in which collection: every chat handler goes through `Desks` to the team's policy.

A handler names the user (Gradio's request.username, set by server.Server.user) and the
collection the page's picker shows; `desk()` asks team.policy whether that user may do the
action there and hands back that collection's Assistant. No Gradio here.

The conversation the browser keeps (sealed.py) carries its owner and collection: one
sealed for another user, or for a collection the user may no longer read, opens empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cite.records import Turn, turns_from
from ..errors import AssistantError
from ..pipeline import Assistant
from ..team import Identity, Team
from ..text.analyzer import language_name
from .sealed import Seal

FORMAT = 2  # the sealed state: {"v", "user", "collection", "id", "turns"}
ALL = "*"  # the picker's "All my collections": each is asked, the best-founded answer shown
LANGUAGE = "language:"  # a filter value that keeps the documents in a language ("language:de")


class SignedOut(AssistantError):
    """The request has no signed-in user (a session that ended while the page was open)."""


@dataclass(frozen=True)
class Desk:
    who: Identity
    collection: str
    assistant: Assistant

    def choices(self) -> list[tuple[str, str]]:
        """(label, doc_id) of every document of the collection, by source."""
        return [(f"{title} ({source})", doc_id)
                for doc_id, title, source in self.assistant.answerer.listing()]

    def filter_choices(self) -> list[tuple[str, str]]:
        """The filter's entries: each language first when the collection holds two or more
        ("Language: German (3 documents)", value LANGUAGE + code), then every document."""
        counts = Counter(self.assistant.answerer.document_languages().values())
        langs = [(f"Language: {language_name(code)} ({n} document{'s' * (n != 1)})",
                  LANGUAGE + code) for code, n in sorted(counts.items()) if code]
        return (langs if len(langs) > 1 else []) + self.choices()

    def chosen(self, picked: Sequence[str] | None) -> list[str] | None:
        """The documents the filter keeps: those picked, and those of each picked language;
        None when nothing is picked (every document)."""
        if not picked:
            return None
        codes = {v[len(LANGUAGE):] for v in picked if v.startswith(LANGUAGE)}
        langs = self.assistant.answerer.document_languages() if codes else {}
        kept = sorted({v for v in picked if not v.startswith(LANGUAGE)}
                      | {d for d, code in langs.items() if code in codes})
        return kept or list(picked)  # none left in that language: keeps nothing, not everything


@dataclass(frozen=True)
class Conversation:
    """The chat's conversation: its turns, in which collection, its id in the history."""

    user: str
    collection: str
    turns: list[Turn]
    id: str | None = None


class Desks:
    def __init__(self, team: Team, seal: Seal | None) -> None:
        self.team = team
        self.seal = seal

    def who(self, username: str | None) -> Identity:
        who = self.team.identity(username)
        if who is None:
            raise SignedOut("Your session has ended: reload the page and sign in again.")
        return who

    def readable(self, who: Identity) -> list[str]:
        return self.team.policy.readable(who)

    def choices(self, who: Identity) -> list[tuple[str, str]]:
        """(title, name) of each collection `who` may read, for the picker; with two or more,
        "All my collections" last."""
        by_name = self.team.collections.by_name
        readable = self.readable(who)
        out = [(by_name[n].title, n) for n in readable]
        return out + [("All my collections", ALL)] if len(readable) > 1 else out

    def pick(self, who: Identity, collection: str | None) -> str | None:
        """`collection` when `who` may read it, else their first; None when they have none."""
        readable = self.readable(who)
        if collection in readable or (collection == ALL and len(readable) > 1):
            return collection
        return readable[0] if readable else None

    def ask_all(self, who: Identity, question: str, history: list[tuple[str, str]],
                generator: str | None) -> tuple[Any, Any, str]:
        """Ask every collection `who` may read; (answer, its documents, its collection) of the
        one whose answer is founded best (found, then the best quote's score).

        Collections are never mixed within one answer: each is asked on its own, and the
        answer shown quotes one of them, which it names."""
        best: tuple[Any, Any, str] | None = None
        best_score = (False, float("-inf"))
        for name in self.readable(who):
            answerer = self.team.collections.assistant(name).answerer
            reader = answerer.retriever()
            answer = answerer.ask(question, history=history, generator=generator,
                                  retriever=reader)
            score = (answer.found, max((c.score for c in answer.citations), default=-1.0))
            if best is None or score > best_score:
                best, best_score = (answer, reader.store.documents, name), score
        assert best is not None  # ALL is offered only with two readable collections or more
        return best

    def document(self, who: Identity, collection: str, doc_id: str) -> Any:
        """A cited document of `collection` (ALL: of whichever readable one holds it)."""
        names = self.readable(who) if collection == ALL else [collection]
        for name in names:
            self.team.policy.require(who, "read", name)
            doc = self.team.collections.assistant(name).answerer.document(doc_id)
            if doc is not None:
                return doc
        return None

    def desk(self, username: str | None, collection: str | None, action: str = "ask") -> Desk:
        who = self.who(username)
        name = self.pick(who, collection) if collection is None else collection
        if name is None:
            raise AssistantError("You have no collection to read yet: ask an administrator "
                                 "to grant you one (`assistant grant`).")
        self.team.policy.require(who, action, name)
        return Desk(who, name, self.team.collections.assistant(name))

    def folders(self) -> list[Path]:
        """Every collection's folders: messages name them, never their absolute paths."""
        out: list[Path] = []
        for c in self.team.collections.by_name.values():
            out += [Path(c.docs_dir), Path(c.index_dir)]
        return out

    # --- the conversation the browser keeps -------------------------------------

    def state(self, conv: Conversation) -> Any:
        body = {"v": FORMAT, "user": conv.user, "collection": conv.collection, "id": conv.id,
                "turns": self.turns(conv.turns)}
        return self.seal.close(body) if self.seal else body

    def opened(self, state: Any, who: Identity, collection: str | None) -> Conversation:
        """The conversation a browser sent back, if it is `who`'s and readable; else empty
        (in `collection`, or their first readable)."""
        value = self.seal.open(state) if self.seal else state
        empty = Conversation(who.name, self.pick(who, collection) or "", [])
        if not isinstance(value, dict) or value.get("v") != FORMAT or \
                value.get("user") != who.name:
            return empty
        name = value.get("collection")
        if not isinstance(name, str) or self.pick(who, name) != name:
            return empty
        conv_id = value.get("id") if isinstance(value.get("id"), str) else None
        return Conversation(who.name, name, turns_from(value.get("turns")), conv_id)

    def turns(self, turns: Sequence[Turn]) -> list[dict[str, Any]]:
        return [t.to_dict() for t in turns]
