"""Citations -> references in the reader's style: APA, Harvard, Chicago (citeproc-py), BibTeX, RIS, CSL-JSON.

A document's reference is its CSL-JSON item: what the file carries
(`Document.meta`), overridden field by field by the user's corrections in
`references.json` beside the documents (corrections.py), with the file's title
as the last resort. A citation adds its locator: the page for PDFs, else the
line(s). The styles are listed once, in styles.py.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..types import Answer, Citation, Document, marker, rendered
from .bibformats import bibtex, date, names, ris
from .corrections import load_corrections, references_file, relative_path
from .styles import ANSWER_STYLES, CSL_STYLES, EXPORTS, STYLES
from .text import reflow


def item(doc: Document, corrections: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The document's CSL-JSON item: extracted metadata < the user's corrections; id = doc_id."""
    if corrections is None:
        corrections = load_corrections(references_file(doc))
    out: dict[str, Any] = {"id": doc.doc_id, "type": "document", "title": doc.title}
    out.update(doc.meta)
    out.update(corrections.get(relative_path(doc), {}))
    out["id"] = doc.doc_id
    return out


def locator(c: Citation, doc: Document | None = None) -> tuple[str, str] | None:
    """('3', 'page'), ('5-6', 'line') or, for HTML and DOCX, ('4', 'paragraph').

    HTML and DOCX text is extracted one block per paragraph, separated by a
    blank line, so the paragraph number is the reader's way back to the quote.
    """
    if c.page_start is not None:
        end = c.page_end if c.page_end not in (None, c.page_start) else None
        return (f"{c.page_start}-{end}" if end else str(c.page_start)), "page"
    if c.line_start is not None:
        end = c.line_end if c.line_end not in (None, c.line_start) else None
        return (f"{c.line_start}-{end}" if end else str(c.line_start)), "line"
    if doc is not None and doc.format in {"html", "docx"}:
        first = doc.text.count("\n\n", 0, c.start) + 1
        last = first + doc.text.count("\n\n", c.start, c.end)
        return (f"{first}-{last}" if last != first else str(first)), "paragraph"
    return None


