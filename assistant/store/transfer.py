"""Copy an index into another store without embedding anything again (e.g. local -> Milvus)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..types import Chunk, Document
from .base import Store, Writer


def copy_index(src: Store, dst: Writer,
               tokens: Callable[[Document, Sequence[Chunk]], list[list[str]]]) -> int:
    """Every document of `src` with its chunks, vectors and sentence vectors into `dst`,
    committed at once; returns the number of chunks. `tokens` makes BM25 tokens of a
    document's chunks."""
    n = 0
    for doc_id, _, _ in src.listing():
        doc = src.document(doc_id)
        if doc is None:
            continue
        chunks = src.document_chunks(doc_id)  # in key order, as keys_of returns the keys
        vectors = src.vectors(src.keys_of([doc_id]).tolist())
        dst.add(doc, chunks, vectors, tokens(doc, chunks), sentences=src.sentence_vectors(doc_id))
        n += len(chunks)
    dst.commit()
    return n
