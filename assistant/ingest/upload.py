"""Uploaded files -> files inside the documents folder: safe names, allowed types, size limit.

Whatever name a browser or API client sends (`../../x.txt`, `/etc/x.md`,
`C:\\Users\\x.pdf`), the file lands in `<docs_dir>/uploads/` under a plain
name; nothing is written anywhere else.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError
from ..types import IndexReport, Skipped
from .discover import SUPPORTED

UPLOAD_DIR = "uploads"
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


def write(dest: Path, data: bytes) -> None:
    """Write atomically, so that an indexer never reads half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
