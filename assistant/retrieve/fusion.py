"""Ranked lists -> one ranking (convex or reciprocal-rank fusion); overlapping hits merged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..text.locate import heading_path, locate
from ..types import Chunk, Document, Hit


def fuse_convex(
    cosine: Mapping[int, float],
    bm25: Mapping[int, float],
    dense_weight: float = 0.6,
    lexical_weight: float = 0.4,
) -> list[tuple[int, float]]:
    """Convex combination of cosine similarity and BM25 divided by the query's best BM25 score.

    Rows missing from `bm25` count as 0 there; with no BM25 scores at all the
    ranking is by cosine alone. Scores are in [-1, 1], ties broken by row.
    """
    top = max(bm25.values(), default=0.0)
    total = dense_weight + lexical_weight
    wd, wl = dense_weight / total, lexical_weight / total
    scores = {
        row: wd * c + (wl * bm25.get(row, 0.0) / top if top > 0 else 0.0)
        for row, c in cosine.items()
    }
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    rrf_k: int = 60,
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion: sum of weight / (rrf_k + rank) over the lists."""
    scores: dict[int, float] = {}
    for weight, ranked in ((dense_weight, dense), (lexical_weight, lexical)):
        for rank, (row, _) in enumerate(ranked, start=1):
            scores[row] = scores.get(row, 0.0) + weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def merge_overlapping(hits: Sequence[Hit], documents: Mapping[str, Document]) -> list[Hit]:
    """Fold each hit that overlaps a better one from the same document into it.

    The merged hit keeps the better hit's id, rank and scores and covers both
    passages; when it has grown into a worse hit kept earlier, that one joins it
    too. Identical passages from different files are kept once.
    """
    out: list[Hit] = []
    seen_text: set[str] = set()
    for hit in hits:
        c = hit.chunk
        if c.text in seen_text:
            continue
        target = next((i for i, h in enumerate(out) if _overlap(h.chunk, c)), None)
        if target is None:
            out.append(hit)
            seen_text.add(c.text)
            continue
        merged = _union(out[target].chunk, c, documents)
        while (j := next((j for j, h in enumerate(out) if j != target
                          and _overlap(h.chunk, merged)), None)) is not None:
            merged = _union(merged, out.pop(j).chunk, documents)
            target -= j < target
        out[target] = replace(out[target], chunk=merged)
    return out


def _overlap(a: Chunk, b: Chunk) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _union(a: Chunk, b: Chunk, documents: Mapping[str, Document]) -> Chunk:
    doc = documents[a.doc_id]
    spans = sorted(set(a.spans) | set(b.spans))
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    tspans = tuple((s, e) for s, e in merged)
    start, end = tspans[0][0], tspans[-1][1]
    loc = locate(doc, start, end)
    return replace(
        a,
        text="\n\n".join(doc.text[s:e] for s, e in tspans),
        start=start,
        end=end,
        spans=tspans,
        heading_path=heading_path(doc, start),
        **loc,  # type: ignore[arg-type]
    )
