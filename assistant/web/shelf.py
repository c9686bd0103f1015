"""The handlers for what a user keeps: a collection's documents (uploads, reference edits),
their conversations on the server (open, rename, delete), and the Gradio API (/ask, /documents).

Each goes through the chat's `desks` (desk.py), so the team's policy is asked first: a
reader may not upload or edit references; a conversation is found only by its owner.
No `from __future__ import annotations`: Gradio reads the handlers' type hints.
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from ..cite.corrections import damage_note, references_file
from ..cite.records import refreshed, turn_record, turns_from
from ..cite.references import describe
from . import editor, view
from .controller import Chat, Update, _user
from .desk import Conversation, Desk
from .messages import guarded

log = logging.getLogger(__name__)


class Shelf:
    """Documents, references, history and the API of one chat page (over `chat`'s desks)."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.team = chat.team
        self.desks = chat.desks
        self.page = chat.page
        self.folders = chat.folders

    # --- uploads and references (editors) ---------------------------------------

    # Gradio finds a progress tracker by its default value, hence the call in the signature.
    @guarded
    def add_files(self, files: list[str] | None, collection: str | None = None,
                  request: gr.Request = None,  # type: ignore[assignment]
                  progress: gr.Progress = gr.Progress()) -> Update:  # noqa: B008
        p = self.page
        if not files:
            return {p.files: None}
        desk = self.desks.desk(_user(request), collection, "upload")
        indexer = desk.assistant.indexer
        self._check_request(desk, files)

        def step(done: int, total: int) -> None:
            if total:
                progress((done, total), desc="Embedding new passages", unit="passages")

        progress(0, desc="Checking and indexing the uploaded files")
        done = indexer.add_files(
            [(Path(f), Path(f).name) for f in files], progress=step,
            on_wait=lambda seconds: progress(0, desc="Waiting for another update of the "
                                                     f"index to finish (up to {seconds:.0f} s)"))
        self.team.audit.record(desk.who.name, "upload", desk.collection, added=list(done.added),
                               skipped=[s.source for s in done.skipped])
        lines = []
        if done.added:
            lines.append("**Added:** " + ", ".join(view.chat_text(s) for s in done.added))
        lines += [f"**Note:** {view.chat_text(n)}" for n in done.renamed]
        for s in done.skipped:
            lines.append(f"**Not added:** {view.chat_text(s.source)}: {view.chat_text(s.reason)}")
        if done.index is not None:
            lines.append(f"Index updated ({done.index.summary()}; "
                         f"{done.index.embedded} new passages embedded).")
        return {p.upload_status: "\n\n".join(lines), **self.chat._documents(desk), p.files: None}

    def _check_request(self, desk: Desk, files: Sequence[str]) -> None:
        """Refuse an upload of more files, or more bytes in all, than the settings allow (the
        indexer's own check, said before anything else is done)."""
        refused = desk.assistant.indexer.refusal([(Path(f), Path(f).name) for f in files])
        if refused is not None:
            raise gr.Error(f"{refused.reason}. Nothing was added.")

    @guarded
    def load_reference(self, doc_id: str | None, collection: str | None = None,
                       request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """The editor's fields for a document; a note when references.json is damaged."""
        p = self.page
        if not doc_id:
            return dict.fromkeys(p.ref_fields, "")
        answerer = self.desks.desk(_user(request), collection, "read").assistant.answerer
        try:
            values = editor.to_form(answerer.reference(doc_id))
        except KeyError:
            raise gr.Error("That document is no longer in the index.") from None
        doc = answerer.document(doc_id)
        note = damage_note(references_file(doc)) if doc is not None else None
        return {**dict(zip(p.ref_fields, values, strict=True)),
                p.ref_status: f"**Note:** {view.chat_text(note)}" if note else ""}

    @guarded
    def save_reference(self, doc_id: str | None, turns: Any, collection: str | None,
                       request: gr.Request, *values: str) -> Update:
        if not doc_id:
            raise gr.Error("Choose a document first.")
        desk = self.desks.desk(_user(request), collection, "edit_references")
        answerer = desk.assistant.answerer
        doc = answerer.document(doc_id)
        if doc is None:
            raise gr.Error("That document is no longer in the index.")
        saved = desk.assistant.indexer.save_reference(doc, editor.from_form(values))
        self.team.audit.record(desk.who.name, "edit_reference", desk.collection, doc_id=doc_id,
                               source=doc.source)
        item = answerer.reference(doc_id)
        conv = self.chat._conv(turns, request)
        status = f"Saved in references.json: {view.chat_text(describe(item))}"
        if saved.kept is not None:
            copy = view.chat_text(saved.kept.name)
            status += ("\n\n**Note:** references.json was damaged; what could be read of it is "
                       f"kept, and the damaged file was copied to {copy} beside it.")
        return {self.page.ref_status: status,
                self.page.conv: self.chat._state(conv, refreshed(conv.turns, {doc_id: item}))}

    # --- the user's conversations ---------------------------------------------

    @guarded
    def open_conversation(self, conv_id: str | None, style: str,
                          request: gr.Request = None) -> Update:  # type: ignore[assignment]
        """A conversation from the history, shown again (in its collection)."""
        who = self.desks.who(_user(request))
        kept = self.team.history.get(who.name, conv_id) if conv_id else None
        if kept is None or kept.collection not in self.desks.readable(who):
            raise gr.Error("That conversation is not one of yours, or it was deleted.")
        conv = Conversation(who.name, kept.collection, turns_from(kept.records), kept.id)
        return {**self.chat._shown(conv, style), **self.chat._lists(who, kept.collection)}

    @guarded
    def rename_conversation(self, conv_id: str | None, title: str,
                            request: gr.Request = None) -> Update:  # type: ignore[assignment]
        who = self.desks.who(_user(request))
        if not conv_id or not self.team.history.rename(who.name, conv_id, title or ""):
            raise gr.Error("Choose one of your conversations and type its new title.")
        return {**self.chat._history(who.name, conv_id), self.page.title: ""}

    @guarded
    def delete_conversation(self, conv_id: str | None, turns: Any,
                            request: gr.Request = None) -> Update:  # type: ignore[assignment]
        who = self.desks.who(_user(request))
        if not conv_id or not self.team.history.delete(who.name, conv_id):
            raise gr.Error("Choose one of your conversations to delete.")
        out = self.chat._history(who.name)
        if self.chat._conv(turns, request).id == conv_id:  # the one on screen: start afresh
            out.update(self.chat.clear(turns, None, request))
        return out

    # --- the HTTP API (gr.api) ------------------------------------------------

    @guarded
    def ask(self, question: str, doc_ids: list[str] | None = None,
            history: list[list[str]] | None = None, generator: str | None = None,
            collection: str | None = None,
            request: gr.Request = None) -> dict:  # type: ignore[assignment]
        """Answer a question from the indexed documents.

        `history` holds earlier [question, answer] pairs for follow-ups;
        `generator` is "extractive" or "openai" (default: the server's setting);
        `collection` names the collection (default: your first).
        Returns the answer text with [n] markers, its sentences, and every citation
        with its verbatim quote, character offsets, locator, plain and Markdown
        forms, and its reference (`csl`: CSL-JSON plus locator and label).
        """
        desk = self.desks.desk(_user(request), collection, "ask")
        answerer = desk.assistant.answerer
        past = [(str(q), str(a)) for q, a in (history or [])]
        reader = answerer.retriever()
        answer = answerer.ask(question, doc_ids=doc_ids or None, history=past,
                              generator=generator or None, retriever=reader)
        self.team.audit.asked(desk.who.name, desk.collection, question, answer,
                              reader.store.documents, via="gradio-api")
        # view.citation_record has no "path" key: clients take {"path": ...} for a file to
        # download, and the server's absolute paths are no business of theirs.
        return {**answer.to_dict(),
                "citations": [c.to_dict() for c in
                              turn_record(answer, reader.store.documents).citations]}

    @guarded
    def documents(self, collection: str | None = None,
                  request: gr.Request = None) -> list[dict]:  # type: ignore[assignment]
        """The indexed documents of a collection (default: your first): doc_id, title, source,
        language."""
        answerer = self.desks.desk(_user(request), collection, "read").assistant.answerer
        langs = answerer.document_languages()
        return [{"doc_id": doc_id, "title": title, "source": source,
                 "language": langs.get(doc_id, "")}
                for doc_id, title, source in answerer.listing()]
