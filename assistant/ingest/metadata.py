"""Bibliographic metadata of a file, in CSL-JSON terms (title, author, issued, container-title...).

One reader per format: HTML meta tags (Highwire `citation_*`, Dublin Core `DC.*`,
Open Graph / `article:*`, JSON-LD, `<link rel=canonical>`), PDF document info and
XMP, DOCX core properties, and YAML front matter in Markdown and text files.
Each returns a plain JSON-able dict holding only what the file says; nothing is
guessed from the body text. A reader that cannot parse its input returns {}:
metadata never stops a file from being indexed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from .decoding import decode_text

log = logging.getLogger(__name__)

Meta = dict[str, Any]


# --- names and dates ---------------------------------------------------------

def person(name: str) -> dict[str, str] | None:
    """'Lindsay, Ann' or 'Ann Lindsay' -> {'family': 'Lindsay', 'given': 'Ann'}; one word -> literal."""
    name = " ".join(str(name).split()).strip(" ;,")
    if not name or name.startswith(("http://", "https://")):
        return None
    if "," in name:
        family, given = (s.strip() for s in name.split(",", 1))
        return {"family": family, "given": given} if given else {"literal": family}
    words = name.split(" ")
    # One word, or a lower-case last word ("Wikipedia contributors"): not a person's name.
    if len(words) == 1 or not words[-1][:1].isupper():
        return {"literal": name}
    return {"family": words[-1], "given": " ".join(words[:-1])}


def people(value: Any) -> list[dict[str, str]]:
    """Authors from a string ('A; B' or 'A and B'), a list, or JSON-LD objects."""
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, str) and name.strip():
                org = str(item.get("@type", "")).lower() in {"organization", "newsmediaorganization"}
                out.append({"literal": name.strip()} if org else person(name) or {"literal": name})
            continue
        if not isinstance(item, str):
            continue
        parts = re.split(r"\s*;\s*|\s+and\s+|\s*&\s*", item) if ";" in item or " and " in item \
            or "&" in item else [item]
        out.extend(p for p in (person(s) for s in parts) if p)
    return out


_DATE = re.compile(r"(?:D:)?(\d{4})(?:[-/.]?(\d{2})(?:[-/.]?(\d{2}))?)?")


def date_parts(value: Any) -> dict[str, list[list[int]]] | None:
    """'2019-05-02', '2019/05', 'D:20190502120000', a datetime -> {'date-parts': [[2019, 5, 2]]}."""
    if isinstance(value, dt.datetime | dt.date):
        return {"date-parts": [[value.year, value.month, value.day]]}
    if not isinstance(value, str):
        return None
    m = _DATE.match(value.strip())
    if not m or not 1000 <= int(m.group(1)) <= 2999:
        return None
    parts = [int(m.group(1))]
    for g in (m.group(2), m.group(3)):
        if g is None or not 1 <= int(g) <= 31 or (len(parts) == 1 and int(g) > 12):
            break
        parts.append(int(g))
    return {"date-parts": [parts]}


def _put(meta: Meta, key: str, value: Any) -> None:
    """Set `key` unless it is already set (earlier sources are more specific)."""
    if key in meta or value in (None, "", [], {}):
        return
    if isinstance(value, str):
        value = " ".join(value.split())
        if not value:
            return
    meta[key] = value


def _doi(value: str) -> str | None:
    m = re.search(r"10\.\d{4,9}/\S+", value or "")
    return m.group(0).rstrip(".,;") if m else None


# --- HTML --------------------------------------------------------------------

_JSONLD_TYPES = {"newsarticle": "article-newspaper", "scholarlyarticle": "article-journal",
                 "blogposting": "post-weblog", "report": "report", "book": "book",
                 "article": "webpage", "webpage": "webpage"}


def html_meta(data: bytes) -> Meta:
    """Metadata from an HTML page's <head>: citation_*, DC.*, og:/article:*, JSON-LD, canonical."""
    from bs4 import BeautifulSoup

    raw, _ = decode_text(data)
    cut = re.search(r"</head\s*>", raw, re.IGNORECASE)
    return html_meta_of(BeautifulSoup(raw[: cut.end()] if cut else raw, "html.parser"))


def html_meta_of(soup: Any) -> Meta:
    """html_meta of a page already parsed (a BeautifulSoup), so a loader parses it once."""
    tags: dict[str, list[str]] = {}
    for tag in soup.find_all("meta"):
        key = tag.get("name") or tag.get("property") or tag.get("itemprop")
        content = tag.get("content")
        if isinstance(key, str) and isinstance(content, str) and content.strip():
            tags.setdefault(key.strip().lower(), []).append(content.strip())

    def first(*keys: str) -> str | None:
        return next((tags[k][0] for k in keys if k in tags), None)

    meta: Meta = {}
    _put(meta, "title", first("citation_title", "dc.title", "og:title"))
    _put(meta, "author", people(tags.get("citation_author") or tags.get("dc.creator")
                                or tags.get("author") or []))
    for key in ("citation_publication_date", "citation_date", "citation_online_date", "dc.date",
                "article:published_time", "dc.date.issued", "date"):
        _put(meta, "issued", date_parts(first(key)))
    journal = first("citation_journal_title", "citation_conference_title")
    if journal:
        meta["type"] = "article-journal"
    _put(meta, "container-title", journal or first("citation_inbook_title", "og:site_name"))
    _put(meta, "publisher", first("citation_publisher", "dc.publisher"))
    _put(meta, "volume", first("citation_volume"))
    _put(meta, "issue", first("citation_issue"))
    fp, lp = first("citation_firstpage"), first("citation_lastpage")
    _put(meta, "page", f"{fp}-{lp}" if fp and lp else fp)
    _put(meta, "DOI", _doi(first("citation_doi", "dc.identifier") or ""))
    link = soup.find("link", rel="canonical")
    href = link.get("href") if link else None
    _put(meta, "URL", first("citation_public_url", "citation_abstract_html_url", "og:url")
         or (href if isinstance(href, str) else None))
    _put(meta, "language", first("citation_language", "dc.language"))
    for script in soup.find_all("script", type="application/ld+json"):
        _jsonld(meta, script.string or "")
    if "type" not in meta and ("article:published_time" in tags or first("og:type") == "article"):
        meta["type"] = "article-newspaper" if "container-title" in meta else "webpage"
    meta.setdefault("type", "webpage")
    return meta


