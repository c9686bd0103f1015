"""Answers -> citable records: plain data for one question and its answer, with every citation.

A record holds everything needed to cite an answer later without the index:
each citation's quote, offsets, locator, the forms to paste and its reference
(CSL-JSON). The chat keeps a conversation as these records (the browser stores
them), and the exports (Markdown, references, Word) read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..types import Answer, Citation, Document
from .references import cited_items, export, formatted
from .styles import CSL_STYLES, EXPORTS
from .text import answer_markdown, locators, markdown, plain

CONTEXT_CHARS = 160  # surrounding text kept around a quote (the chat's Sources panel)
Turn = dict[str, Any]


def turn_record(answer: Answer, documents: Mapping[str, Document]) -> Turn:
    """One question and its final answer as plain data, with everything the page shows."""
    cites = [citation_record(c, documents.get(c.chunk.doc_id), csl)
             for c, csl in zip(answer.citations, cited_items(answer, documents), strict=True)]
    short = answer.short_answer.to_dict() if answer.short_answer else None
    return {"question": answer.question, "text": answer.text, "found": answer.found,
            "notes": list(answer.notes), "citations": cites, "short_answer": short,
            "export": answer_markdown(answer)}


def citation_record(c: Citation, doc: Document | None, csl: dict[str, Any]) -> dict[str, Any]:
    """A citation as the page and the API give it: `Citation.to_dict()` without the server's
    path, plus the text around each span, the forms to paste and the reference (`csl`)."""
    spans = c.to_dict()["spans"]
    for i, p in enumerate(spans):  # context stops where the next span of the quote starts
        lo = spans[i - 1]["end"] if i else 0
        hi = spans[i + 1]["start"] if i + 1 < len(spans) else None
        p["before"], p["after"] = _context(doc, p["start"], p["end"], lo, hi) if doc else ("", "")
    record = {k: v for k, v in c.to_dict().items() if k != "path"}
    return {**record, "locator": locators(c), "spans": spans, "plain": plain(c),
            "markdown": markdown(c), "before": spans[0]["before"], "after": spans[0]["after"],
            "csl": csl}  # the reference (CSL-JSON + locator) for styles and exports


def _context(doc: Document, start: int, end: int, lo: int = 0,
             hi: int | None = None) -> tuple[str, str]:
    """A little text either side of a quote (within lo..hi), cut at word boundaries and at
    boilerplate."""
    lo = max(lo, start - CONTEXT_CHARS)
    hi = min(len(doc.text) if hi is None else hi, end + CONTEXT_CHARS)
    for s, e in doc.skip_spans:  # never show "Hide Ad" lines as context
        if e <= start:
            lo = max(lo, e)
        elif s >= end:
            hi = min(hi, s)
    before, after = doc.text[lo:start], doc.text[end:hi]
    if lo > 0 and " " in before:
        before = "\u2026" + before[before.index(" ") + 1:]
    if hi < len(doc.text) and " " in after:
        after = after[:after.rindex(" ")] + "\u2026"
    return before, after


def reference_for(cite: dict[str, Any], style: str) -> str:
    """One source's reference in `style`, as "Copy reference" puts it on the clipboard."""
    csl = cite.get("csl")
    if not csl or style not in (*CSL_STYLES, *EXPORTS):
        return str(cite.get("plain", ""))
    if style in EXPORTS:
        return export([csl], style)
    in_text, refs = formatted([csl], style)
    return f"{refs[0]} {in_text[0]}" if refs else in_text[0]


def references_text(turns: Sequence[Turn], style: str) -> str:
    """The references of a whole conversation in `style` (a .bib, .ris, .json or text file)."""
    items = [c["csl"] for t in turns for c in t.get("citations", ()) if c.get("csl")]
    if style in EXPORTS:
        return export(items, style) if items else ""
    if style in CSL_STYLES and items:
        return "\n".join(formatted(items, style)[1]) + "\n"
    return "\n".join(str(c.get("plain", "")) for t in turns for c in t.get("citations", ())) + "\n"


def refreshed(turns: Sequence[Turn], items: dict[str, dict[str, Any]]) -> list[Turn]:
    """Turns whose references are replaced by the documents' current items (after an edit).

    `items` maps doc_id to the document's CSL item now; each citation keeps its own
    locator, label and note.
    """
    out = []
    for t in turns:
        cites = []
        for c in t.get("citations", ()):
            new = items.get(str(c.get("doc_id")))
            if new is not None and c.get("csl"):
                keep = {k: v for k, v in c["csl"].items() if k in {"locator", "label", "note"}}
                c = {**c, "csl": {**new, **keep}}
            cites.append(c)
        out.append({**t, "citations": cites})
    return out
