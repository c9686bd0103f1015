"""Answers and documents -> the HTML and Markdown the web chat shows (pure functions, no Gradio).

Everything taken from a document is escaped: a document holding `<script>`,
HTML, a Markdown image or a `${...}` template is shown as text, never run,
rendered or loaded. A conversation is kept as JSON-safe "turn" records so that
it survives a page reload (the browser keeps it) and can be exported.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..cite.records import Quoted, Source, Turn, reference_for
from ..cite.references import describe
from ..cite.text import reflow, safe_markdown
from ..text.analyzer import language_name
from ..types import QUOTE_GAP, Document, ShortAnswer, marker

DOC_WINDOW = 200_000  # longer documents are shown as this many characters around the quote
NOTHING_FOUND = "Nothing relevant was found in your documents, so nothing is cited."
CHANGED = ("<p class='none'>This document has changed since the answer was given; "
           "ask again to cite the current text.</p>")


def esc(text: str) -> str:
    """HTML-escape, and also `$ { } \\``: Gradio's HTML templates must see no template syntax."""
    return (html.escape(text, quote=True).replace("$", "&#36;").replace("{", "&#123;")
            .replace("}", "&#125;").replace("`", "&#96;"))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def chat_text(text: str) -> str:
    """Text for the Chatbot's Markdown renderer that displays exactly as written.

    HTML is escaped and every Markdown/LaTeX character is backslash-escaped, so a
    quoted `![x](http://elsewhere/x.png)` stays text and loads nothing.
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The conversation as Chatbot messages."""
    out = []
    for t in turns:
        out.append({"role": "user", "content": chat_text(t.question)})
        out.append({"role": "assistant", "content": answer_message(
            t.text, t.notes, t.short_answer, t.citations)})
    return out


def answer_message(text: str, notes: Sequence[str] = (), short: ShortAnswer | None = None,
                   citations: Sequence[Source] = ()) -> str:
    """The answer as chat Markdown; a short answer comes first and is bold inside its quote."""
    tail = "".join(f"\n\n*{chat_text(n)}*" for n in notes)
    at = _short_in_text(text, short, citations)
    head = f"**{chat_text(reflow(short.text))}** {marker(short.citation_n)}: " \
        if short is not None and at is not None else ""
    out = []
    for style, piece in _pieces(text, 0, at, _code_in_text(text, citations)):
        out.append(_md_code(piece) if style == "code" else
                   f"**{chat_text(reflow(piece))}**" if style == "bold" else
                   chat_text(reflow(piece)))
    return head + "".join(out) + tail


def _pieces(q: str, start: int, bold: tuple[int, int] | None,
            code: Sequence[tuple[int, int]]) -> list[tuple[str, str]]:
    """`q` (which starts at offset `start`) cut into (style, text): "code" inside the `code`
    spans, "bold" inside `bold` (the short answer), "" elsewhere; offsets are absolute. Code
    is shown as set: a short answer inside it is not cut out of it."""
    if bold is not None and any(a < bold[1] and bold[0] < b for a, b in code):
        bold = None
    cuts = {0, len(q)}
    for a, b in [*code, *([bold] if bold else [])]:
        cuts |= {min(max(0, a - start), len(q)), min(max(0, b - start), len(q))}
    points = sorted(cuts)
    out = []
    for x, y in zip(points, points[1:], strict=False):
        at = start + x
        style = "code" if any(a <= at < b for a, b in code) else \
            "bold" if bold is not None and bold[0] <= at < bold[1] else ""
        out.append((style, q[x:y]))
    return out


def _md_code(text: str) -> str:
    """Code as chat Markdown, shown exactly as set: a fenced block for lines, a code span
    for one; fences longer than any run of backticks inside."""
    ticks = max((len(r) for r in re.findall(r"`+", text)), default=0) + 1
    if "\n" in text:
        fence = "`" * max(3, ticks)
        return f"\n\n{fence}text\n{text}\n{fence}\n\n"
    return f"{'`' * ticks} {text} {'`' * ticks}"


def _code_in_text(text: str, citations: Sequence[Source]) -> list[tuple[int, int]]:
    """Where the quotes' code parts sit in the answer text (each quote before its [n])."""
    out = []
    for c in citations:
        at = text.find(f"{QUOTE_GAP.join(p.quote for p in c.spans)} {marker(c.n)}")
        for p in c.spans if at >= 0 else ():
            out += [(at + a - p.start, at + b - p.start) for a, b in p.code]
            at += len(p.quote) + len(QUOTE_GAP)
    return out


