"""The records of an index, read side: documents, chunks and sentence vectors in the SQLite catalog.

Every store (local segments, Milvus) keeps its records here and reads them by
key when a search needs them; opening reads the catalog's meta rows only (a few
KB, whatever the size). The commit point is the catalog's generation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from ..types import Chunk, Document
from . import catalog
from .segment import REBUILD_HINT


class Documents(Mapping[str, Document]):
    """doc_id -> Document, read from the catalog on demand (a few kept in memory)."""

    def __init__(self, store: Records) -> None:
        self._store = store

    def __getitem__(self, doc_id: str) -> Document:
        doc = self._store.document(doc_id)
        if doc is None:
            raise KeyError(doc_id)
        return doc

    def __iter__(self) -> Iterator[str]:
        return iter([r[0] for r in self._store.query("SELECT doc_id FROM documents ORDER BY source")])

    def __len__(self) -> int:
        return int(self._store.query("SELECT count(*) FROM documents")[0][0])

    def __contains__(self, doc_id: object) -> bool:
        return bool(self._store.query("SELECT 1 FROM documents WHERE doc_id = ?", (doc_id,)))


LANGUAGES_QUERY = ("SELECT COALESCE(json_extract(locators, '$.language'), ''), COUNT(*) "
                   "FROM documents GROUP BY 1")


class Records:
    """An open catalog: the last commit's manifest and generation, and its records by key.

    A store built on it reads what it needs of the same commit in `_snapshot`, inside the
    transaction that reads the manifest, so that both belong to one generation.
    """

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir
        self._lock = threading.Lock()
        try:
            self._db = catalog.connect(index_dir)
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    self.manifest: dict[str, Any] = catalog.get_meta(self._db, "manifest", {})
                    self.generation: int = int(catalog.get_meta(self._db, "generation", 0))
                    self._snapshot(self._db)
                finally:
                    self._db.execute("COMMIT")
        except (sqlite3.DatabaseError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"{index_dir}/{catalog.CATALOG} is damaged ({exc}); "
                                    f"{REBUILD_HINT}") from None
        self._documents = Documents(self)
        self._recent: OrderedDict[str, Document | None] = OrderedDict()

    def _snapshot(self, db: sqlite3.Connection) -> None:
        """Read what the store needs of this commit (inside the opening transaction)."""

    @property
    def documents(self) -> Documents:
        return self._documents

    def close(self) -> None:
        self._db.close()

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"{self.path}/{catalog.CATALOG} cannot be read ({exc}); "
                                    f"{REBUILD_HINT}") from None

    def meta(self, key: str, default: Any = None) -> Any:
        """A value of the catalog's meta table (as it is now, not as of the snapshot)."""
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def document(self, doc_id: str) -> Document | None:
        """The document, or None when it is not in the index (a few recent ones kept)."""
        with self._lock:
            if doc_id in self._recent:
                self._recent.move_to_end(doc_id)
                return self._recent[doc_id]
        rows = self.query(catalog.DOC_QUERY, (doc_id,))
        doc = catalog.document_of(rows[0]) if rows else None
        with self._lock:
            self._recent[doc_id] = doc
            while len(self._recent) > 64:
                self._recent.popitem(last=False)
        return doc

    def listing(self) -> list[tuple[str, str, str]]:
        """(doc_id, title, source) of every document, by source; no text is read."""
        return [tuple(r) for r in self.query("SELECT doc_id, title, source FROM documents "
                                             "ORDER BY source")]

    def chunks(self, keys: Sequence[int]) -> list[Chunk | None]:
        """The chunks with these keys (None for one removed since this store was opened)."""
        wanted = [int(k) for k in keys]
        found: dict[int, tuple[str, str, str]] = {}
        for a in range(0, len(wanted), 500):  # one query per 500 keys, not one per key
            part = wanted[a:a + 500]
            found.update((r[0], r[1:]) for r in self.query(
                f"SELECT key, doc_id, chunk_id, record FROM chunks WHERE key IN "
                f"({','.join('?' * len(part))})", part))
        out: list[Chunk | None] = []
        for key in wanted:
            row = found.get(key)
            doc = self.document(row[0]) if row else None
            out.append(catalog.chunk_of(row[1], row[2], doc) if row and doc else None)
        return out

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every live chunk, document by document (for checks and tools, not for searching)."""
        for doc_id in list(self.documents):
            yield from self.document_chunks(doc_id)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        doc = self.document(doc_id)
        if doc is None:
            return []
        rows = self.query("SELECT chunk_id, record FROM chunks WHERE doc_id = ? ORDER BY key", (doc_id,))
        return [catalog.chunk_of(cid, rec, doc) for cid, rec in rows]

    def keys_of(self, doc_ids: Collection[str]) -> np.ndarray:
        keys: list[int] = []
        for d in doc_ids:
            keys.extend(r[0] for r in self.query("SELECT key FROM chunks WHERE doc_id = ?", (d,)))
        return np.array(sorted(keys), dtype=np.int64)

    def document_languages(self) -> dict[str, str]:
        """doc_id -> the language detected in the document (ISO 639-1, "" unknown)."""
        return {str(d): str(lang) for d, lang in self.query(
            "SELECT doc_id, COALESCE(json_extract(locators, '$.language'), '') FROM documents")}

    def languages(self) -> dict[str, int]:
        """Documents per language (ISO 639-1, "" unknown), as the catalog holds them."""
        return {str(lang): int(n) for lang, n in self.query(LANGUAGES_QUERY)}

    @property
    def built_model(self) -> str:
        """The embedding model this commit was built with (under ASSISTANT_MODEL=auto, the
        one auto chose)."""
        return str(self.manifest.get("model", ""))

    def sentence_vectors(self, doc_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(spans (n, 2) int64, vectors (n, dim) float16) stored for a document, or None."""
        rows = self.query("SELECT n, dim, spans, vectors FROM sentences WHERE doc_id = ?", (doc_id,))
        return catalog.sentences_of(rows[0]) if rows else None
