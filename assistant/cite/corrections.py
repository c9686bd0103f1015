"""The user's corrections to references: references.json beside the documents, field by field.

Keyed by each file's path inside the documents folder; corrections win over
what was extracted from the file and survive re-indexing. A damaged file is
never fatal: what can be read of it is used, the rest is dropped and reported
once (a logged warning, and `damage_note` for the page). Saving reads, changes
and rewrites the file under an inter-process lock, through a temporary file of
its own, so that concurrent saves never lose or mangle each other's work.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AssistantError
from ..ingest import REFERENCES_FILE
from ..types import Document

log = logging.getLogger(__name__)

# Hidden, so that discovery never reads them as documents.
LOCK_FILE = f".{REFERENCES_FILE}.lock"
DAMAGED_PREFIX = f".{REFERENCES_FILE}.damaged-"
LOCK_TIMEOUT = 30.0  # seconds a save waits for another save of the same file
_NAMES = {"author", "editor", "translator", "container-author", "collection-editor",
          "composer", "director", "interviewer", "illustrator", "recipient", "reviewed-author"}
_DATES = {"issued", "accessed", "original-date", "event-date", "submitted"}
_reported: set[tuple[str, int, int]] = set()  # damaged file versions already warned about
_reported_lock = threading.Lock()


@dataclass(frozen=True)
class Corrections:
    """What a references.json holds that can be used, and what in it could not be read."""

    entries: dict[str, dict[str, Any]]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Saved:
    """Where a correction was saved, and the copy kept of a damaged file it replaced."""

    path: Path
    kept: Path | None = None


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


def field_problem(key: str, value: Any) -> str | None:
    """Why `value` cannot be the CSL field `key` (None when it can)."""
    if key in _NAMES:
        ok = isinstance(value, list) and all(
            isinstance(p, dict) and p and all(isinstance(v, str) for v in p.values())
            for p in value)
        return None if ok else "must be a list of names, e.g. [{\"family\": ..., \"given\": ...}]"
    if key in _DATES:
        parts = value.get("date-parts") if isinstance(value, dict) else None
        ok = isinstance(parts, list) and 1 <= len(parts) <= 2 and all(
            isinstance(p, list) and 1 <= len(p) <= 3 and all(
                (isinstance(x, int) and not isinstance(x, bool)) or
                (isinstance(x, str) and x.isdigit()) for x in p) for p in parts)
        return None if ok else 'must be {"date-parts": [[YYYY, MM, DD]]}'
    if isinstance(value, str):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return None
    return "must be text or a number"


def read_corrections(path: Path | None) -> Corrections:
    """The usable entries of a references.json and what was wrong with the rest."""
    if path is None or not path.exists():
        return Corrections({})
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return Corrections({}, (f"cannot be read ({exc.strerror or exc})",))
    except ValueError as exc:  # UnicodeDecodeError is one too
        return Corrections({}, (f"not valid JSON ({exc})",))
    if not isinstance(data, dict):
        return Corrections({}, ("must map each file's path to a CSL-JSON object, e.g. "
                                '{"report.pdf": {"title": "...", "issued": {"date-parts": '
                                "[[2020]]}}}",))
    entries: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for rel, entry in data.items():
        if not isinstance(entry, dict):
            problems.append(f"{rel}: must be an object of CSL-JSON fields")
            continue
        kept = {}
        for key, value in entry.items():
            why = field_problem(key, value)
            if why:
                problems.append(f"{rel}: {key} {why}")
            else:
                kept[key] = value
        entries[rel] = kept
    return Corrections(entries, tuple(problems))


def load_corrections(path: Path | None) -> dict[str, dict[str, Any]]:
    """{relative path: CSL-JSON fields} from a references.json; {} when there is none.

    What cannot be read is left out, field by field, and logged once per version of the file.
    """
    found = read_corrections(path)
    if found.problems and path is not None:
        _warn_once(path, found.problems)
    return found.entries


def _warn_once(path: Path, problems: tuple[str, ...]) -> None:
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = (str(path), 0, 0)
    with _reported_lock:
        if key in _reported:
            return
        _reported.add(key)
    log.warning("%s is damaged; what cannot be read is ignored: %s", path, "; ".join(problems))


def damage_note(path: Path | None) -> str | None:
    """A line for the page when references.json is damaged (no server path in it)."""
    found = read_corrections(path)
    if not found.problems:
        return None
    shown = "; ".join(found.problems[:3]) + (" …" if len(found.problems) > 3 else "")
    return (f"{REFERENCES_FILE} beside the documents is damaged, so part of it is ignored "
            f"({shown}). Fix it, or save a reference here to rewrite it (a copy of the "
            "damaged file is kept).")


def save_correction(doc: Document, fields: Mapping[str, Any]) -> Saved:
    """Write the user's fields for `doc` into references.json (None or "" removes a field).

    The read, the change and the write happen under a lock shared by every process; a
    damaged file is copied aside (`.references.json.damaged-<time>`) before it is rewritten.
    """
    from filelock import FileLock, Timeout

    path = references_file(doc)
    if path is None:
        raise AssistantError(f"{doc.source} was not indexed from a documents folder, so its "
                             "reference cannot be corrected")
    for key, value in fields.items():
        why = field_problem(key, value) if value not in (None, "", []) else None
        if why:
            raise AssistantError(f"{key} {why}")
    rel = relative_path(doc)
    try:
        with FileLock(str(path.parent / LOCK_FILE), timeout=LOCK_TIMEOUT):
            found = read_corrections(path)
            kept = _keep_damaged(path) if found.problems else None
            data = found.entries
            entry = dict(data.get(rel, {}))
            for key, value in fields.items():
                if value in (None, "", []):
                    entry.pop(key, None)
                else:
                    entry[key] = value
            if entry:
                data[rel] = entry
            else:
                data.pop(rel, None)
            _write(path, data)
    except Timeout:
        raise AssistantError(f"{REFERENCES_FILE} is being saved by another request that did "
                             f"not finish within {LOCK_TIMEOUT:.0f} s; try again") from None
    except OSError as exc:
        raise AssistantError(f"cannot save {path}: {exc.strerror or exc}") from None
    if kept is not None:
        log.warning("%s was damaged (%s); kept a copy as %s and saved what could be read",
                    path, "; ".join(found.problems), kept.name)
    return Saved(path, kept)


def _keep_damaged(path: Path) -> Path | None:
    """Copy a damaged references.json aside before it is rewritten; the copy's path."""
    if not path.is_file():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    copy, n = path.with_name(f"{DAMAGED_PREFIX}{stamp}"), 1
    while copy.exists():
        n += 1
        copy = path.with_name(f"{DAMAGED_PREFIX}{stamp}-{n}")
    shutil.copy2(path, copy)
    return copy


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` atomically through a temporary file of this save's own."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{REFERENCES_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.is_file() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