def _jsonld(meta: Meta, text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError:
        return
    items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("@type")
        kind = kind[0] if isinstance(kind, list) and kind else kind
        csl_type = _JSONLD_TYPES.get(str(kind).lower())
        if csl_type is None:
            continue
        if "type" not in meta and csl_type != "webpage":
            meta["type"] = csl_type
        _put(meta, "title", item.get("headline") or item.get("name"))
        _put(meta, "author", people(item.get("author") or []))
        _put(meta, "issued", date_parts(item.get("datePublished") or item.get("dateCreated")))
        pub = item.get("publisher")
        name = pub.get("name") if isinstance(pub, dict) else pub if isinstance(pub, str) else None
        _put(meta, "container-title" if csl_type == "article-newspaper" else "publisher", name)
        _put(meta, "URL", item.get("url") if isinstance(item.get("url"), str) else None)


# --- PDF, DOCX ---------------------------------------------------------------

def pdf_meta(data: bytes) -> Meta:
    """Document info dictionary, then XMP (Dublin Core) for what the info lacks; page count."""
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
    except Exception:  # noqa: BLE001 - metadata is optional; the loader reports broken files
        log.debug("no PDF metadata", exc_info=True)
        return {"type": "report"}
    return pdf_meta_of(reader)


def pdf_meta_of(reader: Any) -> Meta:
    """pdf_meta of a PDF already open (a pypdf PdfReader)."""
    meta: Meta = {}
    try:
        info: Any = reader.metadata or {}
        _put(meta, "title", info.get("/Title"))
        _put(meta, "author", people(str(info.get("/Author") or "")))
        _put(meta, "issued", date_parts(str(info.get("/CreationDate") or "")))
        _put(meta, "publisher", info.get("/Publisher") or info.get("/Company"))
        xmp = reader.xmp_metadata
        if xmp is not None:
            _put(meta, "title", (xmp.dc_title or {}).get("x-default"))
            _put(meta, "author", people(list(xmp.dc_creator or [])))
            dates = xmp.dc_date or []
            _put(meta, "issued", date_parts(dates[0]) if dates else None)
            _put(meta, "publisher", ", ".join(xmp.dc_publisher or []))
            _put(meta, "DOI", _doi(str(xmp.dc_identifier or "")))
        meta["number-of-pages"] = len(reader.pages)
    except Exception:  # noqa: BLE001 - metadata is optional; the loader reports broken files
        log.debug("no PDF metadata", exc_info=True)
    meta["type"] = "report"
    return {k: str(v) if k in {"title", "publisher"} else v for k, v in meta.items()}


def docx_meta(data: bytes) -> Meta:
    """Core properties: title, author, created date, category/subject ignored."""
    import io

    try:
        import docx

        props = docx.Document(io.BytesIO(data)).core_properties
    except Exception:  # noqa: BLE001 - see pdf_meta
        log.debug("no DOCX metadata", exc_info=True)
        return {"type": "document"}
    return docx_meta_of(props)


def docx_meta_of(props: Any) -> Meta:
    """docx_meta of a document already open (python-docx core properties)."""
    meta: Meta = {}
    try:
        _put(meta, "title", props.title)
        _put(meta, "author", people(props.author or ""))
        _put(meta, "issued", date_parts(props.created))
        _put(meta, "language", props.language)
        _put(meta, "DOI", _doi(props.identifier or ""))
    except Exception:  # noqa: BLE001 - see pdf_meta
        log.debug("no DOCX metadata", exc_info=True)
    meta["type"] = "document"
    return meta


# --- front matter ------------------------------------------------------------

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_KEYS = {"title": "title", "url": "URL", "doi": "DOI", "publisher": "publisher",
               "container": "container-title", "journal": "container-title",
               "site": "container-title", "language": "language", "lang": "language"}


def front_matter(text: str) -> tuple[Meta, int]:
    """YAML front matter at the very start of `text`: (metadata, characters it takes, 0 if none)."""
    m = _FRONT.match(text)
    if not m:
        return {}, 0
    import yaml

    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}, 0
    if not isinstance(data, dict):
        return {}, 0
    meta: Meta = {}
    data = {str(k).lower(): v for k, v in data.items()}
    for key, csl in _FRONT_KEYS.items():
        if isinstance(data.get(key), str | int | float):
            _put(meta, csl, str(data[key]))
    if "DOI" in meta:
        meta["DOI"] = _doi(meta["DOI"]) or meta["DOI"]
    _put(meta, "author", people(data.get("author") or data.get("authors") or []))
    _put(meta, "issued", date_parts(data.get("date") if not isinstance(data.get("date"), int)
                                    else str(data["date"])))
    if "type" in data and isinstance(data["type"], str):
        meta["type"] = data["type"]
    meta.setdefault("type", "article-journal" if "container-title" in meta and "DOI" in meta
                    else "document")
    return meta, m.end()


READERS: dict[str, Callable[[bytes], Meta]] = {"html": html_meta, "pdf": pdf_meta, "docx": docx_meta}
