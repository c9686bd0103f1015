"""Gradio Blocks web chat; calls pipeline (and view for markup), never a stage directly.

No `from __future__ import annotations` here: Gradio reads the handlers' type
hints (gr.EventData, the API endpoints' types) at runtime.
"""

import logging
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import report, view
from .config import Settings
from .errors import AssistantError
from .pipeline import Assistant

log = logging.getLogger(__name__)

GENERATORS = ("extractive", "openai")
EMPTY_PROMPT = "Please type a question first, for example: *What did the review find?*"
DOC_HINT = "<p class='hint'>Choose \u201cShow in document\u201d on a source to read it here.</p>"

# Sources panel: copy buttons write to the clipboard in the browser; "show" asks the server.
SOURCES_JS = """
element.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('button');
  if (!btn || !element.contains(btn)) return;
  if (btn.dataset.copy !== undefined) {
    const text = btn.dataset.copy;
    try { await navigator.clipboard.writeText(text); }
    catch (e) {  // not a secure context: the old way
      const ta = document.createElement('textarea');
      ta.value = text; document.body.appendChild(ta); ta.select();
      document.execCommand('copy'); ta.remove();
    }
    const label = btn.textContent; btn.textContent = 'Copied \u2713';
    setTimeout(() => { btn.textContent = label; }, 1500);
  } else if (btn.dataset.show !== undefined) {
    trigger('click', {turn: Number(btn.dataset.turn), n: Number(btn.dataset.show)});
  }
});
"""
# Document view: jump to the highlighted passage whenever a new one is shown.
DOC_JS = """
watch('value', () => setTimeout(() => {
  const m = element.querySelector('mark');
  if (m) m.scrollIntoView({block: 'center', behavior: 'instant'});
}, 50));
"""


def _offline() -> None:
    """Nothing leaves the machine: no analytics, no model downloads (set before gradio loads)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _valid_turns(turns: Any) -> list[dict[str, Any]]:
    """The stored conversation, or [] when the browser holds something else."""
    keys = {"question", "text", "found", "citations", "export"}
    if isinstance(turns, list) and all(isinstance(t, dict) and keys <= t.keys() for t in turns):
        return turns
    return []


def _choices(assistant: Assistant) -> list[tuple[str, str]]:
    return [(f"{title} ({source})", doc_id) for doc_id, title, source in assistant.listing()]


def _export(turns: list[dict[str, Any]], exports: Path) -> str | None:
    """Write the conversation as Markdown to a new file for the download button."""
    if not turns:
        return None
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=exports))  # one per download
    path = folder / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(view.export_markdown(turns, time.strftime("%Y-%m-%d %H:%M")), encoding="utf-8")
    return str(path)


def _export_references(turns: list[dict[str, Any]], style: str,
                       exports: Path) -> tuple[str | None, str | None]:
    """The conversation's references in `style` and the conversation as .docx, for download."""
    if not turns:
        return None, None
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=exports))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    refs = folder / f"references-{style}-{stamp}{report.SUFFIX.get(style, '.txt')}"
    refs.write_text(report.references_text(turns, style), encoding="utf-8")
    word = report.write_docx(turns, folder / f"conversation-{stamp}.docx", style=style,
                             when=time.strftime("%Y-%m-%d %H:%M"))
    return str(refs), str(word)


def browser_secret(index_dir: Path) -> str:
    """A random key, made once and kept beside the index, for the conversation in the browser.

    Random rather than derived from a path, so nobody can compute it; kept on disk so a
    conversation survives a restart of the app.
    """
    f = index_dir / ".ui-secret"
    try:
        return f.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pass
    index_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(16)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key