def citation_csl(c: Citation, doc: Document | None,
                 corrections: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A citation's CSL-JSON item plus `locator` and `label` (the `csl` object in --json)."""
    base = item(doc, corrections) if doc is not None else {
        "id": c.chunk.doc_id, "type": "document", "title": c.chunk.title}
    loc = locator(c, doc)
    if loc:
        base["locator"], base["label"] = loc
    if doc is not None and is_ocr(c, doc):
        base["note"] = "Quoted text read by OCR from a scanned page"
    return base


def is_ocr(c: Citation, doc: Document) -> bool:
    """True when the quote comes from a page whose text was read by OCR."""
    pages = set(doc.ocr_pages)
    if not pages or c.page_start is None:
        return False
    return any(p in pages for p in range(c.page_start, (c.page_end or c.page_start) + 1))


def cited_items(answer: Answer, documents: Mapping[str, Document]) -> list[dict[str, Any]]:
    """One CSL item per cited citation, in [n] order, each with its locator."""
    cache: dict[Path | None, dict[str, dict[str, Any]]] = {}
    out = []
    for c in answer.citations:
        doc = documents.get(c.chunk.doc_id)
        corr = None
        if doc is not None:
            f = references_file(doc)
            if f not in cache:
                cache[f] = load_corrections(f)
            corr = cache[f]
        out.append(citation_csl(c, doc, corr))
    return out


# --- CSL styles (citeproc-py) ----------------------------------------------------

@functools.lru_cache(maxsize=8)
def _style(style: str) -> Any:
    """The parsed CSL style (APA's file is 85 KB): parsed once per process, not per citation."""
    import warnings

    from citeproc import CitationStylesStyle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CitationStylesStyle(str(STYLES[style].path), validate=False)


def formatted(items: Sequence[dict[str, Any]], style: str) -> tuple[list[str], list[str]]:
    """(in-text citation per item, reference list) in an APA/Harvard/Chicago style."""
    if style not in CSL_STYLES:
        raise AssistantError(f"unknown style {style!r}; choose one of {', '.join(ANSWER_STYLES)}")
    import warnings

    from citeproc import (
        Citation as CslCitation,
    )
    from citeproc import (
        CitationItem,
        CitationStylesBibliography,
        formatter,
    )
    from citeproc.source import Locator
    from citeproc.source.json import CiteProcJSON

    unique = {i["id"]: {k: v for k, v in i.items() if k not in {"locator", "label"}} for i in items}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc-py warns about CSL features it skips
        source = CiteProcJSON([_citeproc_safe(v) for v in unique.values()])
        csl = _style(style)
        bib = CitationStylesBibliography(csl, source, formatter.plain)
        cites = []
        for i in items:
            loc = Locator(i["label"], i["locator"]) if "locator" in i else None
            ci = CitationItem(i["id"], locator=loc) if loc else CitationItem(i["id"])
            cites.append(CslCitation([ci]))
            bib.register(cites[-1])
        in_text = [str(bib.cite(ci, lambda _: None)) for ci in cites]
        refs = [_tidy(str(r)) for r in bib.bibliography()]
    return in_text, refs


def _citeproc_safe(i: dict[str, Any]) -> dict[str, Any]:
    """citeproc-py lower-cases keys and wants string ids; drop fields it cannot read."""
    return {k: v for k, v in i.items() if isinstance(v, str | int | list | dict)}


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace(" .", ".").strip()


def styled_answer(answer: Answer, documents: Mapping[str, Document], style: str) -> str:
    """The answer with each [n] as an in-text citation in `style`, then the reference list."""
    items = cited_items(answer, documents)
    if not items:
        return reflow(answer.text)
    in_text, refs = formatted(items, style)
    by_n = {c.n: t for c, t in zip(answer.citations, in_text, strict=True)}
    text = rendered(answer.sentences, lambda n: by_n.get(n, marker(n)))
    return f"{reflow(text)}\n\nReferences\n" + "\n".join(refs)


# --- BibTeX, RIS, CSL-JSON -------------------------------------------------------

def merged(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per document, its locators joined ('3, 5-6'), in order of first citation."""
    out: dict[str, dict[str, Any]] = {}
    for i in items:
        if i["id"] not in out:
            out[i["id"]] = dict(i)
        elif "locator" in i:
            prev = out[i["id"]]
            locs = [x for x in str(prev.get("locator", "")).split(", ") if x]
            if i["locator"] not in locs:
                locs.append(i["locator"])
            prev["locator"] = ", ".join(locs)
            prev.setdefault("label", i["label"])
    return list(out.values())


def export(items: Sequence[dict[str, Any]], style: str) -> str:
    """The cited documents' references as BibTeX, RIS or CSL-JSON, with their locators."""
    docs = merged(items)
    if style == "bibtex":
        return bibtex(docs)
    if style == "ris":
        return ris(docs)
    if style == "csl-json":
        return json.dumps(docs, ensure_ascii=False, indent=1)
    raise AssistantError(f"unknown export {style!r}; choose one of {', '.join(EXPORTS)}")


def render(answer: Answer, documents: Mapping[str, Document], style: str) -> str:
    """What `assistant ask --style STYLE` prints."""
    if style in CSL_STYLES:
        return styled_answer(answer, documents, style)
    body = reflow(answer.text)
    if not answer.citations:
        return body
    return f"{body}\n\n{export(cited_items(answer, documents), style)}"


def describe(csl: dict[str, Any]) -> str:
    """One line for the Sources panel: authors · date · container or publisher · DOI or URL."""
    parts = ["; ".join(names(csl)), (date(csl) or "").rstrip("/"),
             str(csl.get("container-title") or csl.get("publisher") or "")]
    if csl.get("DOI"):
        parts.append(f"doi:{csl['DOI']}")
    elif csl.get("URL"):
        parts.append(str(csl["URL"]))
    if csl.get("number-of-pages"):
        parts.append(f"{csl['number-of-pages']} pages")
    return " \u00b7 ".join(p for p in parts if p)
