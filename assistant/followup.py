"""Conversation -> retrieval query: a follow-up question borrows the topic of the last one."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words that point back into the conversation ("And who led it?").
_ANAPHORA = frozenset(
    "it its it's they them their theirs he him his she her hers this that these those there "
    "then such the same and also what about how about who else".split()
)
_WORD = re.compile(r"[\w']+")


def is_followup(question: str) -> bool:
    """True for short questions, or ones that lean on the previous turn."""
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    return len(words) <= 4 or words[0] in {"and", "also", "but", "so"} or any(
        w in _ANAPHORA for w in words[1:] if w not in {"the", "and"}
    )


def retrieval_query(question: str, history: Sequence[tuple[str, str]] | None) -> str:
    """The text to retrieve with: the question, plus the previous question for a follow-up.

    `history` holds earlier (question, answer) pairs, oldest first.
    """
    if not history or not is_followup(question):
        return question
    previous = history[-1][0]
    return f"{previous} {question}"
