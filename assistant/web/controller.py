"""The chat's behaviour: one handler per page event, each returning {component: new value}.

The page's layout is ui.py's; `Page` names the components the handlers update,
and each handler returns (or yields) a dict keyed by them, so that no handler
depends on the order of an outputs list. Only Gradio's public API is used.
No `from __future__ import annotations`: Gradio reads the handlers' type hints
(gr.Request, gr.EventData, gr.Progress) at runtime.
"""

import dataclasses
import logging
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..cite.records import Turn, turn_record, turns_from
from ..errors import AssistantError
from ..team import Team
from . import view
from .desk import ALL, Conversation, Desk, Desks
from .downloads import Exports
from .messages import guarded, without_paths
from .pageview import pages_html
from .sealed import Seal

log = logging.getLogger(__name__)

EMPTY_PROMPT = "Please type a question first, for example: *What did the review find?*"
DOC_HINT = "<p class='hint'>Choose \u201cShow in document\u201d on a source to read it here.</p>"
Update = dict[Any, Any]  # component -> value or gr.update(...)


@dataclass
class Page:
    """The components the handlers read or update (made by page.build)."""

    conv: Any  # the conversation, kept in the browser (desk.Desks.state), sealed
    shown: Any  # which turn's sources the Sources panel shows (-1: none); a hidden field
    chat: Any
    box: Any
    status: Any
    sources: Any
    document: Any
    export: Any  # the three export buttons: enabled once there is a conversation
    refs_file: Any
    word_file: Any
    download: Any  # the (hidden) download button the page clicks once a file is made
    only: Any
    upload_status: Any
    files: Any
    ref_doc: Any
    ref_fields: list[Any]
    ref_status: Any
    collection: Any = None  # the picker: which collection questions go to
    history: Any = None  # the user's conversations kept on the server
    title: Any = None  # a new title for the conversation chosen in `history`
    who: Any = None  # "Signed in as ..." and the sign-out link
    ref_save: Any = None


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "default"


def _user(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None)


