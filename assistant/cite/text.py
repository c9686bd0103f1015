"""Citation -> text a person pastes into a report (plain text and Markdown).

The quote is the verbatim source text; only runs of whitespace (line breaks
inside a paragraph) are shown as single spaces. A quote made of two sentences
of a passage shows both, joined by " … ", with a locator for each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Answer, Citation, locator, marker


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def reflow(text: str) -> str:
    """An answer for reading: line breaks inside a paragraph (PDF and wrapped text) become
    spaces; blank lines between paragraphs stay. Offsets and quotes are untouched."""
    return re.sub(r"[ \t]*(?<!\n)\n(?!\n)[ \t]*", " ", text)


def locators(c: Citation) -> str:
    """The locator of every span: 'line 3; line 5' for a two-sentence quote."""
    return "; ".join(p for p in (locator(s) for s in c.parts) if p)


def quotes(c: Citation) -> str:
    """"quote" or "first" … "second": every span, verbatim but for whitespace."""
    return " \u2026 ".join(f"\u201c{_flat(s.quote)}\u201d" for s in c.parts)


def _where(c: Citation, source: str) -> str:
    """ "source, locators" (either may be missing)."""
    return ", ".join(p for p in (source, locators(c)) if p)


def plain(c: Citation) -> str:
    """"quote" — Title (docs_src/file.txt, lines 5–6)"""
    where = _where(c, c.chunk.source)
    return f"{quotes(c)} \u2014 {c.chunk.title} ({where})"


def markdown(c: Citation) -> str:
    """> quote — *Title* (`docs_src/file.txt`, lines 5–6)"""
    where = _where(c, f"`{c.chunk.source}`")
    title = c.chunk.title.replace("*", r"\*")
    body = "\n>\n> \u2026\n>\n> ".join(_flat(s.quote) for s in c.parts)
    return f"> {body}\n>\n> \u2014 *{title}* ({where})"


def reference(c: Citation) -> str:
    """One line of a numbered reference list: [n] Title (source, locator): "quote"."""
    where = _where(c, c.chunk.source)
    return f"{marker(c.n)} {c.chunk.title} ({where}): {quotes(c)}"


def references(citations: Sequence[Citation]) -> str:
    return "\n".join(reference(c) for c in citations)


def answer_text(answer: Answer) -> str:
    """The answer followed by its numbered sources, as the CLI prints it."""
    if not answer.citations:
        return reflow(answer.text)
    return f"{reflow(answer.text)}\n\nSources:\n{references(answer.citations)}"


def answer_markdown(answer: Answer) -> str:
    """An answer and its references in Markdown (used by the chat export)."""
    sa = answer.short_answer  # first, as the chat shows it: "Steve Ashley [1]: ..."
    lines = [(f"{sa.text} {marker(sa.citation_n)}: " if sa else "") + reflow(answer.text), ""]
    for c in answer.citations:
        where = _where(c, f"`{c.chunk.source}`")
        lines.append(f"{c.n}. *{c.chunk.title}* ({where}): {quotes(c)}")
    return "\n".join(lines).rstrip() + "\n"
