"""Code in a PDF: lines of the text layer set in a monospace font (Courier, CMTT, LM Mono ...).

The extraction's font runs are found again, in order, in the page's text, so that each
character knows whether it was set in a monospace font; a line whose visible characters
are nearly all monospace is code, and consecutive code lines are one `code` block.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...types import Block
from .pdfheadings import Run

MIN_SHARE = 0.8  # of a line's visible characters set in a monospace font
MIN_CHARS = 3  # a shorter line is a mark, not code
LOOKAHEAD = 400  # how far past the last run found the next one may start


def _mono_chars(text: str, runs: Sequence[Run]) -> bytearray:
    """1 for every character of `text` that a monospace run put there."""
    mono = bytearray(len(text))
    pos = 0
    for run, _size, is_mono in runs:
        piece = run.strip()
        if not piece:
            continue
        at = text.find(piece, pos, pos + LOOKAHEAD + len(piece))
        if at < 0:
            continue
        if is_mono:
            mono[at:at + len(piece)] = b"\x01" * len(piece)
        pos = at + len(piece)
    return mono


def code_blocks(text: str, runs: Sequence[Run], offset: int) -> list[Block]:
    """The code blocks of one page's `text` (which starts at `offset` in the document)."""
    if not any(m for _t, _s, m in runs):
        return []
    mono = _mono_chars(text, runs)
    out: list[Block] = []
    pos = 0
    current: list[int] | None = None
    for line in text.split("\n"):
        end = pos + len(line)
        seen = [i for i in range(pos, end) if not text[i].isspace()]
        code = len(seen) >= MIN_CHARS and sum(mono[i] for i in seen) >= MIN_SHARE * len(seen)
        if code:
            first = seen[0]
            if current is not None:
                current[1] = seen[-1] + 1
            else:
                current = [first, seen[-1] + 1]
        elif current is not None:
            out.append(Block("code", offset + current[0], offset + current[1]))
            current = None
        pos = end + 1
    if current is not None:
        out.append(Block("code", offset + current[0], offset + current[1]))
    return out
