"""Gradio Blocks web chat: the page's layout and which event calls which handler.

What each event does is controller.py's (handlers return values keyed by
component); markup is view.py's. Calls pipeline, never a stage directly.
Gradio (and controller.py, which needs it) is imported inside `build`: `serve`
loads the index in a thread while this thread imports Gradio.
"""

import logging
import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..cite.styles import DEFAULT, UI_STYLES
from ..config import GENERATORS, Settings
from ..ingest import SUPPORTED
from ..pipeline import Assistant
from ..service.api import Api
from ..team import Team
from . import view
from .downloads import Exports
from .guard import SameOrigin, UploadLimit
from .server import app, check_exposure

log = logging.getLogger(__name__)


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
# After an export was made (controller.Chat.export_*): the hidden download button now holds
# the file; clicking it downloads it.
DOWNLOAD_JS = """
() => setTimeout(() => {
  const b = document.querySelector('#download button, button#download');
  if (b) b.click();
}, 100)
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


def browser_secret(index_dir: Path) -> str:
    """A random key, made once and kept beside the index, that seals the conversation the
    browser keeps (sealed.py); it never leaves the server.

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


def build(team: Team, exports: Exports | None = None) -> Any:
    """The chat page (a gr.Blocks) over a team's collections (their indexes loaded)."""
    _offline()
    import gradio as gr

    from .controller import DOC_HINT, Chat, Page  # needs gradio
    from .sealed import PUBLIC_SECRET, Seal
    from .shelf import Shelf

    settings = team.settings
    # Survives reloads: the conversation is kept in the browser's localStorage, sealed with a
    # key that stays on the server (sealed.py); the page's config never holds it.
    secret = browser_secret(Path(settings.index_dir))

    # The page's config is the same for everyone: it names no collection and no document;
    # each visitor's own are filled in when the page loads (Chat.restore). Gradio would check
    # a chosen value against the config's (empty) choices; the handlers check it against
    # what the user may see instead.
    own: dict[str, Any] = {"allow_custom_value": True}
    # Gradio keeps a copy of every file it serves: those older than an hour go, hourly.
    with gr.Blocks(title="assistant \u2014 ask your documents", delete_cache=(3600, 3600)) as demo:
        conv = gr.BrowserState([], storage_key="assistant-conversation", secret=PUBLIC_SECRET)
        # The turn whose sources are shown. A hidden field, not gr.State: a State makes Gradio
        # hold a heartbeat connection open for the whole visit (to free it on leaving).
        shown = gr.Number(-1, visible=False, precision=0)
        with gr.Row(equal_height=True):
            gr.Markdown("## Ask your documents\nEvery answer quotes your files word for word; "
                        "each [n] is listed under **Sources** with where it is, ready to copy.")
            with gr.Column(scale=0, min_width=260):
                collection = gr.Dropdown(choices=[], value=None, label="Collection",
                                         elem_id="collection", **own)
                who = gr.Markdown("", elem_id="who")
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
                # Exports are made when asked for: a button makes the file, then the page
                # clicks the hidden download button that holds it (DOWNLOAD_JS).
                with gr.Row():
                    export = gr.Button("Export conversation (Markdown)", interactive=False,
                                       elem_id="export", size="md")
                    new = gr.Button("New conversation", size="md", elem_id="new")
                with gr.Row():
                    style = gr.Dropdown(list(UI_STYLES), value=DEFAULT, scale=2,
                                        label="Reference style", elem_id="style")
                    refs_file = gr.Button("Export references", size="md", interactive=False,
                                          elem_id="export-refs")
                    word_file = gr.Button("Export as Word (.docx)", size="md", interactive=False,
                                          elem_id="export-docx")
                download = gr.DownloadButton(value=None, visible="hidden", elem_id="download")
                with gr.Accordion("Your conversations", open=False, elem_id="history-panel"):
                    with gr.Row():
                        history = gr.Dropdown(choices=[], value=None, scale=3,
                                              label="Kept on the server, the latest first",
                                              elem_id="history", **own)
                        reopen = gr.Button("Open", size="md", elem_id="history-open", scale=1)
                    with gr.Row():
                        title = gr.Textbox(label="New title", elem_id="history-title", scale=3)
                        rename = gr.Button("Rename", size="md", elem_id="history-rename",
                                           scale=1)
                        delete = gr.Button("Delete", size="md", variant="stop",
                                           elem_id="history-delete", scale=1)
                with gr.Row():
                    only = gr.Dropdown(choices=[], value=[], multiselect=True,
                                       label="Only these documents (empty: all)",
                                       elem_id="filter", scale=3, **own)
                    # Passed to ask_stream per question; "openai" needs ASSISTANT_LLM_BASE_URL.
                    generator = gr.Radio(list(GENERATORS), value=settings.generator,
                                         label="Answer generator", elem_id="generator", scale=2)
                files = gr.File(label=f"Add documents ({', '.join(sorted(SUPPORTED))}; "
                                      f"up to {settings.max_upload_mb} MB each)",
                                file_count="multiple", elem_id="upload")
                upload_status = gr.Markdown("", elem_id="upload-status")
                with gr.Accordion("Edit a reference", open=False, elem_id="ref-editor"):
                    ref_doc = gr.Dropdown(choices=[], value=None,
                                          label="Document", elem_id="ref-doc", **own)
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

        page = Page(conv=conv, shown=shown, chat=chat, box=box, status=status, sources=sources,
                    document=document, export=export, refs_file=refs_file, word_file=word_file,
                    download=download, only=only, upload_status=upload_status, files=files,
                    ref_doc=ref_doc, ref_fields=ref_fields, ref_status=ref_status,
                    collection=collection, history=history, title=title, who=who,
                    ref_save=ref_save)
        c = Chat(team, page, exports, seal=Seal(secret))
        s = Shelf(c)
        buttons = [export, refs_file, word_file]
        shows = [chat, conv, shown, sources, document, *buttons]  # a conversation on screen
        lists = [collection, who, only, ref_doc, files, ref_save]  # the user's collection
        private: dict[str, Any] = {"api_visibility": "private"}
        gr.on([box.submit, send.click], c.respond, [box, conv, only, generator, style, collection],
              [chat, box, sources, conv, shown, status, document, *buttons, history], **private)
        for button, make in zip(buttons, (c.export_markdown, c.export_references, c.export_word),
                                strict=True):
            button.click(make, [conv, style], [download], **private).then(
                None, js=DOWNLOAD_JS, **private)
        sources.click(c.show_document, [conv], [document], **private)
        chat.select(c.select_turn, [conv, style], [sources, shown], **private)
        style.change(c.restyle, [conv, style, shown], [sources], **private)
        collection.input(c.pick_collection, [collection, style], [*shows, *lists, history],
                         **private)
        ref_doc.change(s.load_reference, [ref_doc, collection], [*ref_fields, ref_status],
                       **private)
        ref_save.click(s.save_reference, [ref_doc, conv, collection, *ref_fields],
                       [ref_status, conv], **private).then(
            c.restyle, [conv, style, shown], [sources], **private)
        gr.on([new.click, chat.clear], c.clear, [conv, collection],
              [chat, conv, shown, sources, document, status, *buttons, history], **private)
        files.upload(s.add_files, [files, collection], [upload_status, only, ref_doc, files],
                     **private)
        reopen.click(s.open_conversation, [history, style], [*shows, *lists], **private)
        rename.click(s.rename_conversation, [history, title], [history, title], **private)
        delete.click(s.delete_conversation, [history, conv],
                     [history, chat, conv, shown, sources, document, status, *buttons],
                     **private)
        demo.load(c.restore, [conv, style, collection],
                  [*shows, *lists, history, status], **private)
        gr.api(s.ask, api_name="ask")
        gr.api(s.documents, api_name="documents")
    # Every event answers up to worker_count() requests at once (Gradio's default is one):
    # handlers run in threads, the ONNX session and the loaded index are shared and
    # thread-safe, and an upload being indexed is an event of its own.
    demo.queue(default_concurrency_limit=settings.worker_count())
    return demo


