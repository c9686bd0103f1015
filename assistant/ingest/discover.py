"""A documents folder -> the files to read: discovery, ignore rules, ids, reading with a size limit."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pathspec

from ..errors import IngestError
from ..types import Skipped

SUPPORTED = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
             ".pdf": "pdf", ".docx": "docx", ".png": "image", ".jpg": "image", ".jpeg": "image"}
IGNORE_FILE = ".assistantignore"
REFERENCES_FILE = "references.json"  # the user's corrections to the metadata (see references.py)
MAX_FILE_BYTES = 200 * 1024 * 1024


def discover(docs_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """Supported files under `docs_dir` (recursive, sorted), and what was passed over.

    Hidden files, Office's "~$" owner files, paths matching `.assistantignore`
    (see `ignored`) and symlinks that lead outside the folder are never read.
    """
    root = docs_dir.resolve()
    if not root.is_dir():
        raise IngestError(str(docs_dir), "not a folder; pass --docs DIR with your documents")
    spec = pathspec.GitIgnoreSpec.from_lines(_ignore_patterns(root))
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(docs_dir.rglob("*")):
        rel = path.relative_to(docs_dir).as_posix()
        # Hidden files, and the "~$name.docx" owner files Office leaves next to open ones.
        if any(part.startswith((".", "~$")) for part in Path(rel).parts):
            continue
        if spec.match_file(rel) or rel == REFERENCES_FILE:
            continue
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # a link to nothing, or a loop
                skipped.append(Skipped(source_of(path, docs_dir),
                                       "broken or looping symlink; not followed"))
                continue
            if not target.is_relative_to(root):
                skipped.append(Skipped(source_of(path, docs_dir),
                                       "symlink to a place outside the documents folder; not followed"))
                continue
        if path.is_dir():
            continue
        if not path.is_file():
            skipped.append(Skipped(source_of(path, docs_dir), "not a regular file"))
            continue
        if path.suffix.lower() not in SUPPORTED:
            skipped.append(Skipped(source_of(path, docs_dir),
                                   f"unsupported file type {path.suffix or '(none)'!s}; "
                                   f"supported: {', '.join(sorted(SUPPORTED))}"))
            continue
        files.append(path)
    return files, skipped


def ignored(rel: str, patterns: Sequence[str]) -> bool:
    """True when `rel` (a posix path inside the folder) is left out by .gitignore-style patterns.

    The rules are git's (pathspec): `drafts` or `drafts/` leaves out every folder
    called drafts, `/old/` only the one at the top, `**/secret/**` any depth,
    `*.tmp.md` matching files, and `!keep.tmp.md` takes one back.
    """
    return pathspec.GitIgnoreSpec.from_lines(patterns).match_file(rel)


def _ignore_patterns(root: Path) -> list[str]:
    f = root / IGNORE_FILE
    if not f.is_file():
        return []
    return f.read_text(encoding="utf-8", errors="replace").splitlines()


def source_of(path: Path, docs_dir: Path) -> str:
    """The path shown to users: the folder's name, then the path inside it."""
    return f"{docs_dir.resolve().name}/{path.relative_to(docs_dir).as_posix()}"


def doc_id_of(path: Path, docs_dir: Path) -> str:
    rel = path.relative_to(docs_dir).as_posix()
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:16]


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path, docs_dir: Path) -> bytes:
    """The file's bytes; IngestError if it is over the size limit or cannot be read.

    The size is checked before reading, so a huge file is never loaded into memory.
    """
    source = source_of(path, docs_dir)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(source, f"file is {size / 2**20:.0f} MB; the limit is "
                                      f"{MAX_FILE_BYTES // 2**20} MB")
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(source, f"cannot read file: {exc.strerror or exc}") from None
