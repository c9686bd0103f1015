"""Plain text and Markdown: decoded as they are; Markdown's ATX headings give the heading path."""

from __future__ import annotations

import re

from ..base import DEFAULT_LIMITS, Limits, Parsed
from ..decoding import decode_text


def load_txt(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    text, notes = decode_text(data)
    return Parsed(text, notes=tuple(notes))


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def load_md(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    text, notes = decode_text(data)
    headings = []
    in_fence = False
    offset = 0
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence:
            m = _ATX.match(line)
            if m:
                headings.append((offset, len(m.group(1)), m.group(2).strip()))
        offset += len(line) + 1
    title = next((h[2] for h in headings if h[1] == 1), None) or (headings[0][2] if headings else None)
    return Parsed(text, title, headings=tuple(headings), notes=tuple(notes))
