"""One file -> a Document: its loader (formats/), metadata, title, and boilerplate as skip spans.

Cleaning never rewrites text: boilerplate is recorded as `skip_spans` so that
every offset still points into the text the user can open and check.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

from ..errors import IngestError
from ..types import Document
from . import metadata
from .base import DEFAULT_LIMITS, Limits
from .discover import SUPPORTED, doc_id_of, file_hash, read_file, source_of
from .formats import LOADERS
from .language import detect_language, passage_languages

log = logging.getLogger(__name__)


def load_document(path: Path, docs_dir: Path, data: bytes | None = None,
                  limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read one file into a Document within `limits`; raises IngestError naming the file and
    the problem. Untrusted files go through worker.Parser, which runs this in a process that
    is killed when it overruns its time or memory."""
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
        parsed = loader(data, limits)
    except IngestError as exc:
        raise IngestError(source, exc.reason) from None
    except MemoryError:
        raise  # the parsing worker says which budget it ran into (worker.py)
    except (RecursionError, ValueError, LookupError, AttributeError, TypeError,
            AssertionError, UnicodeError) as exc:
        # A parser choking on one odd file must not stop the whole run; keep the traceback.
        log.warning("%s: the %s reader failed", source, fmt, exc_info=True)
        raise IngestError(source, f"could not be read as {fmt} ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
    text, title, headings = parsed.text, parsed.title, list(parsed.headings)
    if not text.strip():
        raise IngestError(source, "no text found in the file")
    skip = sorted({*boilerplate_spans(text), *parsed.skip_spans})
    blocks = parsed.blocks
    if fmt in {"md", "txt"}:
        # YAML front matter describes the file; it is never quoted (a skip span), and the
        # offsets still point into the file as it is on disk.
        meta, front = metadata.front_matter(text)
        if front:
            skip = [(0, front), *((s, e) for s, e in skip if s >= front)]
            title = meta.get("title") or title
            headings = [h for h in headings if h[0] >= front]
            blocks = tuple(b for b in blocks if b.start >= front)
            if not text[front:].strip():
                raise IngestError(source, "only front matter, no text")
    elif parsed.meta is not None:
        meta = dict(parsed.meta)  # read from the loader's own parse
    else:
        meta = metadata.READERS[fmt](data) if fmt in metadata.READERS else {"type": "graphic"}
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
        page_starts=parsed.page_starts,
        headings=tuple(headings),
        skip_spans=tuple(skip),
        notes=parsed.notes,
        ocr_pages=parsed.ocr_pages,
        blocks=blocks,
        meta=meta,
        language=(language := detect_language(text, skip)),
        passages=passage_languages(text, language, skip),
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
