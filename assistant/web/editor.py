"""The reference editor's form: a CSL item <-> the text fields a person edits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..cite.bibformats import date, names
from ..errors import AssistantError
from ..ingest.metadata import date_parts, people

FORM_KEYS = ("title", "author", "issued", "container-title", "publisher", "URL", "DOI")


def to_form(csl: dict[str, Any]) -> list[str]:
    """A CSL item as the editor's text fields, in FORM_KEYS order."""
    return [str(csl.get("title") or ""), "\n".join(names(csl)),
            (date(csl) or "").rstrip("/").replace("/", "-"), str(csl.get("container-title") or ""),
            str(csl.get("publisher") or ""), str(csl.get("URL") or ""), str(csl.get("DOI") or "")]


def from_form(values: Sequence[str]) -> dict[str, Any]:
    """The editor's text fields -> CSL fields; an empty field removes the correction."""
    title, authors, when, container, publisher, url, doi = (str(v or "").strip() for v in values)
    if when and date_parts(when) is None:
        raise AssistantError(f"date {when!r}: write it as YYYY, YYYY-MM or YYYY-MM-DD")
    return {"title": title, "author": [p for line in authors.splitlines() for p in people(line)],
            "issued": date_parts(when) if when else None, "container-title": container,
            "publisher": publisher, "URL": url, "DOI": doi}
