"""Gradio Blocks web chat; calls pipeline, never a stage directly."""

from __future__ import annotations

import html
import logging
import os
from typing import Any

from .config import Settings
from .errors import AssistantError
from .pipeline import Assistant

log = logging.getLogger(__name__)


def _offline() -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def sources_html(answer: Any) -> str:
    """The cited passages as escaped HTML: document text never renders as markup."""
    from .cite import locator

    if not answer.citations:
        return "<p>No sources cited.</p>"
    rows = []
    for c in answer.citations:
        rows.append(
            f"<div class='source'><b>[{c.n}]</b> {html.escape(c.chunk.title)} "
            f"<span class='loc'>({html.escape(c.chunk.source)}, {html.escape(locator(c))})</span>"
            f"<blockquote>{html.escape(c.quote)}</blockquote></div>"
        )
    return "\n".join(rows)


def build(assistant: Assistant) -> Any:
    _offline()
    import gradio as gr

    def respond(message: str, history: list[dict[str, Any]]) -> tuple[Any, ...]:
        history = list(history or [])
        if not (message or "").strip():
            return history, "", "<p>Please type a question.</p>"
        try:
            answer = assistant.ask(message)
        except AssistantError as exc:
            raise gr.Error(str(exc)) from None
        history += [{"role": "user", "content": message},
                    {"role": "assistant", "content": answer.text}]
        return history, "", sources_html(answer)

    with gr.Blocks(title="assistant") as demo:
        gr.Markdown("## Ask your documents")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=480)
                box = gr.Textbox(label="Question", placeholder="Ask a question and press Enter")
            with gr.Column(scale=2):
                sources = gr.HTML("<p>Sources of the latest answer appear here.</p>")
        box.submit(respond, [box, chat], [chat, box, sources], api_name="ask")
    return demo


def serve(settings: Settings) -> None:
    """Load (or first build) the index, then serve the chat."""
    _offline()
    assistant = Assistant(settings)
    if not assistant.has_index():
        log.warning("no index in %s yet: building it from %s", settings.index_dir, settings.docs_dir)
        report = assistant.index(settings.docs_dir)
        log.warning(report.summary())
    assistant.retriever()  # load once at start-up, not on the first question
    auth = tuple(settings.auth.split(":", 1)) if settings.auth else None
    build(assistant).launch(server_name=settings.host, server_port=settings.port, auth=auth,
                            share=False, show_error=True)
