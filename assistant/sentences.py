"""Sentence vectors, computed once at index time and looked up when answering.

The answer step scores every candidate sentence of the retrieved passages
against the question (answer.py); verify.py does the same for a generated
draft. Embedding those sentences per question cost ~0.4 s per ask, so the
indexer embeds each document's candidate sentences once (`sentence_table`)
and the answer step looks them up by (doc_id, start, end), embedding only a
sentence the table lacks (e.g. an index built before the table existed).

Storage (`write_tables` / `read_tables`) is plain npy + JSON in the
generation folder, nothing pickled::

    sentences/docs.json     doc ids, in table order
    sentences/offsets.npy   int64 (n_docs + 1,): rows of doc i are offsets[i]:offsets[i+1]
    sentences/spans.npy     int64 (n, 2): (start, end) in the document text, sorted
    sentences/vectors.npy   float16 (n, dim): L2-normalised sentence vectors
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .chunk import body_sentences
from .embed import Embedder
from .types import Chunk, Document

Table = tuple[np.ndarray, np.ndarray]  # (spans int64 (n, 2), vectors float16 (n, dim))
Lookup = Callable[[str], Table | None]  # doc_id -> its table, or None when there is none
MIN_WORDS = 3  # shorter sentences are never quoted (answer.candidate_sentences)


def candidate_spans(doc: Document, chunks: Sequence[Chunk]) -> list[tuple[int, int]]:
    """The quotable sentences of a document's chunks, as answer.candidate_sentences finds them."""
    seen: set[tuple[int, int]] = set()
    for chunk in chunks:
        for a, b in chunk.spans:
            for s, e in body_sentences(doc, a, b):
                if len(doc.text[s:e].split()) >= MIN_WORDS:
                    seen.add((s, e))
    return sorted(seen)


def sentence_table(doc: Document, chunks: Sequence[Chunk], embedder: Embedder) -> Table:
    """(spans int64 (n, 2), vectors float16 (n, dim)) of the document's candidate sentences."""
    spans = candidate_spans(doc, chunks)
    vecs = embedder.embed([doc.text[s:e] for s, e in spans])
    return (np.array(spans, dtype=np.int64).reshape(-1, 2),
            vecs.astype(np.float16).reshape(len(spans), embedder.dim))


def sentence_tables(
    documents: Sequence[Document], chunks: Sequence[Chunk], embedder: Embedder
) -> dict[str, Table]:
    """sentence_table of every document, in one embedding call so that batches stay full."""
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    spans = {d.doc_id: candidate_spans(d, by_doc.get(d.doc_id, [])) for d in documents}
    texts = [d.text[s:e] for d in documents for s, e in spans[d.doc_id]]
    vecs = embedder.embed(texts).astype(np.float16) if texts else None
    out: dict[str, Table] = {}
    row = 0
    for d in documents:
        n = len(spans[d.doc_id])
        table_vecs = vecs[row : row + n] if vecs is not None else np.zeros((0, embedder.dim),
                                                                            np.float16)
        out[d.doc_id] = (np.array(spans[d.doc_id], dtype=np.int64).reshape(-1, 2), table_vecs)
        row += n
    return out


def find(table: Table, start: int, end: int) -> int | None:
    """Row of the sentence (start, end) in a table, or None."""
    spans = table[0]
    i = int(np.searchsorted(spans[:, 0], start))
    while i < len(spans) and spans[i, 0] == start:
        if spans[i, 1] == end:
            return i
        i += 1
    return None


def sentence_vectors(
    items: Sequence[tuple[str, int, int, str]], embedder: Embedder, lookup: Lookup | None
) -> np.ndarray:
    """float32 vectors of (doc_id, start, end, text) sentences: looked up, else embedded."""
    out = np.zeros((len(items), embedder.dim), dtype=np.float32)
    missing: list[int] = []
    tables: dict[str, Table | None] = {}
    for i, (doc_id, start, end, _text) in enumerate(items):
        if lookup is not None and doc_id not in tables:
            tables[doc_id] = lookup(doc_id)
        table = tables.get(doc_id)
        row = find(table, start, end) if table is not None else None
        if row is None:
            missing.append(i)
        else:
            out[i] = table[1][row]  # type: ignore[index]
    if missing:
        out[missing] = embedder.embed([items[i][3] for i in missing])
    return out


def write_tables(folder: Path, tables: Mapping[str, Table]) -> None:
    """Write the tables of all documents into `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = list(tables)
    counts = [len(tables[d][0]) for d in ids]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    dim = next((t[1].shape[1] for t in tables.values() if t[1].ndim == 2), 0)
    spans = np.concatenate([tables[d][0] for d in ids]) if ids else np.zeros((0, 2), np.int64)
    vecs = np.concatenate([tables[d][1] for d in ids]) if ids else np.zeros((0, dim), np.float16)
    with (folder / "docs.json").open("w", encoding="utf-8") as f:
        json.dump(ids, f, ensure_ascii=False)
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "spans.npy", spans.astype(np.int64))
    np.save(folder / "vectors.npy", vecs.astype(np.float16))


class Tables:
    """The sentence tables of one index generation, read from `folder`."""

    def __init__(self, folder: Path) -> None:
        with (folder / "docs.json").open(encoding="utf-8") as f:
            ids = json.load(f)
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        self._spans = np.load(folder / "spans.npy", allow_pickle=False)
        self._vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        if len(offsets) != len(ids) + 1 or offsets[-1] != len(self._spans) \
                or len(self._spans) != len(self._vectors):
            raise ValueError(f"{folder}: sentence tables disagree")
        self._rows = {d: (int(offsets[i]), int(offsets[i + 1])) for i, d in enumerate(ids)}

    def get(self, doc_id: str) -> Table | None:
        rows = self._rows.get(doc_id)
        if rows is None:
            return None
        a, b = rows
        return self._spans[a:b], self._vectors[a:b]