class Chat:
    """The handlers of one chat page over a team's collections.

    Every handler names the signed-in user and the picked collection, and `desks.desk` asks
    the team's policy before anything is read or written: questions, documents and
    references through the collection's `answerer` (which never writes the index), uploads
    and reference edits through its `indexer` (editors only). Every handler is `guarded`:
    its errors reach the page without server paths (messages.py).
    """

    def __init__(self, team: Team, page: Page, exports: Exports | None = None,
                 seal: Seal | None = None) -> None:
        self.team = team
        self.desks = Desks(team, seal)
        self.page = page
        self.exports = exports or Exports()
        # Shown by name in messages, never as the server's absolute paths.
        self.folders = self.desks.folders()

    def _conv(self, state: Any, request: gr.Request | None,
              collection: str | None = None) -> Conversation:
        return self.desks.opened(state, self.desks.who(_user(request)), collection)

    def _state(self, conv: Conversation, turns: list[Turn] | None = None,
               conv_id: str | None = None) -> Any:
        return self.desks.state(Conversation(conv.user, conv.collection,
                                             conv.turns if turns is None else turns,
                                             conv_id or conv.id))

    def _buttons(self, turns: Sequence[Turn]) -> Update:
        """The export buttons, usable once there is something to export."""
        on = gr.update(interactive=bool(turns))
        return {self.page.export: on, self.page.refs_file: on, self.page.word_file: on}

    def _export(self, kind: str, state: Any, style: str, request: gr.Request | None) -> Update:
        conv = self._conv(state, request)
        if conv.turns and conv.collection != ALL:  # ALL: quotes of collections they read
            self.desks.desk(_user(request), conv.collection, "export")
        owner = f"{conv.user}\0{_session(request)}"
        path = self.exports.write(owner, kind, conv.turns, style or "apa", owner=conv.user)
        if path is None:
            raise gr.Error("Ask a question first: there is nothing to export yet.")
        return {self.page.download: path}  # the page then clicks it (page.DOWNLOAD_JS)

    @guarded
    def export_markdown(self, turns: Any, style: str, request: gr.Request) -> Update:
        """The conversation as Markdown: questions, answers, numbered references."""
        return self._export("markdown", turns, style, request)

    @guarded
    def export_references(self, turns: Any, style: str, request: gr.Request) -> Update:
        """The conversation's references in the chosen style (.bib, .ris, .json or text)."""
        return self._export("references", turns, style, request)

    @guarded
    def export_word(self, turns: Any, style: str, request: gr.Request) -> Update:
        """The conversation as a Word file with in-text citations in the chosen style."""
        return self._export("word", turns, style, request)

    @guarded
    def respond(self, question: str, turns: Any, doc_ids: list[str] | None, generator: str,
                style: str, collection: str | None = None,
                request: gr.Request = None) -> Iterator[Update]:  # type: ignore[assignment]
        """Stream the answer; the last update brings its sources in the chosen style, so that
        no later step can show an older answer's sources."""
        p, conv = self.page, self._conv(turns, request, collection)
        if collection is not None and conv.collection != collection:
            conv = Conversation(conv.user, collection, [])  # the picker moved: a new one
        if not (question or "").strip():
            yield {p.box: question, p.conv: self._state(conv), p.status: EMPTY_PROMPT}
            return
        turns = conv.turns
        history = [(t.question, t.text) for t in turns]
        messages = view.chat_messages(turns) + [
            {"role": "user", "content": view.chat_text(question.strip())},
            {"role": "assistant", "content": "\u2026"}]
        yield {p.chat: messages, p.box: "", p.status: "Searching your documents\u2026"}
        try:
            if conv.collection == ALL:
                who = self.desks.who(_user(request))
                final, documents, asked = self.desks.ask_all(who, question, history,
                                                              generator or None)
                title = self.team.collections.get(asked).title
                final = dataclasses.replace(final, notes=(*final.notes, f"From {title}."))
            else:
                desk = self.desks.desk(_user(request), conv.collection or collection, "ask")
                who, asked = desk.who, desk.collection
                final, documents = yield from self._stream(desk, question,
                                                           desk.chosen(doc_ids), history,
                                                           generator, messages)
        except AssistantError as exc:
            shown = view.chat_text(without_paths(str(exc), self.folders))
            yield {p.chat: view.chat_messages(turns), p.box: question,
                   p.status: f"**Error:** {shown}"}
            raise  # guarded: the page shows it too, without server paths
        self.team.audit.asked(who.name, asked, question, final, documents, via="chat")
        turns = [*turns, turn_record(final, documents)]
        conv_id = self.team.history.save(who.name, conv.id, conv.collection,
                                         self.desks.turns(turns))
        yield {p.chat: view.chat_messages(turns), p.conv: self._state(conv, turns, conv_id),
               p.shown: len(turns) - 1,
               p.sources: view.sources_html(turns[-1], len(turns) - 1, style or "apa"),
               p.status: "" if final.found else view.NOTHING_FOUND, p.document: DOC_HINT,
               **self._buttons(turns), **self._history(who.name, conv_id)}

    def _stream(self, desk: Desk, question: str, doc_ids: list[str] | None,
                history: list[tuple[str, str]], generator: str | None,
                messages: list[dict[str, str]]) -> Generator[Update, None, tuple[Any, Any]]:
        """Stream one collection's answer into `messages`; returns (answer, its documents)."""
        answerer = desk.assistant.answerer
        # One answer, one index generation: the documents read below are the ones answered from,
        # even when an upload commits a newer generation meanwhile.
        reader = answerer.retriever()
        final = None
        for answer in answerer.ask_stream(question, doc_ids=doc_ids or None, history=history,
                                          generator=generator or None, retriever=reader):
            final = answer
            messages[-1] = {"role": "assistant",
                            "content": view.answer_message(answer.text, answer.notes)}
            yield {self.page.chat: messages, self.page.status: ""}
        assert final is not None  # ask_stream always yields the complete answer last
        return final, reader.store.documents

    def _history(self, user: str, selected: str | None = None) -> Update:
        if self.page.history is None:
            return {}
        items = [(c.title, c.id) for c in self.team.history.list(user)]
        return {self.page.history: gr.update(choices=items, value=selected)}

    @guarded
    def show_document(self, turns: Any, evt: gr.EventData,
                      request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """The cited document, its quote marked: the sources panel's "Show in document"."""
        conv = self._conv(turns, request)
        t, n = getattr(evt, "turn", None), getattr(evt, "n", None)  # sent by page.SOURCES_JS
        if not isinstance(t, int) or not 0 <= t < len(conv.turns):
            return {}
        cite = next((c for c in conv.turns[t].citations if c.n == n), None)
        if cite is None:
            return {}
        doc = self.desks.document(self.desks.who(_user(request)), conv.collection, cite.doc_id)
        if doc is None:
            return {self.page.document: "<p class='none'>This document is no longer in the "
                                        "index.</p>"}
        return {self.page.document: pages_html(doc, cite) + view.document_html(doc, cite)}

    @guarded
    def select_turn(self, turns: Any, style: str, evt: gr.SelectData,
                    request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """A click on a message shows the sources of its answer."""
        turns = self._conv(turns, request).turns
        t = evt.index // 2 if isinstance(evt.index, int) else len(turns) - 1
        if not 0 <= t < len(turns):
            return {}
        return {self.page.sources: view.sources_html(turns[t], t, style or "apa"),
                self.page.shown: t}

    @guarded
    def restyle(self, turns: Any, style: str, shown: float | None,
                request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """The shown sources (turn `shown`, else the last) in the chosen style."""
        turns = self._conv(turns, request).turns
        if not turns:
            return {}
        ok = isinstance(shown, int | float) and not isinstance(shown, bool) and \
            0 <= shown < len(turns) and shown == int(shown)
        t = int(shown) if ok and shown is not None else len(turns) - 1
        return {self.page.sources: view.sources_html(turns[t], t, style)}

    def _shown(self, conv: Conversation, style: str) -> Update:
        """The page showing `conv`: its messages, state, last sources, buttons."""
        p, turns = self.page, conv.turns
        last = turns[-1] if turns else None
        return {p.chat: view.chat_messages(turns), p.conv: self._state(conv),
                p.shown: len(turns) - 1, p.document: DOC_HINT,
                p.sources: view.sources_html(last, len(turns) - 1, style or "apa"),
                **self._buttons(turns)}

    @guarded
    def restore(self, turns: Any, style: str, collection: str | None = None,
                request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """The page as it opens: the conversation the browser kept (or the one named by the
        address, ?c=ID, if it is the user's), the collections, documents and history."""
        who = self.desks.who(_user(request))
        conv = self.desks.opened(turns, who, collection)
        wanted = getattr(request, "query_params", {}).get("c") if request is not None else None
        note = ""
        if wanted:
            kept = self.team.history.get(who.name, str(wanted))
            if kept is not None and kept.collection in self.desks.readable(who):
                conv = Conversation(who.name, kept.collection, turns_from(kept.records), kept.id)
            else:
                note = "That conversation is not one of yours (or it was deleted)."
        out = self._shown(conv, style)
        del out[self.page.document]
        out.update(self._lists(who, conv.collection))
        out.update(self._history(who.name, conv.id))
        if self.page.status is not None and note:
            out[self.page.status] = note
        return out

    def _lists(self, who: Any, collection: str | None) -> Update:
        """The picker, both document lists, and the editing controls for `who`'s role."""
        p, name = self.page, self.desks.pick(who, collection)
        out: Update = {}
        if p.collection is not None:
            out[p.collection] = gr.update(choices=self.desks.choices(who), value=name)
        if p.who is not None:
            out[p.who] = view.signed_in(who.name, self.team.is_open())
        if name is None or name == ALL:  # no documents to filter or edit across collections
            return {**out, p.only: gr.update(choices=[], value=[]),
                    p.ref_doc: gr.update(choices=[]), p.files: gr.update(interactive=False)}
        desk = self.desks.desk(who.name, name, "read")
        out.update(self._documents(desk))
        edit = self.team.policy.may(who, "upload", name)
        out[p.files] = gr.update(interactive=edit)
        if p.ref_save is not None:
            out[p.ref_save] = gr.update(interactive=self.team.policy.may(
                who, "edit_references", name))
        return out

    def _documents(self, desk: Desk) -> Update:
        """Both document lists (the filter and the reference editor's), as the index is now."""
        return {self.page.only: gr.update(choices=desk.filter_choices(), value=[]),
                self.page.ref_doc: gr.update(choices=desk.choices())}

    @guarded
    def pick_collection(self, collection: str, style: str,
                        request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """The picker moved: a new conversation in that collection, its documents listed."""
        who = self.desks.who(_user(request))
        if self.desks.pick(who, collection) != collection:
            self.team.policy.require(who, "read", collection)  # says why, as for a missing one
        conv = Conversation(who.name, collection, [])
        return {**self._shown(conv, style), **self._lists(who, collection),
                **self._history(who.name)}

    @guarded
    def clear(self, turns: Any = None, collection: str | None = None,
              request: gr.Request = None) -> Update:  # type: ignore[assignment]
        p = self.page
        who = self.desks.who(_user(request))
        self.exports.drop(f"{who.name}\0{_session(request)}")
        conv = Conversation(who.name, self.desks.pick(who, collection) or "", [])
        return {p.chat: [], p.conv: self._state(conv), p.shown: -1,
                p.sources: view.sources_html(None), p.document: DOC_HINT, p.status: "",
                **self._buttons([]), **self._history(who.name)}