def _short_in_text(text: str, short: ShortAnswer | None,
                   citations: Sequence[Source]) -> tuple[int, int] | None:
    """Where the short answer sits in the answer text: inside its citation's quote, before [n]."""
    if short is None:
        return None
    for c in citations:
        if c.n != short.citation_n:
            continue
        # a quote of several spans reads "first … second [n]" in the answer
        at = text.find(f"{QUOTE_GAP.join(p.quote for p in c.spans)} {marker(c.n)}")
        for p in c.spans if at >= 0 else ():
            if p.start <= short.start < p.start + len(p.quote):
                rel = at + short.start - p.start
                return rel, rel + short.end - short.start
            at += len(p.quote) + len(QUOTE_GAP)
    return None


def _marked(p: Quoted, short: ShortAnswer | None) -> str:
    """A quote span as HTML, the short answer inside it in bold, its code as set."""
    q, start = p.quote, p.start
    bold = (short.start, short.end) if short is not None and \
        start <= short.start and short.end <= start + len(q) else None
    tags = {"code": ("<code class='src-code'>", "</code>"),
            "bold": ("<b class='short-answer'>", "</b>"), "": ("", "")}
    return "".join(tags[style][0] + esc(piece) + tags[style][1]
                   for style, piece in _pieces(q, start, bold, p.code))


def _verdict(verified: bool | None, unsupported: Sequence[str] = ()) -> str:
    """A badge for generated answers: was the claim found in the cited passage, and if not,
    which of its facts the quote does not hold?"""
    if verified is None:  # extractive quotes are the source text itself
        return ""
    if verified:
        return " \u00b7 <span class='src-ok'>verified</span>"
    if unsupported:
        return (" \u00b7 <span class='src-unverified'>unverified: not in the quoted source: "
                f"{esc(', '.join(unsupported))}</span>")
    return " \u00b7 <span class='src-unverified'>unverified: the passage may not support the claim</span>"


def sources_html(turn: Turn | None, index: int = 0, style: str = "apa") -> str:
    """The passages one answer cites: number, title, locator, quote in context, score, buttons.

    "Copy reference" copies the source's reference in `style` (cite.styles.UI_STYLES).
    """
    if turn is None:
        return "<p class='hint'>The passages an answer cites appear here.</p>"
    rows = [f"<div class='sources' data-turn='{index}'>"]  # data-turn: which answer is shown
    if not turn.citations:
        text = NOTHING_FOUND if not turn.found else "No sources cited."
        return f"{rows[0]}<p class='none'>{esc(text)}</p></div>"
    rows += [f"<div class='src-top'><span>Sources of: <i>{esc(turn.question)}</i></span>"
             f"<button class='btn' data-copy='{esc(turn.as_markdown())}'>Copy answer (Markdown)"
             "</button>"
             "</div>"]
    for c in turn.citations:
        sa = turn.short_answer
        short = sa if sa and sa.citation_n == c.n else None
        where = " \u00b7 ".join(esc(p) for p in (c.source, c.locator) if p)
        if c.language:  # the quote's passage's, else its document's (ingest/language.py)
            where += (f" \u00b7 <span class='src-lang' data-lang='{esc(c.language)}'>"
                      f"{esc(language_name(c.language))}</span>")
        if c.csl.get("note"):  # read by OCR: say so beside the locator
            where += " \u00b7 <span class='src-ocr'>text read by OCR</span>"
        lang = f" lang='{esc(c.language)}'" if c.language else ""  # the quote's own language
        rows.append(
            f"<div class='src' id='src-{c.n}'>"
            f"<div class='src-head'><b class='src-n'>{marker(c.n)}</b> "
            f"<span class='src-title'>{esc(c.title)}</span></div>"
            f"<div class='src-meta'>{esc(describe(c.csl) if c.csl else '')}</div>"
            f"<div class='src-loc'>{where} \u00b7 <span class='src-score'>score "
            f"{c.score:.2f}</span>{_verdict(c.verified, c.unsupported)}"
            "</div>"
            + "<div class='src-gap'>\u2026</div>".join(
                f"<blockquote class='src-ctx'{lang}>{esc(p.before)}<mark>{_marked(p, short)}</mark>"
                f"{esc(p.after)}</blockquote>" for p in c.spans) +
            "<div class='src-actions'>"
            f"<button class='btn' data-copy='{esc(c.plain)}'>Copy citation</button>"
            f"<button class='btn' data-copy='{esc(c.as_markdown())}'>Copy as Markdown</button>"
            f"<button class='btn copy-ref' data-copy='{esc(reference_for(c, style))}'>"
            f"Copy reference</button>"
            f"<button class='btn' data-show='{c.n}' data-turn='{index}'>Show in document"
            f"</button></div></div>"
        )
    return "\n".join(rows) + "</div>"


