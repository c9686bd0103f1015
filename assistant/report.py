"""A conversation -> a Word (.docx) report: questions, answers, quotes as quotations, references.

Works on the chat's JSON "turn" records (view.turn_record), so a conversation
restored from the browser exports the same as a fresh one. With a CSL style
(apa, harvard, chicago) every [n] becomes an in-text citation and the report
ends with one reference list for the whole conversation; with "numbered" the
[n] markers stay and each answer lists its numbered sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .references import CSL_STYLES, formatted

Turn = dict[str, Any]


def styled_turns(turns: Sequence[Turn], style: str) -> tuple[list[dict[int, str]], list[str]]:
    """Per turn {n: in-text citation}, and the reference list of the whole conversation."""
    items = [c["csl"] for t in turns for c in t.get("citations", ()) if c.get("csl")]
    if style not in CSL_STYLES or not items:
        return [{} for _ in turns], []
    in_text, refs = formatted(items, style)
    out: list[dict[int, str]] = []
    it = iter(in_text)
    for t in turns:
        out.append({int(c["n"]): next(it) for c in t.get("citations", ()) if c.get("csl")})
    return out, refs


def _replace_markers(text: str, cites: dict[int, str]) -> str:
    return re.sub(r"\[(\d+)\]", lambda m: cites.get(int(m.group(1)), m.group(0)), text)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def write_docx(turns: Sequence[Turn], path: Path, style: str = "numbered", when: str = "") -> Path:
    """Write the conversation to `path` as .docx; returns the path."""
    import docx
    from docx.shared import Pt

    from .cite import reflow

    document = docx.Document()
    document.core_properties.title = "Conversation with your documents"
    document.add_heading("Conversation with your documents", level=0)
    if when:
        document.add_paragraph(f"Exported {when}.")
    cites_by_turn, refs = styled_turns(turns, style)
    for i, (t, cites) in enumerate(zip(turns, cites_by_turn, strict=True), 1):
        document.add_heading(f"{i}. {_flat(t['question'])}", level=1)
        text = reflow(t["text"])
        if cites:
            text = _replace_markers(text, cites)
        document.add_paragraph(text)
        for note in t.get("notes", ()):
            document.add_paragraph(note).runs[0].italic = True
        for c in t.get("citations", ()):
            quote = document.add_paragraph(f"\u201c{_flat(c['quote'])}\u201d", style="Quote")
            quote.paragraph_format.left_indent = Pt(24)
            where = ", ".join(p for p in (c["source"], c.get("locator", "")) if p)
            mark = cites.get(int(c["n"])) or f"[{c['n']}]"
            document.add_paragraph(f"\u2014 {mark} {c['title']} ({where})")
    if refs:
        document.add_heading("References", level=1)
        for ref in refs:
            document.add_paragraph(ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# --- references for the chat: one source, or the whole conversation ----------------

UI_STYLES = ("apa", "harvard", "chicago", "bibtex", "ris", "csl-json", "numbered")
SUFFIX = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}


def reference_for(cite: dict[str, Any], style: str) -> str:
    """One source's reference in `style`, as "Copy reference" puts it on the clipboard."""
    from .references import EXPORTS, export

    csl = cite.get("csl")
    if not csl or style not in (*CSL_STYLES, *EXPORTS):
        return str(cite.get("plain", ""))
    if style in EXPORTS:
        return export([csl], style)
    in_text, refs = formatted([csl], style)
    return f"{refs[0]} {in_text[0]}" if refs else in_text[0]


def references_text(turns: Sequence[Turn], style: str) -> str:
    """The references of a whole conversation in `style` (a .bib, .ris, .json or text file)."""
    from .references import EXPORTS, export

    items = [c["csl"] for t in turns for c in t.get("citations", ()) if c.get("csl")]
    if style in EXPORTS:
        return export(items, style) if items else ""
    if style in CSL_STYLES and items:
        return "\n".join(formatted(items, style)[1]) + "\n"
    return "\n".join(str(c.get("plain", "")) for t in turns for c in t.get("citations", ())) + "\n"