def launch_kwargs(settings: Settings) -> dict[str, Any]:
    """How the page is served (gr.mount_gradio_app's arguments): local fonts and CSS only,
    size limits, and the guards (ASGI middleware of the whole server, server.py)."""
    from starlette.middleware import Middleware

    # Our middleware runs before any route: a request from another origin is refused (403)
    # before anything is done, an oversized upload before it is read.
    guards = [Middleware(SameOrigin),
              Middleware(UploadLimit, total_mb=settings.max_upload_total_mb,
                         max_files=settings.max_upload_files)]
    # show_error: the page shows what went wrong; messages.py keeps server paths out of it.
    return dict(server_name=settings.host, server_port=settings.port, show_error=True,
                css=view.CSS, max_file_size=f"{settings.max_upload_mb}mb", ssr_mode=False,
                pwa=False, mcp_server=False, run_history=False, footer_links=["api"],
                middleware=guards)


def serve(settings: Settings) -> None:
    """Load (or first build, with progress) each collection's index, then serve the chat."""
    _offline()
    import uvicorn


    team = Team(settings)
    check_exposure(team)
    assistants = [team.collections.assistant(name) for name in team.collections.names()]
    for assistant in assistants:
        _first_build(assistant)
        for message in assistant.indexer.clear_interrupted_uploads():
            log.warning("%s", message)
    # Load the indexes and the model once at start-up, not on the first question, while this
    # thread imports Gradio: the two overlap (`python app.py` serves in about 3 s).
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(lambda: [a.answerer.retriever() for a in assistants])
        import gradio  # noqa: F401

        loading.result()  # a damaged or mismatched index stops here, with its message
    # The OpenAI-compatible API and MCP (service/api.py) are served beside the chat.
    exports = Exports()  # the chat writes them; server.FileGate lets only their owner fetch them
    served = app(team, build(team, exports), launch_kwargs(settings), Api(team), exports)
    log.warning("serving on http://%s:%d", settings.host, settings.port)
    # X-Forwarded-* are read by server.Server (from the trusted proxies only), not by uvicorn,
    # which would replace the peer's address with the forwarded one before anyone can check
    # that the peer is a trusted proxy.
    uvicorn.run(served, host=settings.host, port=settings.port, log_level="warning",
                timeout_graceful_shutdown=5, proxy_headers=False)


def _first_build(assistant: Assistant) -> None:
    """Build an index that does not exist yet, with a progress bar."""
    from tqdm import tqdm

    s = assistant.settings
    if assistant.answerer.has_index():
        return
    log.warning("no index in %s yet: building it from %s", s.index_dir, s.docs_dir)
    with tqdm(desc="indexing (first start)", unit="chunk", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        report = assistant.index(s.docs_dir, progress=progress)
    log.warning("index built: %s (%d chunks)", report.summary(), report.chunks)
    for skipped in report.skipped:
        log.warning("skipped %s: %s", skipped.source, skipped.reason)
