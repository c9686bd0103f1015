"""CSL-JSON items -> BibTeX and RIS text that reference managers (Zotero, JabRef) import.

A locator travels as `pages` (BibTeX) / `SP`-`EP` (RIS) when it is a page, and
as a note ("lines 5-6") otherwise: neither format has a field for lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_BIBTEX_TYPES = {"article-journal": "article", "article-newspaper": "article",
                 "article-magazine": "article", "book": "book", "chapter": "incollection",
                 "paper-conference": "inproceedings", "report": "techreport", "thesis": "phdthesis",
                 "webpage": "online", "post-weblog": "online"}
_RIS_TYPES = {"article-journal": "JOUR", "article-newspaper": "NEWS", "article-magazine": "MGZN",
              "book": "BOOK", "chapter": "CHAP", "paper-conference": "CPAPER", "report": "RPRT",
              "thesis": "THES", "webpage": "ELEC", "post-weblog": "BLOG"}


def names(item: dict[str, Any]) -> list[str]:
    """Authors as 'Family, Given' (or the literal name)."""
    out = []
    for a in item.get("author") or []:
        if not isinstance(a, dict):
            continue
        if a.get("family"):
            out.append(f"{a['family']}, {a['given']}" if a.get("given") else str(a["family"]))
        elif a.get("literal"):
            out.append(str(a["literal"]))
    return out


def year(item: dict[str, Any]) -> str | None:
    parts = (item.get("issued") or {}).get("date-parts") or [[]]
    return str(parts[0][0]) if parts and parts[0] else None


def date(item: dict[str, Any]) -> str | None:
    """'2019/05/02' as RIS writes it."""
    parts = (item.get("issued") or {}).get("date-parts") or [[]]
    if not parts or not parts[0]:
        return None
    p = [str(x) for x in parts[0]] + ["", ""]
    return f"{p[0]}/{p[1].zfill(2) if p[1] else ''}/{p[2].zfill(2) if p[2] else ''}"


def _pages(item: dict[str, Any]) -> str | None:
    return str(item["locator"]) if item.get("label") == "page" and item.get("locator") else None


def _note(item: dict[str, Any]) -> str | None:
    if item.get("locator") and item.get("label") != "page":
        loc = str(item["locator"])
        plural = "-" in loc or "," in loc
        return f"{item['label']}{'s' if plural else ''} {loc}"
    return None


def _key(item: dict[str, Any], taken: set[str]) -> str:
    who = names(item)
    first = who[0].split(",")[0] if who else ""
    word = next((w for w in re.findall(r"[A-Za-z]+", str(item.get("title", ""))) if len(w) > 3), "")
    base = unicodedata.normalize("NFKD", f"{first}{year(item) or ''}{word}")
    base = re.sub(r"[^A-Za-z0-9]", "", base.encode("ascii", "ignore").decode()) or "ref"
    key, n = base[0].lower() + base[1:], 0
    while key in taken:
        n += 1
        key = f"{base[0].lower() + base[1:]}{chr(ord('a') + n - 1)}"
    taken.add(key)
    return key


# LaTeX for the characters BibTeX or LaTeX would read as syntax. Braces become commands
# (\textbraceleft{}) rather than \{ : BibTeX counts every brace, escaped or not, so a lone
# "}" in a title would close the field and let the rest of the text start a new entry.
_BIB_CHARS = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
              "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
              "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_BIB_SPECIAL = re.compile("[" + re.escape("".join(_BIB_CHARS)) + "]")
# Verbatim fields (url, doi) keep their characters, except those that would end the field or
# the entry: those are percent-encoded, as a URL may write them.
_VERBATIM = {"{": "%7B", "}": "%7D", "\\": "%5C"}


def _one_line(text: str) -> str:
    """Every run of whitespace (line breaks included) as one space: no field starts a line."""
    return " ".join(str(text).split())


def _bib_escape(text: str) -> str:
    return _BIB_SPECIAL.sub(lambda m: _BIB_CHARS[m.group()], _one_line(text))


def _bib_verbatim(text: str) -> str:
    return "".join(_VERBATIM.get(ch, ch) for ch in _one_line(text).replace(" ", "%20"))


def bibtex(items: Sequence[dict[str, Any]]) -> str:
    taken: set[str] = set()
    out = []
    for i in items:
        kind = _BIBTEX_TYPES.get(str(i.get("type")), "misc")
        container = "journal" if kind == "article" else "booktitle" if kind in {
            "incollection", "inproceedings"} else "institution" if kind == "techreport" else \
            "organization" if kind == "online" else "howpublished"
        pages = _pages(i)
        fields = [
            ("title", i.get("title")),
            ("author", " and ".join(names(i)) or None),
            ("year", year(i)),
            (container, i.get("container-title")),
            ("publisher", i.get("publisher")),
            ("volume", i.get("volume")),
            ("number", i.get("issue")),
            ("pages", pages.replace("-", "--") if pages else None),
            ("note", _note(i)),
        ]
        lines = [f"  {k} = {{{_bib_escape(str(v))}}}" for k, v in fields if v]
        for k, v in (("doi", i.get("DOI")), ("url", i.get("URL"))):
            if v:  # verbatim in BibTeX (the url package): percent-encoded, not escaped
                lines.append(f"  {k} = {{{_bib_verbatim(str(v))}}}")
        out.append(f"@{kind}{{{_key(i, taken)},\n" + ",\n".join(lines) + "\n}")
    return "\n\n".join(out) + "\n"


def ris(items: Sequence[dict[str, Any]]) -> str:
    """RIS, one tag per line; a value's line breaks become spaces so no value starts a tag."""
    out = []
    for i in items:
        lines = [f"TY  - {_RIS_TYPES.get(str(i.get('type')), 'GEN')}"]
        lines += [f"AU  - {_one_line(n)}" for n in names(i)]
        for tag, value in (("TI", i.get("title")), ("PY", year(i)), ("DA", date(i)),
                           ("T2", i.get("container-title")), ("PB", i.get("publisher")),
                           ("VL", i.get("volume")), ("IS", i.get("issue")),
                           ("DO", i.get("DOI")), ("UR", i.get("URL")), ("N1", _note(i))):
            if value:
                lines.append(f"{tag}  - {_one_line(value)}")
        pages = _pages(i)
        if pages:
            first, _, last = pages.split(",")[0].partition("-")
            lines.append(f"SP  - {_one_line(first)}")
            if last:
                lines.append(f"EP  - {_one_line(last)}")
        lines.append("ER  - ")
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
