"""The two protocols every store implements: Store (read the last commit) and Writer (change it).

Keys are chunk keys (ints, never reused). The local store (local.py, writer.py)
and the Milvus store (milvus.py, milvus_writer.py) both implement them over the
same catalog of records (records.py, commit.py); the rest of the assistant sees
only these.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from ..types import Chunk, Document


class Known(NamedTuple):
    """What the catalog knows about one indexed document, for change detection.

    A NamedTuple, not a dataclass: an update builds one per indexed document.
    """

    path: str
    size: int | None
    mtime_ns: int | None
    content_hash: str
    title: str


class Store(Protocol):
    """What retrieval, answers and the chat need from an index."""

    manifest: dict[str, Any]
    generation: int

    @property
    def documents(self) -> Mapping[str, Document]: ...  # read on demand

    @property
    def vector_index(self) -> str: ...  # "exact (flat)", "HNSW", "Milvus HNSW" ...

    def __len__(self) -> int: ...  # live chunks
    def close(self) -> None: ...
    def document(self, doc_id: str) -> Document | None: ...
    def listing(self) -> list[tuple[str, str, str]]: ...  # (doc_id, title, source), by source
    def chunks(self, keys: Sequence[int]) -> list[Chunk | None]: ...
    def document_chunks(self, doc_id: str) -> list[Chunk]: ...
    def iter_chunks(self) -> Iterator[Chunk]: ...
    def keys_of(self, doc_ids: Collection[str]) -> np.ndarray: ...
    def dense(self, q: np.ndarray, n: int, keys: np.ndarray | None = None
              ) -> list[tuple[int, float]]: ...
    def vectors(self, keys: Sequence[int]) -> np.ndarray: ...
    def bm25_top(self, tokens: Sequence[str], k1: float, b: float, n: int,
                 keys: np.ndarray | None = None) -> list[tuple[int, float]]: ...
    def bm25_of(self, tokens: Sequence[str], k1: float, b: float,
                keys: Sequence[int]) -> np.ndarray: ...
    def sentence_vectors(self, doc_id: str) -> tuple[np.ndarray, np.ndarray] | None: ...
    def languages(self) -> dict[str, int]: ...  # documents per language ("" unknown)
    def document_languages(self) -> dict[str, str]: ...  # doc_id -> language ("" unknown)

    @property
    def built_model(self) -> str: ...  # the embedding model of this commit (its manifest's)


class Writer(Protocol):
    """Changes to one index, made live together by `commit()`; one writer at a time
    (`store.locked`)."""

    manifest: dict[str, Any]

    @property
    def rebuilding(self) -> bool: ...

    @property
    def pending(self) -> int: ...  # chunks added since the last commit

    def known(self, doc_ids: Collection[str] | None = None) -> dict[str, Known]: ...
    def stats(self) -> dict[str, tuple[str, int | None, int | None]]: ...
    def any_documents(self) -> bool: ...
    def add(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray,
            tokens: Sequence[Sequence[str]], size: int | None = None, mtime_ns: int | None = None,
            sentences: tuple[np.ndarray, np.ndarray] | None = None) -> None: ...
    def remove(self, doc_id: str) -> None: ...
    def touch(self, doc_id: str, size: int, mtime_ns: int) -> None: ...
    def rebuild(self, manifest: dict[str, Any]) -> None: ...
    def commit(self) -> None: ...
    def merge(self, everything: bool = False) -> int: ...
    def summary(self) -> tuple[str, int]: ...  # (vector index in use, live chunks)
    def close(self) -> None: ...
