"""Uploaded files -> files inside the documents folder: safe names, allowed types, size limit.

Whatever name a browser or API client sends (`../../x.txt`, `/etc/x.md`,
`C:\\Users\\x.pdf`), the file lands in `<docs_dir>/uploads/` under a plain
name; nothing is written anywhere else. An upload is parsed once, written to
`uploads/.staging/`, indexed, and only then moved into place (one rename), so an
upload interrupted half way never sits in the folder unindexed for the next
update to pick up: `clear_leftovers` removes what such an upload left behind.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import IngestError
from ..types import Document, IndexReport, Skipped
from .discover import SUPPORTED, doc_id_of, source_of

log = logging.getLogger(__name__)

UPLOAD_DIR = "uploads"
STAGING_DIR = ".staging"  # inside UPLOAD_DIR; hidden, so an index run never reads it
_FORBIDDEN = re.compile(r'[<>:"|?*\\/]')


@dataclass(frozen=True)
class UploadReport:
    """What one upload did: the sources that went into the corpus, and the files left out."""

    added: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    index: IndexReport | None = None  # None when no file was accepted
    renamed: tuple[str, ...] = ()  # "x.pdf already exists ... stored as x (2).pdf"

    def summary(self) -> str:
        parts = []
        if self.added:
            parts.append(f"added {len(self.added)} file(s): {', '.join(self.added)}")
        parts += self.renamed
        if self.skipped:
            parts.append("left out " + "; ".join(f"{s.source}: {s.reason}" for s in self.skipped))
        return "; ".join(parts) or "nothing uploaded"


def safe_name(name: str) -> str:
    """A plain file name from whatever was sent: no folders, no hidden files, no odd characters."""
    base = re.split(r"[\\/]", name or "")[-1]  # drop any folder part, POSIX or Windows
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable())
    base = _FORBIDDEN.sub("_", base).strip().lstrip(".").strip()
    stem, ext = os.path.splitext(base)
    stem = re.sub(r"\s+", " ", stem).strip()[:120] or "upload"
    return stem + ext.lower()


def check_type(name: str) -> None:
    """Raise IngestError unless the file's extension is one the assistant can read."""
    ext = os.path.splitext(name)[1].lower()
    if ext not in SUPPORTED:
        raise IngestError(name, f"file type {ext or '(none)'} is not accepted; "
                                f"upload {', '.join(sorted(SUPPORTED))}")


def read(path: Path, name: str, max_mb: int) -> bytes:
    """The uploaded file's bytes; IngestError when it is too large, empty or unreadable."""
    try:
        size = path.stat().st_size
        if size > max_mb * 2**20:
            raise IngestError(name, f"file is {size / 2**20:.1f} MB; uploads are limited to "
                                    f"{max_mb} MB (ASSISTANT_MAX_UPLOAD_MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(name, f"cannot read the uploaded file: {exc.strerror or exc}") from None
    if not data:
        raise IngestError(name, "empty file (0 bytes)")
    return data


def destination(docs_dir: Path, name: str, taken: set[Path] | None = None) -> Path:
    """Where an upload called `name` is stored: `<docs_dir>/uploads/<safe name>`.

    A name already in the folder, or used earlier in the same batch (`taken`), gets
    a " (2)" suffix (" (3)" ...): an upload never replaces a file. Raises IngestError if the result would lie outside `docs_dir` (a symlinked
    uploads folder, say).
    """
    clean = safe_name(name)
    check_type(clean)
    folder = docs_dir / UPLOAD_DIR
    stem, ext = os.path.splitext(clean)
    dest = folder / clean
    i = 2
    while dest in (taken or ()) or dest.exists():
        dest = folder / f"{stem} ({i}){ext}"
        i += 1
    root = docs_dir.resolve()
    if not dest.resolve().is_relative_to(root):
        raise IngestError(name, f"would be stored outside {docs_dir}; not accepted")
    return dest


@dataclass(frozen=True)
class Staged:
    """An upload checked and parsed (once), waiting for its turn to be indexed."""

    doc: Document
    dest: Path
    data: bytes


def claim(staged: Sequence[Staged], docs_dir: Path) -> list[Staged]:
    """Final names, chosen under the index lock: an upload whose name was taken meanwhile (by
    another upload that committed first) gets a " (2)" name, and its document follows."""
    taken: set[Path] = set()
    out: list[Staged] = []
    for s in staged:
        dest = s.dest
        if dest.exists() or dest in taken:
            dest = destination(docs_dir, s.dest.name, taken)
        taken.add(dest)
        doc = s.doc
        if dest != s.dest:
            title = dest.stem if doc.title == s.dest.stem else doc.title
            doc = replace(doc, doc_id=doc_id_of(dest, docs_dir), source=source_of(dest, docs_dir),
                          path=str(dest.resolve()), title=title)
        out.append(Staged(doc, dest, s.data))
    return out


def stage(docs_dir: Path, s: Staged) -> Path:
    """Write an upload's bytes into the staging area, whole (under the index lock, so that
    whatever the staging area holds when a later update gets the lock was left by a process
    that died)."""
    folder = docs_dir / UPLOAD_DIR / STAGING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-", suffix=f"--{s.dest.name}")
    staging = Path(tmp).with_name(Path(tmp).name.removeprefix(".part-"))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(s.data)
        os.replace(tmp, staging)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return staging


def place(staging: Path, dest: Path) -> None:
    """Move an indexed upload into place (one rename: the file appears whole or not at all)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, dest)
    try:
        staging.parent.rmdir()  # gone when empty: the folder holds only uploads
    except OSError:
        pass  # another upload's file is still staged


def clear_leftovers(docs_dir: Path) -> list[str]:
    """Remove what interrupted uploads left in the staging area (and the half-written files
    of older versions); a message for each. Call it holding the index lock."""
    messages = []
    folder = docs_dir / UPLOAD_DIR
    leftovers = [*(folder / STAGING_DIR).glob("*"), *folder.glob(".upload-*")]
    for f in sorted(leftovers):
        if not f.is_file():
            continue
        size = f.stat().st_size
        name = f.name.split("--", 1)[-1]
        f.unlink(missing_ok=True)
        messages.append(f"{UPLOAD_DIR}/{name}: an upload interrupted before it was indexed "
                        f"({size / 2**20:.1f} MB) was removed; upload the file again")
        log.warning("%s", messages[-1])
    return messages
