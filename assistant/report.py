"""A conversation -> a Word (.docx) report: questions, answers, quotes as quotations, references.

Works on the chat's JSON "turn" records (view.turn_record), so a conversation
restored from the browser exports the same as a fresh one. With a CSL style
(apa, harvard, chicago) every [n] becomes an in-text citation and the report
ends with one reference list for the whole conversation; with "numbered" the
[n] markers stay and each answer lists its numbered sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cite import _flat
from .references import CSL_STYLES, formatted
from .types import MARKER, marker

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
    return MARKER.sub(lambda m: cites.get(int(m.group(1)), m.group(0)), text)


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
            mark = cites.get(int(c["n"])) or marker(int(c["n"]))
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


def describe(csl: dict[str, Any]) -> str:
    """One line for the Sources panel: authors · date · container or publisher · DOI or URL."""
    from .bibformats import date, names

    parts = ["; ".join(names(csl)), (date(csl) or "").rstrip("/"),
             str(csl.get("container-title") or csl.get("publisher") or "")]
    if csl.get("DOI"):
        parts.append(f"doi:{csl['DOI']}")
    elif csl.get("URL"):
        parts.append(str(csl["URL"]))
    if csl.get("number-of-pages"):
        parts.append(f"{csl['number-of-pages']} pages")
    return " \u00b7 ".join(p for p in parts if p)


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


FORM_KEYS = ("title", "author", "issued", "container-title", "publisher", "URL", "DOI")


def to_form(csl: dict[str, Any]) -> list[str]:
    """A CSL item as the editor's text fields, in FORM_KEYS order."""
    from .bibformats import date, names

    return [str(csl.get("title") or ""), "\n".join(names(csl)),
            (date(csl) or "").rstrip("/").replace("/", "-"), str(csl.get("container-title") or ""),
            str(csl.get("publisher") or ""), str(csl.get("URL") or ""), str(csl.get("DOI") or "")]


def from_form(values: Sequence[str]) -> dict[str, Any]:
    """The editor's text fields -> CSL fields; an empty field removes the correction."""
    from .metadata import date_parts, people

    title, authors, when, container, publisher, url, doi = (str(v or "").strip() for v in values)
    if when and date_parts(when) is None:
        from .errors import AssistantError

        raise AssistantError(f"date {when!r}: write it as YYYY, YYYY-MM or YYYY-MM-DD")
    return {"title": title, "author": [p for line in authors.splitlines() for p in people(line)],
            "issued": date_parts(when) if when else None, "container-title": container,
            "publisher": publisher, "URL": url, "DOI": doi}
