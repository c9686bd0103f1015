"""Retrieval's pure parts (reciprocal rank fusion, merging overlapping hits) and re-embedding
when only a title changes (real model, real index)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_assistant

from assistant.retrieve.fusion import fuse, merge_overlapping
from assistant.text.locate import locate
from assistant.types import Chunk, Document, Hit


def test_rrf_sums_weighted_reciprocal_ranks():
    dense = [(10, 0.9), (11, 0.8), (12, 0.7)]
    lexical = [(12, 9.0), (13, 4.0)]
    fused = dict(fuse(dense, lexical, rrf_k=60, dense_weight=1.0, lexical_weight=1.0))
    assert fused[10] == pytest.approx(1 / 61)
    assert fused[11] == pytest.approx(1 / 62)
    assert fused[12] == pytest.approx(1 / 63 + 1 / 61)  # third by cosine, first by BM25
    assert fused[13] == pytest.approx(1 / 62)
    # Ranked by fused score; equal scores (11 and 13) by row. Scores themselves are ignored.
    assert [r for r, _ in fuse(dense, lexical)] == [12, 10, 11, 13]
    weighted = dict(fuse(dense, lexical, rrf_k=0, dense_weight=3.0, lexical_weight=1.0))
    assert weighted[10] == pytest.approx(3.0) and weighted[12] == pytest.approx(1.0 + 1.0)
    assert fuse([], []) == []


TEXT = ("First sentence of the page. Second sentence follows it here. "
        "Third sentence ends the page.\nA new line starts here and goes on.\n")


def _doc(doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, source=f"docs/{doc_id}.txt", path=f"/docs/{doc_id}.txt",
                    title="Page", text=TEXT, format="txt", content_hash="h")


def _hit(doc: Document, start: int, end: int, score: float, rank: int = 0) -> Hit:
    chunk = Chunk(chunk_id=f"{doc.doc_id}{start}", doc_id=doc.doc_id, title=doc.title,
                  source=doc.source, path=doc.path, text=doc.text[start:end], start=start,
                  end=end, spans=((start, end),), **locate(doc, start, end))  # type: ignore[arg-type]
    return Hit(chunk=chunk, score=score, dense=score, rank=rank)


def test_merge_overlapping_folds_a_worse_overlapping_hit_into_the_better_one():
    doc, other = _doc("d"), _doc("e")
    best = _hit(doc, 28, 89, 0.9, rank=1)  # second and third sentences
    overlapping = _hit(doc, 0, 62, 0.5)  # first and second: overlaps best
    apart = _hit(doc, 90, 125, 0.4)  # the next line: touches nothing
    twin = _hit(other, 28, 89, 0.3)  # the same text in another file: kept once
    merged = merge_overlapping([best, overlapping, apart, twin], {"d": doc, "e": other})
    assert [h.chunk.start for h in merged] == [0, 90]
    first = merged[0]
    assert (first.chunk.chunk_id, first.score, first.rank) == ("d28", 0.9, 1)  # the better one's
    assert (first.chunk.start, first.chunk.end) == (0, 89) and first.chunk.spans == ((0, 89),)
    assert first.chunk.text == TEXT[0:89]
    assert (first.chunk.line_start, first.chunk.line_end) == (1, 1)


def test_merge_overlapping_joins_hits_a_merge_has_grown_into():
    doc = _doc()
    a, b, c = _hit(doc, 0, 27, 0.9), _hit(doc, 90, 125, 0.8), _hit(doc, 20, 95, 0.1)
    assert len(merge_overlapping([a, b], {"d": doc})) == 2  # apart: both kept
    merged = merge_overlapping([a, b, c], {"d": doc})
    # c bridges a and b: one hit, a's id and score, no text quoted twice.
    assert len(merged) == 1 and merged[0].chunk.chunk_id == "d0" and merged[0].score == 0.9
    assert merged[0].chunk.spans == ((0, 125),)


def test_a_changed_title_is_embedded_again(tmp_path: Path, embedder):
    a = make_assistant(tmp_path / "index", embedder, tmp_path)
    docs = [Document(doc_id=f"d{i}", source=f"docs/d{i}.txt", path=f"/docs/d{i}.txt",
                     title=title, text=text, format="txt", content_hash=f"h{i}")
            for i, (title, text) in enumerate([
                ("Mills", "The old mill on the river ground wheat for the village.\n"),
                ("Bells", "The foundry in Whitechapel cast the great bell in 1858.\n")])]
    first = a.indexer.index_documents(docs)
    assert first.added == 2 and first.embedded == first.chunks == 2
    same = a.indexer.index_documents(docs)
    assert same.embedded == 0 and same.unchanged == 2
    renamed = [docs[0], Document(**{**docs[1].__dict__, "title": "Zanzibar carillon"})]
    report = a.indexer.index_documents(renamed)
    assert report.embedded == 1 and report.updated == 1 and report.unchanged == 1
    hits = a.answerer.search("Zanzibar carillon", k=1)
    assert hits[0].chunk.doc_id == "d1" and hits[0].chunk.title == "Zanzibar carillon"
    # The vector is the new title's: it equals a fresh embedding of "title\ntext".
    vec = a.answerer.retriever().store.vectors([a.answerer.retriever().store.keys_of(["d1"])[0]])[0]
    fresh = embedder.embed([f"Zanzibar carillon\n{docs[1].text}"])[0]
    assert float(vec @ fresh) == pytest.approx(1.0, abs=1e-4)
