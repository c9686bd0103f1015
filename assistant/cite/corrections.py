"""The user's corrections to references: references.json beside the documents, field by field.

Keyed by each file's path inside the documents folder; corrections win over
what was extracted from the file and survive re-indexing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..ingest import REFERENCES_FILE
from ..types import Document


def relative_path(doc: Document) -> str:
    """The file's path inside the documents folder (the key in references.json)."""
    return doc.source.split("/", 1)[1] if "/" in doc.source else doc.source


def references_file(doc: Document) -> Path | None:
    """references.json in the documents folder the file was indexed from; None for documents
    that did not come from a folder (e.g. a benchmark corpus)."""
    rel = relative_path(doc)
    path = Path(doc.path)
    if not path.is_absolute() or not path.as_posix().endswith("/" + rel):
        return None
    return path.parents[len(Path(rel).parts) - 1] / REFERENCES_FILE


def load_corrections(path: Path | None) -> dict[str, dict[str, Any]]:
    """{relative path: CSL-JSON fields} from a references.json; {} when there is none."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssistantError(f"{path}: not valid JSON ({exc}); fix or delete the file") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise AssistantError(f"{path}: must map each file's path to a CSL-JSON object, "
                             'e.g. {"report.pdf": {"title": "...", "issued": {"date-parts": [[2020]]}}}')
    return data


def save_correction(doc: Document, fields: Mapping[str, Any]) -> Path:
    """Write the user's fields for `doc` into references.json (None or "" removes a field)."""
    path = references_file(doc)
    if path is None:
        raise AssistantError(f"{doc.source} was not indexed from a documents folder, so its "
                             "reference cannot be corrected")
    data = load_corrections(path)
    entry = dict(data.get(relative_path(doc), {}))
    for key, value in fields.items():
        if value in (None, "", []):
            entry.pop(key, None)
        else:
            entry[key] = value
    data[relative_path(doc)] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path
