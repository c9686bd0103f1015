"""The catalog: one SQLite database (WAL) holding the records and the commit point.

Tables::

    meta       key -> JSON value: format, manifest (model, dim, chunking...), generation,
               next chunk key
    segments   live segment folders: name, rows, vector index kind, file sizes and checksums
    documents  one row per document: stat (size, mtime_ns), content hash, locators
    texts      doc_id -> zlib-compressed text (apart, so that change detection scans
               a few hundred bytes per document)
    chunks     key (int) -> document, ordinal and locators; the text is cut from the
               document's text by its spans, so it is stored once
    deleted    chunk keys that are still in a live segment's files but no longer live
    sentences  per document: sentence spans (int64, n x 2) and vectors (float16, n x dim)

A commit is one SQLite transaction: segment folders are written and fsynced
before it, so a kill -9 at any instant leaves either the old or the new state.
Nothing is pickled: JSON, zlib and raw little-endian arrays only.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Block, Chunk, Document

CATALOG = "catalog.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY, rows INTEGER NOT NULL, live INTEGER NOT NULL, kind TEXT NOT NULL,
    files TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL, title TEXT NOT NULL,
    format TEXT NOT NULL, content_hash TEXT NOT NULL, size INTEGER, mtime_ns INTEGER,
    locators TEXT NOT NULL, chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS texts (doc_id TEXT PRIMARY KEY, text BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    key INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, chunk_id TEXT NOT NULL, record TEXT NOT NULL,
    segment TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE INDEX IF NOT EXISTS chunks_segment ON chunks (segment);
CREATE TABLE IF NOT EXISTS deleted (key INTEGER PRIMARY KEY, segment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sentences (
    doc_id TEXT PRIMARY KEY, n INTEGER NOT NULL, dim INTEGER NOT NULL,
    spans BLOB NOT NULL, vectors BLOB NOT NULL);
"""

_CHUNK_FIELDS = ("start", "end", "spans", "line_start", "line_end", "page_start", "page_end",
                 "heading_path", "ordinal")


def connect(index_dir: Path, create: bool = False) -> sqlite3.Connection:
    """A connection to the index's catalog (autocommit; transactions are explicit)."""
    path = index_dir / CATALOG
    if not create and not path.is_file():
        raise FileNotFoundError(path)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut, not only a kill
    if create:
        db.executescript(SCHEMA)
    return db


def get_meta(db: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))


# --- documents -----------------------------------------------------------------

def document_row(doc: Document, n_chunks: int, size: int | None, mtime_ns: int | None) -> tuple:
    """The documents row; its text goes in `texts` (text_row)."""
    locators = {"page_starts": doc.page_starts, "headings": doc.headings,
                "skip_spans": doc.skip_spans, "notes": doc.notes, "ocr_pages": doc.ocr_pages,
                "language": doc.language, "passages": doc.passages,
                "blocks": [[b.kind, b.start, b.end, *(b.head or ())] for b in doc.blocks], "meta": doc.meta}
    return (doc.doc_id, doc.source, doc.path, doc.title, doc.format, doc.content_hash, size,
            mtime_ns, json.dumps(locators, ensure_ascii=False), n_chunks)


def text_row(doc: Document) -> tuple:
    return doc.doc_id, zlib.compress(doc.text.encode("utf-8"), 6)


DOC_QUERY = ("SELECT d.doc_id, source, path, title, format, content_hash, size, mtime_ns, locators, "
             "t.text FROM documents d JOIN texts t ON t.doc_id = d.doc_id WHERE d.doc_id = ?")


def document_of(row: Sequence[Any]) -> Document:
    doc_id, source, path, title, fmt, content_hash, _size, _mtime, locators, text = row
    loc = json.loads(locators)
    meta = dict(loc.get("meta") or {})
    # Indexes written before Document.ocr_pages kept the OCR'd pages in the metadata.
    ocr_pages = loc.get("ocr_pages", meta.pop("ocr-pages", ()))
    return Document(
        doc_id=doc_id, source=source, path=path, title=title, format=fmt,
        content_hash=content_hash, text=zlib.decompress(text).decode("utf-8"),
        page_starts=tuple(loc.get("page_starts", ())),
        headings=tuple(tuple(h) for h in loc.get("headings", ())),
        skip_spans=tuple(tuple(s) for s in loc.get("skip_spans", ())),
        notes=tuple(loc.get("notes", ())),
        ocr_pages=tuple(int(p) for p in ocr_pages or ()),
        language=str(loc.get("language", "")),
        passages=tuple((int(a), int(b), str(c)) for a, b, c in loc.get("passages", ())),
        blocks=tuple(_block(b) for b in loc.get("blocks", ())),
        meta=meta,
    )


def _block(row: Sequence[Any]) -> Block:
    """A Block from its record: [kind, start, end] or [kind, start, end, head start, head end]."""
    kind, start, end, *head = row
    return Block(str(kind), int(start), int(end),
                 (int(head[0]), int(head[1])) if len(head) == 2 else None)


# --- chunks ----------------------------------------------------------------------

def chunk_rows(chunks: Sequence[Chunk], keys: Iterable[int], segment: str) -> Iterator[tuple]:
    for c, key in zip(chunks, keys, strict=True):
        record = {f: getattr(c, f) for f in _CHUNK_FIELDS}
        yield int(key), c.doc_id, c.chunk_id, json.dumps(record, ensure_ascii=False), segment


def chunk_of(chunk_id: str, record: str, doc: Document) -> Chunk:
    """A Chunk from its record and its document (whose text holds the chunk's text)."""
    r = json.loads(record)
    spans = tuple((int(a), int(b)) for a, b in r["spans"])
    return Chunk(
        chunk_id=chunk_id, doc_id=doc.doc_id, title=doc.title, source=doc.source, path=doc.path,
        text="\n\n".join(doc.text[a:b] for a, b in spans), start=r["start"], end=r["end"],
        spans=spans, line_start=r["line_start"], line_end=r["line_end"],
        page_start=r["page_start"], page_end=r["page_end"],
        heading_path=tuple(r["heading_path"]), ordinal=r["ordinal"],
    )


# --- sentence vectors --------------------------------------------------------------

def sentence_row(doc_id: str, spans: np.ndarray, vectors: np.ndarray) -> tuple:
    spans = np.ascontiguousarray(spans, dtype="<i8").reshape(-1, 2)
    vectors = np.ascontiguousarray(vectors, dtype="<f2")
    if len(vectors) != len(spans):
        raise ValueError(f"{doc_id}: {len(spans)} sentence spans but {len(vectors)} vectors")
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    return doc_id, len(spans), dim, spans.tobytes(), vectors.tobytes()


def sentences_of(row: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    n, dim, spans, vectors = row
    return (np.frombuffer(spans, dtype="<i8").reshape(n, 2),
            np.frombuffer(vectors, dtype="<f2").reshape(n, dim))
