"""Question + numbered passages (+ the conversation) -> the chat messages a generator is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Hit, marker

SYSTEM = (
    "You answer questions using only the numbered passages the user gives you. "
    "Keep the answer short: one to three sentences. After each sentence, write the number "
    "of the passage that supports it in square brackets, for example: "
    "\"The bridge opened in 1894 [2].\" Do not use anything that is not in the passages. "
    "If the passages do not contain the answer, say: "
    "\"I could not find this in the documents.\""
)
HISTORY_TURNS = 3  # earlier (question, answer) pairs sent along for follow-up questions
HISTORY_CHARS = 600  # each earlier answer is cut to this length
_OLD_MARKS = re.compile(r"\s*\[(?:\d+(?:\s*[,;\u2013-]\s*\d+)*|unverified)\]|\s*\(unverified\)")


def passages_text(hits: Sequence[Hit]) -> str:
    """The passages as the model sees them: `[n] Title (source)` and the text, n from 1."""
    blocks = []
    for i, hit in enumerate(hits, start=1):
        c = hit.chunk
        blocks.append(f"{marker(i)} {c.title} ({c.source})\n{c.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(
    question: str,
    hits: Sequence[Hit],
    history: Sequence[tuple[str, str]] | None = None,
) -> list[dict[str, str]]:
    """System rules, the last few turns of the conversation, then passages and the question.

    Earlier answers lose their [n] markers: those numbers referred to other passages.
    """
    messages = [{"role": "system", "content": SYSTEM}]
    for q, a in list(history or [])[-HISTORY_TURNS:]:
        a = _OLD_MARKS.sub("", a).strip()
        if len(a) > HISTORY_CHARS:
            a = a[:HISTORY_CHARS].rsplit(" ", 1)[0] + " \u2026"
        messages.append({"role": "user", "content": q})
        messages.append({"role": "assistant", "content": a})
    messages.append({
        "role": "user",
        "content": f"Passages:\n\n{passages_text(hits)}\n\nQuestion: {question}\n\n"
                   "Answer from the passages only, with the passage number in square brackets "
                   "after each sentence.",
    })
    return messages
