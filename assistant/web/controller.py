"""The chat's behaviour: one handler per page event, each returning {component: new value}.

The page's layout is ui.py's; `Page` names the components the handlers update,
and each handler returns (or yields) a dict keyed by them, so that no handler
depends on the order of an outputs list. Only Gradio's public API is used.
No `from __future__ import annotations`: Gradio reads the handlers' type hints
(gr.Request, gr.EventData, gr.Progress) at runtime.
"""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..cite.corrections import damage_note, references_file
from ..cite.records import Turn, refreshed, turn_record, turns_from
from ..cite.references import describe
from ..errors import AssistantError
from ..pipeline import Assistant
from . import editor, view
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

    conv: Any  # the conversation, kept in the browser as records (cite/records.py), sealed
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


def _session(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "default"


class Chat:
    """The handlers of one chat page over one loaded assistant.

    Questions, documents and references are read through `answerer` alone, which never
    writes the index; uploads go through `indexer`, and a reference correction is saved
    beside the documents (cite.corrections), which touches no index. Every handler is
    `guarded`: its errors reach the page without server paths (messages.py).
    """

    def __init__(self, assistant: Assistant, page: Page, exports: Exports | None = None,
                 seal: Seal | None = None) -> None:
        self.answerer = assistant.answerer
        self.indexer = assistant.indexer
        self.settings = assistant.settings
        self.page = page
        self.exports = exports or Exports()
        self.seal = seal  # None: the conversation travels as plain records (no browser)
        # Shown by name in messages, never as the server's absolute paths.
        self.folders = (Path(self.settings.docs_dir), Path(self.settings.index_dir))

    def _state(self, turns: Sequence[Turn]) -> Any:
        """The conversation as the browser keeps it: records (JSON), sealed by the server."""
        records = [t.to_dict() for t in turns]
        return self.seal.close(records) if self.seal else records

    def _turns(self, state: Any) -> list[Turn]:
        """The conversation a browser sent back, opened and checked; [] for anything else."""
        return turns_from(self.seal.open(state) if self.seal else state)

    def choices(self) -> list[tuple[str, str]]:
        return [(f"{title} ({source})", doc_id)
                for doc_id, title, source in self.answerer.listing()]

    def _buttons(self, turns: Sequence[Turn]) -> Update:
        """The export buttons, usable once there is something to export."""
        on = gr.update(interactive=bool(turns))
        return {self.page.export: on, self.page.refs_file: on, self.page.word_file: on}

    def _export(self, kind: str, turns: Any, style: str, request: gr.Request | None) -> Update:
        path = self.exports.write(_session(request), kind, self._turns(turns), style or "apa")
        if path is None:
            raise gr.Error("Ask a question first: there is nothing to export yet.")
        return {self.page.download: path}  # the page then clicks it (ui.DOWNLOAD_JS)

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
                style: str) -> Iterator[Update]:
        """Stream the answer; the last update brings its sources in the chosen style, so that
        no later step can show an older answer's sources."""
        p, turns = self.page, self._turns(turns)
        if not (question or "").strip():
            yield {p.box: question, p.conv: self._state(turns), p.status: EMPTY_PROMPT}
            return
        history = [(t.question, t.text) for t in turns]
        messages = view.chat_messages(turns) + [
            {"role": "user", "content": view.chat_text(question.strip())},
            {"role": "assistant", "content": "\u2026"}]
        # One answer, one index generation: the documents read below are the ones answered from,
        # even when an upload commits a newer generation meanwhile.
        reader = self.answerer.retriever()
        yield {p.chat: messages, p.box: "", p.status: "Searching your documents\u2026"}
        final = None
        try:
            for answer in self.answerer.ask_stream(question, doc_ids=doc_ids or None,
                                                    history=history, generator=generator or None,
                                                    retriever=reader):
                final = answer
                messages[-1] = {"role": "assistant",
                                "content": view.answer_message(answer.text, answer.notes)}
                yield {p.chat: messages, p.status: ""}
        except AssistantError as exc:
            shown = view.chat_text(without_paths(str(exc), self.folders))
            yield {p.chat: view.chat_messages(turns), p.box: question,
                   p.status: f"**Error:** {shown}"}
            raise  # guarded: the page shows it too, without server paths
        assert final is not None  # ask_stream always yields the complete answer last
        turns = [*turns, turn_record(final, reader.store.documents)]
        yield {p.chat: view.chat_messages(turns), p.conv: self._state(turns),
               p.shown: len(turns) - 1,
               p.sources: view.sources_html(turns[-1], len(turns) - 1, style or "apa"),
               p.status: "" if final.found else view.NOTHING_FOUND, p.document: DOC_HINT,
               **self._buttons(turns)}

    @guarded
    def show_document(self, turns: Any, evt: gr.EventData) -> Update:
        """The cited document, its quote marked: the sources panel's "Show in document"."""
        turns = self._turns(turns)
        t, n = getattr(evt, "turn", None), getattr(evt, "n", None)  # sent by page.SOURCES_JS
        if not isinstance(t, int) or not 0 <= t < len(turns):
            return {}
        cite = next((c for c in turns[t].citations if c.n == n), None)
        if cite is None:
            return {}
        doc = self.answerer.document(cite.doc_id)
        if doc is None:
            return {self.page.document: "<p class='none'>This document is no longer in the "
                                        "index.</p>"}
        return {self.page.document: pages_html(doc, cite) + view.document_html(doc, cite)}

    @guarded
    def select_turn(self, turns: Any, style: str, evt: gr.SelectData) -> Update:
        """A click on a message shows the sources of its answer."""
        turns = self._turns(turns)
        t = evt.index // 2 if isinstance(evt.index, int) else len(turns) - 1
        if not 0 <= t < len(turns):
            return {}
        return {self.page.sources: view.sources_html(turns[t], t, style or "apa"),
                self.page.shown: t}

    @guarded
    def restyle(self, turns: Any, style: str, shown: float | None) -> Update:
        """The shown sources (turn `shown`, else the last) in the chosen style."""
        turns = self._turns(turns)
        if not turns:
            return {}
        ok = isinstance(shown, int | float) and not isinstance(shown, bool) and \
            0 <= shown < len(turns) and shown == int(shown)
        t = int(shown) if ok and shown is not None else len(turns) - 1
        return {self.page.sources: view.sources_html(turns[t], t, style)}

    @guarded
    def restore(self, turns: Any, style: str) -> Update:
        """The conversation the browser kept, shown again after a reload; the document lists
        as they are now (an upload in another tab may have added some)."""
        p, turns = self.page, self._turns(turns)
        last = turns[-1] if turns else None
        return {p.chat: view.chat_messages(turns), p.conv: self._state(turns),
                p.shown: len(turns) - 1,
                p.sources: view.sources_html(last, len(turns) - 1, style or "apa"),
                **self._documents(), **self._buttons(turns)}

    def _documents(self) -> Update:
        """Both document lists (the filter and the reference editor's), as the index is now."""
        choices = self.choices()
        return {self.page.only: gr.update(choices=choices),
                self.page.ref_doc: gr.update(choices=choices)}

    @guarded
    def clear(self, request: gr.Request) -> Update:
        p = self.page
        self.exports.drop(_session(request))
        return {p.chat: [], p.conv: self._state([]), p.shown: -1,
                p.sources: view.sources_html(None), p.document: DOC_HINT, p.status: "",
                **self._buttons([])}

    # Gradio finds a progress tracker by its default value, hence the call in the signature.
    @guarded
    def add_files(self, files: list[str] | None,
                  progress: gr.Progress = gr.Progress()) -> Update:  # noqa: B008
        p = self.page
        if not files:
            return {p.files: None}
        self._check_request(files)

        def step(done: int, total: int) -> None:
            if total:
                progress((done, total), desc="Embedding new passages", unit="passages")

        progress(0, desc="Checking and indexing the uploaded files")
        done = self.indexer.add_files(
            [(Path(f), Path(f).name) for f in files], progress=step,
            on_wait=lambda seconds: progress(0, desc="Waiting for another update of the "
                                                     f"index to finish (up to {seconds:.0f} s)"))
        lines = []
        if done.added:
            lines.append("**Added:** " + ", ".join(view.chat_text(s) for s in done.added))
        lines += [f"**Note:** {view.chat_text(n)}" for n in done.renamed]
        for s in done.skipped:
            lines.append(f"**Not added:** {view.chat_text(s.source)}: {view.chat_text(s.reason)}")
        if done.index is not None:
            lines.append(f"Index updated ({done.index.summary()}; "
                         f"{done.index.embedded} new passages embedded).")
        return {p.upload_status: "\n\n".join(lines), **self._documents(), p.files: None}

    def _check_request(self, files: Sequence[str]) -> None:
        """Refuse an upload of more files, or more bytes in all, than the settings allow (the
        indexer's own check, said before anything else is done)."""
        refused = self.indexer.refusal([(Path(f), Path(f).name) for f in files])
        if refused is not None:
            raise gr.Error(f"{refused.reason}. Nothing was added.")

    @guarded
    def load_reference(self, doc_id: str | None) -> Update:
        """The editor's fields for a document; a note when references.json is damaged."""
        p = self.page
        if not doc_id:
            return dict.fromkeys(p.ref_fields, "")
        try:
            values = editor.to_form(self.answerer.reference(doc_id))
        except KeyError:
            raise gr.Error("That document is no longer in the index.") from None
        doc = self.answerer.document(doc_id)
        note = damage_note(references_file(doc)) if doc is not None else None
        return {**dict(zip(p.ref_fields, values, strict=True)),
                p.ref_status: f"**Note:** {view.chat_text(note)}" if note else ""}

    @guarded
    def save_reference(self, doc_id: str | None, turns: Any, *values: str) -> Update:
        if not doc_id:
            raise gr.Error("Choose a document first.")
        doc = self.answerer.document(doc_id)
        if doc is None:
            raise gr.Error("That document is no longer in the index.")
        saved = self.indexer.save_reference(doc, editor.from_form(values))
        item = self.answerer.reference(doc_id)
        turns = refreshed(self._turns(turns), {doc_id: item})
        status = f"Saved in references.json: {view.chat_text(describe(item))}"
        if saved.kept is not None:
            copy = view.chat_text(saved.kept.name)
            status += ("\n\n**Note:** references.json was damaged; what could be read of it is "
                       f"kept, and the damaged file was copied to {copy} beside it.")
        return {self.page.ref_status: status, self.page.conv: self._state(turns)}

    # --- the HTTP API (gr.api) ------------------------------------------------

    @guarded
    def ask(self, question: str, doc_ids: list[str] | None = None,
            history: list[list[str]] | None = None, generator: str | None = None) -> dict:
        """Answer a question from the indexed documents.

        `history` holds earlier [question, answer] pairs for follow-ups;
        `generator` is "extractive" or "openai" (default: the server's setting).
        Returns the answer text with [n] markers, its sentences, and every citation
        with its verbatim quote, character offsets, locator, plain and Markdown
        forms, and its reference (`csl`: CSL-JSON plus locator and label).
        """
        past = [(str(q), str(a)) for q, a in (history or [])]
        reader = self.answerer.retriever()
        answer = self.answerer.ask(question, doc_ids=doc_ids or None, history=past,
                                    generator=generator or None, retriever=reader)
        # view.citation_record has no "path" key: clients take {"path": ...} for a file to
        # download, and the server's absolute paths are no business of theirs.
        return {**answer.to_dict(),
                "citations": [c.to_dict() for c in
                              turn_record(answer, reader.store.documents).citations]}

    @guarded
    def documents(self) -> list[dict]:
        """The indexed documents: doc_id, title and source path."""
        return [{"doc_id": doc_id, "title": title, "source": source}
                for doc_id, title, source in self.answerer.listing()]
