"""Sentence vectors, computed once at index time and looked up when answering.

The answer step scores every candidate sentence of the retrieved passages
against the question (answer.py). Embedding those sentences per question
cost ~0.4 s per ask, so the
indexer stores a vector for each document's candidate sentences, pooled from
the token states of the chunk that holds it in the same model pass that
embeds the chunk (`embed_with_sentences`), and the answer step looks them up
by (doc_id, start, end), embedding only a sentence the table lacks (e.g. an
index built before tables existed). On XQuAD dev, pooled vectors answered
better than sentences embedded alone (docs/EVALUATION.md). verify.py still
embeds passage sentences alone: its thresholds were tuned on those.

The store keeps each document's table with its segment (store/, `sentence_vectors`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..text.analyzer import word_count
from ..text.passages import MIN_WORDS
from ..text.sentences import body_sentences
from ..types import Chunk, Document
from .base import Embedder, SpanEmbedder
from .chunks import embed_text, title_prefix

Table = tuple[np.ndarray, np.ndarray]  # (spans int64 (n, 2), vectors float16 (n, dim))
Lookup = Callable[[str], Table | None]  # doc_id -> its table, or None when there is none


def sentence_table(
    doc: Document, chunks: Sequence[Chunk], embedder: Embedder, with_titles: bool = True
) -> Table:
    """(spans int64 (n, 2), vectors float16 (n, dim)) of the document's candidate sentences.

    Runs the model over the chunks; an indexer that also needs the chunk vectors
    calls `embed_with_sentences` instead and gets both from one pass.
    """
    return embed_with_sentences({doc.doc_id: doc}, chunks, embedder, with_titles)[1][doc.doc_id]


def embed_with_sentences(
    documents: Mapping[str, Document],
    chunks: Sequence[Chunk],
    embedder: Embedder,
    with_titles: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict[str, Table]]:
    """Vectors of `chunks`, and the sentence tables of their documents, from one model pass.

    Each candidate sentence's vector is pooled from the token states of the
    first chunk that holds it (embedder.embed_spans), so it costs no model
    time. A sentence outside the model's window, or an embedder without
    embed_spans (not a SpanEmbedder), gets its own embedding instead. Identical chunk texts (a
    copied file) are run once. `chunks` must hold every chunk of each document
    whose table is wanted; tables come back for the documents of `chunks`.
    """
    texts = [embed_text(c, with_titles) for c in chunks]
    unique = list(dict.fromkeys(texts))
    row = {t: j for j, t in enumerate(unique)}
    wanted: list[dict[tuple[int, int], int]] = [{} for _ in unique]  # text span -> position
    owner: dict[str, dict[tuple[int, int], tuple[int, tuple[int, int]]]] = {}
    for c, text in zip(chunks, texts, strict=True):
        doc = documents[c.doc_id]
        mine = owner.setdefault(c.doc_id, {})
        j = row[text]
        base = len(title_prefix(c, with_titles))  # embed_text puts it before the text
        for a, b in c.spans:
            for s, e in body_sentences(doc, a, b):
                if (s, e) in mine or word_count(doc.text[s:e]) < MIN_WORDS:
                    continue
                local = (base + s - a, base + e - a)
                mine[(s, e)] = (j, local)
                wanted[j].setdefault(local, len(wanted[j]))
            base += b - a + 2  # chunk.text joins its spans with a blank line
    spans = [list(w) for w in wanted]
    if isinstance(embedder, SpanEmbedder):
        vecs, pooled = embedder.embed_spans(unique, spans, progress)
    else:
        vecs = embedder.embed(unique, progress)
        pooled = [np.full((len(s), embedder.dim), np.nan, dtype=np.float32) for s in spans]
    tables: dict[str, Table] = {}
    alone: list[tuple[str, int, str]] = []  # (doc_id, row, text) of sentences not pooled
    for doc_id, mine in owner.items():
        keys = sorted(mine)
        table_vecs = np.zeros((len(keys), embedder.dim), dtype=np.float32)
        for r, key in enumerate(keys):
            j, local = mine[key]
            v = pooled[j][wanted[j][local]]
            if np.isnan(v).any():
                alone.append((doc_id, r, documents[doc_id].text[key[0]:key[1]]))
            else:
                table_vecs[r] = v
        tables[doc_id] = (np.array(keys, dtype=np.int64).reshape(-1, 2), table_vecs)
    if alone:
        extra = embedder.embed([t for _, _, t in alone])
        for (doc_id, r, _), v in zip(alone, extra, strict=True):
            tables[doc_id][1][r] = v
    tables = {d: (sp, v.astype(np.float16)) for d, (sp, v) in tables.items()}
    out = vecs[[row[t] for t in texts]] if texts else np.zeros((0, embedder.dim), np.float32)
    return out, tables


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
