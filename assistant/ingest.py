"""Files -> Documents: discovery, reading with limits, boilerplate detection (loaders: formats.py).

Cleaning never rewrites text: boilerplate is recorded as `skip_spans` so that
every offset still points into the text the user can open and check.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pathspec

from . import metadata
from .errors import IngestError
from .formats import LOADERS
from .types import Document, Skipped

log = logging.getLogger(__name__)

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


def load_document(path: Path, docs_dir: Path, data: bytes | None = None) -> Document:
    """Read one file into a Document; raises IngestError naming the file and the problem."""
    source = source_of(path, docs_dir)
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(source, f"unsupported file type {path.suffix}")
    if data is None:
        data = read_file(path, docs_dir)
    if not data:
        raise IngestError(source, "empty file (0 bytes)")
    loader = LOADERS[fmt]
    try:
        text, title, page_starts, headings, notes, extra = loader(data)
    except IngestError as exc:
        raise IngestError(source, exc.reason) from None
    except (RecursionError, MemoryError, ValueError, LookupError, AttributeError, TypeError,
            AssertionError, UnicodeError) as exc:
        # A parser choking on one odd file must not stop the whole run; keep the traceback.
        log.warning("%s: the %s reader failed", source, fmt, exc_info=True)
        raise IngestError(source, f"could not be read as {fmt} ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
    if not text.strip():
        raise IngestError(source, "no text found in the file")
    skip = boilerplate_spans(text)
    if fmt in {"md", "txt"}:
        # YAML front matter describes the file; it is never quoted (a skip span), and the
        # offsets still point into the file as it is on disk.
        meta, front = metadata.front_matter(text)
        if front:
            skip = [(0, front), *((s, e) for s, e in skip if s >= front)]
            title = meta.get("title") or title
            headings = [h for h in headings if h[0] >= front]
            if not text[front:].strip():
                raise IngestError(source, "only front matter, no text")
    else:
        meta = metadata.READERS[fmt](data) if fmt in metadata.READERS else {"type": "graphic"}
    meta.update(extra)  # e.g. the pages read by OCR
    meta.setdefault("type", "document")  # never empty: see pipeline's check for old indexes
    if not title:
        title = _first_line(text, skip) or path.stem
    return Document(
        doc_id=doc_id_of(path, docs_dir),
        source=source,
        path=str(path.resolve()),
        title=" ".join(title.split())[:200],  # one line, whatever the source held
        text=text,
        format=fmt,
        content_hash=file_hash(data),
        page_starts=tuple(page_starts),
        headings=tuple(headings),
        skip_spans=tuple(skip),
        notes=tuple(notes),
        meta=meta,
    )


# --- boilerplate ------------------------------------------------------------

_NOISE = re.compile(
    r"(hide ad|advertisement|advert|sponsored( content)?|skip to (main )?content|"
    r"share (this|on \w+)( article| story| page)?|click here|read more|"
    r"(sign up|subscribe)( (to|for) (our|the) \w+)?( newsletter)?|follow us( on \w+)?|"
    r"accept (all )?cookies|cookie (settings|policy)|back to top|print this page|"
    r"(tweet|pin it|email this))[.!:]?",
    re.IGNORECASE,
)


def boilerplate_spans(text: str) -> list[tuple[int, int]]:
    """Spans of whole lines that are scraped-page noise.

    A line is noise when it is short and either matches a known ad/navigation
    phrase or repeats at least three times in the document (real prose rarely
    repeats a line verbatim; ad slots and share buttons do).
    """
    lines = text.split("\n")
    stripped = [ln.strip() for ln in lines]
    counts = Counter(s.lower() for s in stripped if s)
    spans: list[tuple[int, int]] = []
    offset = 0
    for line, s in zip(lines, stripped, strict=True):
        end = offset + len(line)
        short = 0 < len(s) <= 40 and len(s.split()) <= 5
        if short and re.search(r"[A-Za-z]", s) and not s.startswith("#"):
            repeated = counts[s.lower()] >= 3 and not s.endswith((".", "?", ":"))
            if _NOISE.fullmatch(s) or repeated:
                spans.append((offset, min(end + 1, len(text))))
        offset = end + 1
    return spans


def _first_line(text: str, skip: list[tuple[int, int]]) -> str | None:
    offset = 0
    for line in text.split("\n"):
        inside = any(s <= offset < e for s, e in skip)
        if line.strip() and not inside:
            return line.strip()[:150]
        offset += len(line) + 1
    return None