def build(assistant: Assistant) -> Any:
    """The chat page (a gr.Blocks) over a loaded assistant."""
    _offline()
    import gradio as gr

    settings = assistant.settings
    exports = Path(tempfile.mkdtemp(prefix="assistant-exports-"))

    def respond(question: str, turns: Any, doc_ids: list[str] | None, generator: str,
                style_name: str = "apa") -> Any:
        """Stream the answer; the last update also brings the sources in the chosen style and
        the references/Word files, so that no later step can show an older answer's sources."""
        turns = _valid_turns(turns)
        keep = gr.update()
        if not (question or "").strip():
            yield keep, question, keep, turns, EMPTY_PROMPT, keep, keep, keep, keep
            return
        history = [(t["question"], t["text"]) for t in turns]
        messages = view.chat_messages(turns) + [
            {"role": "user", "content": view.chat_text(question.strip())},
            {"role": "assistant", "content": "\u2026"}]
        yield messages, "", keep, turns, "Searching your documents\u2026", keep, keep, keep, keep
        final = None
        try:
            for answer in assistant.ask_stream(question, doc_ids=doc_ids or None, history=history,
                                               generator=generator or None):
                final = answer
                messages[-1] = {"role": "assistant",
                                "content": view.answer_message(answer.text, answer.notes)}
                yield messages, "", keep, turns, "", keep, keep, keep, keep
            docs = assistant.retriever().store.documents  # read on demand
        except AssistantError as exc:
            yield (view.chat_messages(turns), question, keep, turns, f"**Error:** {exc}", keep,
                   keep, keep, keep)
            raise gr.Error(str(exc)) from None
        assert final is not None  # ask_stream always yields the complete answer last
        turns = [*turns, view.turn_record(final, docs)]
        status = "" if final.found else view.NOTHING_FOUND
        export = gr.update(value=_export(turns, exports), interactive=True)
        refs, word = _export_references(turns, style_name or "apa", exports)
        yield (view.chat_messages(turns), "", view.sources_html(turns[-1], len(turns) - 1,
                                                                 style_name or "apa"),
               turns, status, export, DOC_HINT,
               gr.update(value=refs, interactive=refs is not None),
               gr.update(value=word, interactive=word is not None))

    def show_document(turns: Any, evt: gr.EventData) -> Any:
        turns = _valid_turns(turns)
        data = evt._data if isinstance(evt._data, dict) else {}
        t, n = data.get("turn"), data.get("n")
        if not isinstance(t, int) or not 0 <= t < len(turns):
            return gr.update()
        cite = next((c for c in turns[t]["citations"] if c["n"] == n), None)
        if cite is None:
            return gr.update()
        try:
            doc = assistant.document(cite["doc_id"])
        except AssistantError as exc:
            raise gr.Error(str(exc)) from None
        if doc is None:
            return "<p class='none'>This document is no longer in the index.</p>"
        from .pageview import pages_html  # pypdfium2 loads only when a PDF page is shown

        return pages_html(doc, cite) + view.document_html(doc, cite)

    def select_turn(turns: Any, evt: gr.SelectData) -> Any:
        turns = _valid_turns(turns)
        t = evt.index // 2 if isinstance(evt.index, int) else len(turns) - 1
        if not 0 <= t < len(turns):
            return gr.update()
        return view.sources_html(turns[t], t)

    def restore(turns: Any) -> Any:
        turns = _valid_turns(turns)
        last = turns[-1] if turns else None
        export = _export(turns, exports)
        return (view.chat_messages(turns), view.sources_html(last, len(turns) - 1),
                gr.update(value=export, interactive=export is not None),
                gr.update(choices=_choices(assistant)))

    def clear() -> Any:
        return ([], [], view.sources_html(None), gr.update(value=None, interactive=False),
                DOC_HINT, "")

    # Gradio finds a progress tracker by its default value, hence the call in the signature.
    def add_files(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        if not files:
            return gr.update(), gr.update(), None

        def step(done: int, total: int) -> None:
            if total:
                progress((done, total), desc="Embedding new passages", unit="passages")

        progress(0, desc="Checking and indexing the uploaded files")
        try:
            report = assistant.add_files([(Path(f), Path(f).name) for f in files], progress=step)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from None
        lines = []
        if report.added:
            lines.append("**Added:** " + ", ".join(view.chat_text(s) for s in report.added))
        for s in report.skipped:
            lines.append(f"**Not added:** {view.chat_text(s.source)}: {view.chat_text(s.reason)}")
        if report.index is not None:
            lines.append(f"Index updated ({report.index.summary()}; "
                         f"{report.index.embedded} new passages embedded).")
        return "\n\n".join(lines), gr.update(choices=_choices(assistant)), None

    # Survives reloads: the conversation is kept (encrypted) in the browser's localStorage.
    secret = browser_secret(Path(settings.index_dir))

    with gr.Blocks(title="assistant \u2014 ask your documents") as demo:
        conv = gr.BrowserState([], storage_key="assistant-conversation", secret=secret)
        gr.Markdown("## Ask your documents\nEvery answer quotes your files word for word; "
                    "each [n] is listed under **Sources** with where it is, ready to copy.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, elem_id="chat", buttons=[],
                                  feedback_options=None, latex_delimiters=[],
                                  allow_tags=False, sanitize_html=True, autoscroll=True)
                with gr.Row():
                    box = gr.Textbox(show_label=False, scale=6, elem_id="question", autofocus=True,
                                     placeholder="Ask a question about your documents, "
                                                 "then press Enter")
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                status = gr.Markdown("", elem_id="status")
                with gr.Row():
                    export = gr.DownloadButton("Export conversation (Markdown)", value=None,
                                               interactive=False, elem_id="export", size="md")
                    new = gr.Button("New conversation", size="md", elem_id="new")
                with gr.Row():
                    style = gr.Dropdown(list(report.UI_STYLES), value="apa", scale=2,
                                        label="Reference style", elem_id="style")
                    refs_file = gr.DownloadButton("Export references", value=None, size="md",
                                                  interactive=False, elem_id="export-refs")
                    word_file = gr.DownloadButton("Export as Word (.docx)", value=None, size="md",
                                                  interactive=False, elem_id="export-docx")
                with gr.Row():
                    only = gr.Dropdown(choices=_choices(assistant), value=[], multiselect=True,
                                       label="Only these documents (empty: all)",
                                       elem_id="filter", scale=3)
                    # Passed to ask_stream per question; "openai" needs ASSISTANT_LLM_BASE_URL.
                    generator = gr.Radio(list(GENERATORS), value=settings.generator,
                                         label="Answer generator", elem_id="generator", scale=2)
                files = gr.File(label=f"Add documents ({', '.join(sorted(_types()))}; "
                                      f"up to {settings.max_upload_mb} MB each)",
                                file_count="multiple", elem_id="upload")
                upload_status = gr.Markdown("", elem_id="upload-status")
                with gr.Accordion("Edit a reference", open=False, elem_id="ref-editor"):
                    ref_doc = gr.Dropdown(choices=_choices(assistant), value=None,
                                          label="Document", elem_id="ref-doc")
                    ref_fields = [
                        gr.Textbox(label="Title", elem_id="ref-title"),
                        gr.Textbox(label="Authors, one per line (Family, Given)", lines=2,
                                   elem_id="ref-authors"),
                        gr.Textbox(label="Date (YYYY, YYYY-MM or YYYY-MM-DD)", elem_id="ref-date"),
                        gr.Textbox(label="Journal, newspaper or site", elem_id="ref-container"),
                        gr.Textbox(label="Publisher", elem_id="ref-publisher"),
                        gr.Textbox(label="URL", elem_id="ref-url"),
                        gr.Textbox(label="DOI", elem_id="ref-doi"),
                    ]
                    ref_save = gr.Button("Save reference", elem_id="ref-save")
                    ref_status = gr.Markdown("", elem_id="ref-status")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(view.sources_html(None), elem_id="sources",
                                  js_on_load=SOURCES_JS)
                gr.Markdown("### Document")
                document = gr.HTML(DOC_HINT, elem_id="document", js_on_load=DOC_JS)

        def restyle(turns: Any, style_name: str, shown: str) -> Any:
            """Sources in the chosen style, and the conversation's references and Word file."""
            turns = _valid_turns(turns)
            m = re.search(r"data-turn='(\d+)'", shown or "")
            t = int(m.group(1)) if m and int(m.group(1)) < len(turns) else len(turns) - 1
            html = view.sources_html(turns[t], t, style_name) if turns else gr.update()
            refs, word = _export_references(turns, style_name, exports)
            return (html, gr.update(value=refs, interactive=refs is not None),
                    gr.update(value=word, interactive=word is not None))

        restyled = [sources, refs_file, word_file]
        gr.on([box.submit, send.click], respond, [box, conv, only, generator, style],
              [chat, box, sources, conv, status, export, document, refs_file, word_file],
              api_visibility="private")
        sources.click(show_document, [conv], [document], api_visibility="private")
        chat.select(select_turn, [conv], [sources], api_visibility="private").then(
            restyle, [conv, style, sources], restyled, api_visibility="private")
        style.change(restyle, [conv, style, sources], restyled, api_visibility="private")

        def load_reference(doc_id: str | None) -> Any:
            if not doc_id:
                return [""] * len(ref_fields)
            try:
                return report.to_form(assistant.reference(doc_id))
            except (AssistantError, KeyError) as exc:
                raise gr.Error(f"cannot read that document's reference: {exc}") from None

        def save_reference(doc_id: str | None, turns: Any, *values: str) -> Any:
            if not doc_id:
                raise gr.Error("Choose a document first.")
            try:
                item = assistant.save_reference(doc_id, report.from_form(values))
            except AssistantError as exc:
                raise gr.Error(str(exc)) from None
            turns = report.refreshed(_valid_turns(turns), {doc_id: item})
            return f"Saved in references.json: {view.chat_text(report.describe(item))}", turns

        ref_doc.change(load_reference, [ref_doc], ref_fields, api_visibility="private")
        ref_save.click(save_reference, [ref_doc, conv, *ref_fields], [ref_status, conv],
                       api_visibility="private").then(
            restyle, [conv, style, sources], restyled, api_visibility="private")
        gr.on([new.click, chat.clear], clear, None,
              [chat, conv, sources, export, document, status], api_visibility="private")
        files.upload(add_files, [files], [upload_status, only, files], api_visibility="private")
        demo.load(restore, [conv], [chat, sources, export, only], api_visibility="private").then(
            restyle, [conv, style, sources], restyled, api_visibility="private")

        def ask(question: str, doc_ids: list[str] | None = None,
                history: list[list[str]] | None = None, generator: str | None = None) -> dict:
            """Answer a question from the indexed documents.

            `history` holds earlier [question, answer] pairs for follow-ups;
            `generator` is "extractive" or "openai" (default: the server's setting).
            Returns the answer text with [n] markers and every citation with its
            verbatim quote, character offsets, locator, plain and Markdown forms, and
            its reference (`csl`: CSL-JSON plus locator and label).
            """
            past = [(str(q), str(a)) for q, a in (history or [])]
            try:
                answer = assistant.ask(question, doc_ids=doc_ids or None, history=past,
                                       generator=generator or None)
                docs = assistant.retriever().store.documents
            except AssistantError as exc:
                raise gr.Error(str(exc)) from None
            # view.citation_record has no "path" key: clients take {"path": ...} for a file to
            # download, and the server's absolute paths are no business of theirs.
            return {**answer.to_dict(),
                    "citations": view.turn_record(answer, docs)["citations"]}

        def documents() -> list[dict]:
            """The indexed documents: doc_id, title and source path."""
            return [{"doc_id": doc_id, "title": title, "source": source}
                    for doc_id, title, source in assistant.listing()]

        gr.api(ask, api_name="ask")
        gr.api(documents, api_name="documents")
    # Every event answers up to worker_count() requests at once (Gradio's default is one):
    # handlers run in threads, the ONNX session and the loaded index are shared and
    # thread-safe, and an upload being indexed is an event of its own.
    demo.queue(default_concurrency_limit=settings.worker_count())
    return demo


def _types() -> list[str]:
    from .ingest import SUPPORTED

    return list(SUPPORTED)


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """How the page is served: local fonts and CSS only, size limit, optional login."""
    auth = tuple(settings.auth.split(":", 1)) if settings.auth else None
    return dict(server_name=settings.host, server_port=settings.port, auth=auth, share=False,
                show_error=True, css=view.CSS,
                max_file_size=f"{settings.max_upload_mb}mb", ssr_mode=False, pwa=False,
                mcp_server=False, run_history=False, footer_links=["api"])


def serve(settings: Settings) -> None:
    """Load (or first build, with progress) the index, then serve the chat."""
    _offline()
    from tqdm import tqdm

    assistant = Assistant(settings)
    if not assistant.has_index():
        log.warning("no index in %s yet: building it from %s", settings.index_dir,
                    settings.docs_dir)
        with tqdm(desc="indexing (first start)", unit="chunk", file=sys.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            report = assistant.index(settings.docs_dir, progress=progress)
        log.warning("index built: %s (%d chunks)", report.summary(), report.chunks)
        for s in report.skipped:
            log.warning("skipped %s: %s", s.source, s.reason)
    # Load the index and the model once at start-up, not on the first question, while this
    # thread imports Gradio: the two overlap (`python app.py` serves in about 3 s).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(assistant.retriever)
        import gradio  # noqa: F401

        loading.result()  # a damaged or mismatched index stops here, with its message
    build(assistant).launch(**launch_kwargs(settings))
