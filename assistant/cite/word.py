"""A conversation -> a Word (.docx) report: questions, answers, quotes as quotations, references.

Works on the citable records of a conversation (records.py), so a conversation
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

from ..types import marker, rendered
from .records import Turn
from .references import formatted
from .styles import CSL_STYLES
from .text import _flat, reflow

# Characters XML 1.0 cannot hold (python-docx refuses them): C0 controls but tab, LF and CR,
# lone surrogates, U+FFFE and U+FFFF. Documents do carry some (\x0b from Word, \x1b from logs).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` without the characters a .docx cannot hold."""
    return _NOT_XML.sub("", text)


def styled_turns(turns: Sequence[Turn], style: str) -> tuple[list[dict[int, str]], list[str]]:
    """Per turn {n: in-text citation}, and the reference list of the whole conversation."""
    items = [c.csl for t in turns for c in t.citations if c.csl]
    if style not in CSL_STYLES or not items:
        return [{} for _ in turns], []
    in_text, refs = formatted(items, style)
    out: list[dict[int, str]] = []
    it = iter(in_text)
    for t in turns:
        out.append({c.n: next(it) for c in t.citations if c.csl})
    return out, refs


def answer_text(turn: Turn, cites: dict[int, str]) -> str:
    """The turn's answer with each [n] written as `cites` says (an in-text citation), made from
    its sentences; a record kept before sentences were (no in-text citations) as it is."""
    if not cites or not turn.sentences:
        return reflow(turn.text)
    return reflow(rendered(turn.sentences, lambda n: cites.get(n, marker(n))))


def write_docx(turns: Sequence[Turn], path: Path, style: str = "numbered", when: str = "") -> Path:
    """Write the conversation to `path` as .docx; returns the path."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = "Conversation with your documents"
    document.add_heading("Conversation with your documents", level=0)

    def para(text: str, kind: str | None = None) -> Any:
        return document.add_paragraph(xml_text(text), style=kind)

    if when:
        para(f"Exported {when}.")
    cites_by_turn, refs = styled_turns(turns, style)
    for i, (t, cites) in enumerate(zip(turns, cites_by_turn, strict=True), 1):
        document.add_heading(xml_text(f"{i}. {_flat(t.question)}"), level=1)
        para(answer_text(t, cites))
        for note in t.notes:
            for run in para(note).runs:
                run.italic = True
        for c in t.citations:
            quote = para(f"\u201c{_flat(c.quote)}\u201d", "Quote")
            quote.paragraph_format.left_indent = Pt(24)
            where = ", ".join(p for p in (c.source, c.locator) if p)
            mark = cites.get(c.n) or marker(c.n)
            para(f"\u2014 {mark} {c.title} ({where})")
    if refs:
        document.add_heading("References", level=1)
        for ref in refs:
            para(ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
