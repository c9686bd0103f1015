"""Citation -> text a person pastes into a report (plain text and Markdown).

The quote is the verbatim source text; only runs of whitespace (line breaks
inside a paragraph) are shown as single spaces. A quote made of two sentences
of a passage shows both, joined by " … ", with a locator for each. Markdown is
made safe in one place (`safe_markdown`): documents are quoted as text, never
as HTML, script links or remote images.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..types import Answer, Citation, locator, marker

# HTML in document text is shown as text: no tag, comment or autolink opens without "<", no
# entity is read without "&". A ">" alone opens nothing and stays, so "Fruit > Pears" (a
# heading path) reads as written.
_HTML = re.compile(r"[&<]")
_ENTITIES = {"&": "&amp;", "<": "&lt;"}
# An image (inline "![a](x)" or by reference "![a][r]") is never loaded: with its "!["
# escaped it reads as the text it was.
_IMAGE = re.compile(r"!\[")
# Where a link's target starts: "[a](target" and a reference definition "[r]: target".
_INLINE_LINK = re.compile(r"\]\(")
_DEFINITION = re.compile(r"^([ \t]*)\[(?=[^\]\n]*\]:)", re.MULTILINE)
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")


def _runs_script(target: str) -> bool:
    """Would a browser open `target` (the text after "](" or "]:") as a script or inline data?

    Read as a browser would: entities decoded (Markdown decodes them in a link), then
    whitespace and control characters dropped (browsers drop tabs and line breaks in URLs).
    """
    head = html.unescape(target[:256])
    head = "".join(ch for ch in head if ord(ch) > 32).lower().lstrip("<")
    return head.startswith(_SCRIPT_SCHEMES)


def safe_markdown(text: str) -> str:
    """Document text as Markdown that shows it as written and runs, links or loads nothing.

    HTML is escaped (& and <), images become text, and a link to javascript:, vbscript: or
    data: is left as text. Every piece of document text in the Markdown made here goes
    through this, once; the Markdown's own syntax around it does not.
    """
    text = _HTML.sub(lambda m: _ENTITIES[m.group()], text)
    text = _IMAGE.sub(r"!\\[", text)
    text = _INLINE_LINK.sub(
        lambda m: "]\\(" if _runs_script(m.string[m.end():]) else m.group(), text)
    return _DEFINITION.sub(
        lambda m: m.group(1) + ("\\[" if _runs_script(
            m.string[m.string.index("]:", m.end()) + 2:]) else "["), text)


def code_span(text: str) -> str:
    """`text` as a Markdown code span, shown verbatim whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def reflow(text: str) -> str:
    """An answer for reading: line breaks inside a paragraph (PDF and wrapped text) become
    spaces; blank lines between paragraphs stay. Offsets and quotes are untouched."""
    return re.sub(r"[ \t]*(?<!\n)\n(?!\n)[ \t]*", " ", text)


def locators(c: Citation) -> str:
    """The locator of every span: 'line 3; line 5' for a two-sentence quote; spans at the same
    place (a table row after its header row, in one section) are located once."""
    return "; ".join(dict.fromkeys(p for p in (locator(s) for s in c.parts) if p))


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


def quote_markdown(quotes: Sequence[str], title: str, source: str, locs: str) -> str:
    """> quote — *Title* (`docs_src/file.txt`, lines 5–6): "Copy as Markdown"."""
    where = ", ".join(p for p in (code_span(source) if source else "", safe_markdown(locs)) if p)
    body = "\n>\n> \u2026\n>\n> ".join(safe_markdown(_flat(q)) for q in quotes)
    return f"> {body}\n>\n> \u2014 *{_emphasised(title)}* ({where})"


def _emphasised(text: str) -> str:
    """Document text to go between * *: safe, its own asterisks escaped."""
    return safe_markdown(_flat(text)).replace("*", r"\*")


def markdown(c: Citation) -> str:
    """A citation as quote_markdown writes it."""
    return quote_markdown([s.quote for s in c.parts], c.chunk.title, c.chunk.source,
                          locators(c))


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


# One source of an answer for sources_markdown: (n, title, source, locators, its quotes).
SourceParts = tuple[int, str, str, str, Sequence[str]]


def sources_markdown(text: str, short: tuple[str, int] | None,
                     sources: Sequence[SourceParts]) -> str:
    """An answer (its short answer first) and its numbered references, in Markdown."""
    head = f"{safe_markdown(_flat(short[0]))} {marker(short[1])}: " if short else ""
    lines = [head + safe_markdown(reflow(text)), ""]
    for n, title, source, locs, spans in sources:
        where = ", ".join(p for p in (code_span(source) if source else "", safe_markdown(locs))
                          if p)
        said = " \u2026 ".join(f"\u201c{safe_markdown(_flat(q))}\u201d" for q in spans)
        lines.append(f"{n}. *{_emphasised(title)}* ({where}): {said}")
    return "\n".join(lines).rstrip() + "\n"


def answer_markdown(answer: Answer) -> str:
    """An answer and its references in Markdown (the chat's export and "Copy answer")."""
    sa = answer.short_answer  # first, as the chat shows it: "Steve Ashley [1]: ..."
    return sources_markdown(answer.text, (sa.text, sa.citation_n) if sa else None,
                            [(c.n, c.chunk.title, c.chunk.source, locators(c),
                              [s.quote for s in c.parts]) for c in answer.citations])