def document_html(doc: Document, cite: Source) -> str:
    """The whole document as escaped text, line numbers for text files, the quote marked."""
    if not cite.lies_in(doc):  # changed since, or a crafted record
        return CHANGED
    spans = [(p.start, p.end, p.quote) for p in cite.spans]
    start, end = spans[0][0], spans[-1][1]
    lo, hi = 0, len(doc.text)
    if hi > DOC_WINDOW:  # very long documents: a window around the passage
        lo = max(0, start - DOC_WINDOW // 2)
        hi = min(len(doc.text), max(end, lo + DOC_WINDOW))
    # (offset, order at equal offsets, tag): close the mark, then numbers, then open it.
    marks: list[tuple[int, int, str]] = []
    for i, (a, b, _) in enumerate(spans):  # every span of the quote; the first is scrolled to
        marks += [(a, 2, "<mark id='cited'>" if i == 0 else "<mark>"), (b, 0, "</mark>")]
    if doc.format in ("txt", "md"):  # the same line numbers as the locators
        line = doc.text.count("\n", 0, lo) + 1
        pos = lo
        while pos < hi:
            marks.append((pos, 1, f"<span class='ln'>{line}</span>"))
            nl = doc.text.find("\n", pos, hi)
            if nl < 0:
                break
            pos, line = nl + 1, line + 1
    for i, p in enumerate(doc.page_starts):
        if lo <= p < hi:
            marks.append((p, 1, f"<span class='page'>page {i + 1}</span>"))
    marks.sort(key=lambda m: (m[0], m[1]))
    out, pos = [], lo
    for at, _, tag in marks:
        out.append(esc(doc.text[pos:at]))
        out.append(tag)
        pos = at
    out.append(esc(doc.text[pos:hi]))
    note = (f"<p class='hint'>Showing characters {lo:,}\u2013{hi:,} of {len(doc.text):,}.</p>"
            if (lo, hi) != (0, len(doc.text)) else "")
    return (f"<div class='doc-head'><b>{marker(cite.n)}</b> {esc(doc.title)} "
            f"<span class='src-loc'>{esc(doc.source)} \u00b7 {esc(cite.locator)}</span></div>"
            f"{note}<div class='doc-text'>{''.join(out)}</div>")


def signed_in(name: str, open_server: bool) -> str:
    """The line over the chat that says who is signed in, with the way out."""
    if open_server:
        return ""
    return f"Signed in as **{chat_text(name)}** \u00b7 [Sign out](logout)"


def export_markdown(turns: Sequence[Turn], when: str = "") -> str:
    """The conversation as Markdown: every question, its answer and its numbered references."""
    lines = ["# Conversation with your documents", ""]
    if when:
        lines += [f"Exported {when}.", ""]
    for i, t in enumerate(turns, 1):  # made from the records' fields, never their Markdown
        question = safe_markdown(" ".join(t.question.split()))
        lines += [f"## {i}. {question}", "", t.as_markdown().rstrip(), ""]
        lines += [f"*{safe_markdown(' '.join(n.split())).replace('*', chr(92) + '*')}*"
                  for n in t.notes]
    return "\n".join(lines).rstrip() + "\n"


CSS = """
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin: 0 0 8px 0; }
#sources .src-top { display: flex; justify-content: space-between; align-items: center;
  gap: 8px; margin-bottom: 8px; font-size: 0.9em; }
.src-n { color: var(--color-accent); }
.src-loc, .hint { color: var(--body-text-color-subdued); font-size: 0.85em; }
.src-ok { color: #15803d; }
.src-unverified { color: #b91c1c; font-weight: 600; }
.src-gap { color: var(--body-text-color-subdued); margin-left: 10px; }
.src-ctx { margin: 6px 0; padding: 2px 0 2px 10px; border-left: 3px solid var(--color-accent);
  font-size: 0.92em; }
#sources mark, #document mark { background: #fde68a; color: #111; padding: 0 1px; }
.btn { font-size: 0.8em; padding: 2px 8px; margin: 2px 6px 0 0; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 6px;
  background: var(--button-secondary-background-fill); color: var(--body-text-color); }
.btn:hover { background: var(--button-secondary-background-fill-hover); }
#document .doc-head { margin-bottom: 6px; }
#document .doc-text { white-space: pre-wrap; max-height: 420px; overflow-y: auto;
  line-height: 1.5; font-size: 0.92em; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 8px; }
.ln { display: inline-block; min-width: 2.5em; margin-right: 0.8em; text-align: right;
  color: var(--body-text-color-subdued); font-size: 0.8em; user-select: none; }
.src-ocr { color: #b45309; }
.src-code { white-space: pre-wrap; font-size: 0.95em;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
.src-meta { font-size: 0.85em; }
.pages figure { margin: 0 0 8px 0; }
.pages img { max-width: 100%; border: 1px solid var(--border-color-primary); border-radius: 6px; }
.pages figcaption { color: var(--body-text-color-subdued); font-size: 0.8em; }
.page { display: block; color: var(--body-text-color-subdued); font-size: 0.8em;
  border-top: 1px dashed var(--border-color-primary); user-select: none; }
"""
