"""One suite, both stores: the local segment store and the Milvus store (milvus-lite).

Each test runs against both through the same factory (`store.writer`, `store.load`),
with random unit vectors and generated texts (test_store.py's corpus), so they run
in seconds; the last ones go through the real model and real files.
"""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest
from conftest import assert_exact, make_assistant
from test_store import DIM, add, bm25s_scores, make_doc, manifest, toks

from assistant import store
from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.store.milvus_bm25 import REWEIGH_DRIFT
from assistant.text.analyzer import Analyzer

BACKENDS = ["local", "milvus"]
QUERIES = ("harbour boat", "storm storm gull", "anchor keel sail mast", "tide net")


def settings(tmp_path: Path, backend: str) -> Settings:
    return Settings.load(env={}, store=backend, milvus_uri=str(tmp_path / "milvus.db"))


def open_writer(index: Path, s: Settings) -> store.Writer:
    return store.writer(index, manifest, s)


def bm25_top(s: store.LocalStore, query: str, n: int = 1000) -> dict[str, float]:
    cfg = Settings.load(env={})
    got = s.bm25_top(Analyzer.of(cfg).tokens(query), cfg.bm25_k1, cfg.bm25_b, n)
    chunks = s.chunks([k for k, _ in got])
    return {c.chunk_id: score for c, (_, score) in zip(chunks, got, strict=True) if c is not None}


def build(index: Path, s: Settings, ids: range) -> store.LocalStore:
    w = open_writer(index, s)
    for i in ids:
        add(w, i)
    w.commit()
    w.close()
    return store.load(index, None, s)


@pytest.mark.parametrize("backend", BACKENDS)
def test_upsert_delete_reopen_and_bm25_equal_to_bm25s(tmp_path: Path, backend: str):
    s = settings(tmp_path, backend)
    index = tmp_path / "index"
    live = {}
    w = open_writer(index, s)
    for i in range(12):
        d, cs, _ = add(w, i)
        live[d.doc_id] = cs
    w.commit()
    for i in (2, 5):  # changed: replaced
        d, cs, _ = add(w, i, version=1)
        live[d.doc_id] = cs
    w.remove("doc7")
    del live["doc7"]
    w.commit()
    w.close()
    opened = store.load(index, None, s)  # reopened by another reader
    everything = [c for cs in live.values() for c in cs]
    assert len(opened) == len(everything)
    assert {c.chunk_id for c in opened.iter_chunks()} == {c.chunk_id for c in everything}
    assert not len(opened.keys_of(["doc7"]))
    # After an update the Milvus weights may carry an average length up to REWEIGH_DRIFT old.
    rel = 1e-5 if backend == "local" else REWEIGH_DRIFT
    for query in QUERIES:
        want, got = bm25s_scores(everything, query), bm25_top(opened, query)
        assert got.keys() == want.keys()  # deleted and replaced chunks are gone
        for cid in want:
            assert got[cid] == pytest.approx(want[cid], rel=rel)
    # Dense: a stored vector finds itself first, with cosine 1 (higher is closer).
    d, cs, v = make_doc(5, version=1)
    key = int(opened.keys_of(["doc5"])[0])
    found = opened.dense(v[0], 5)
    assert found[0][0] == key and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [sc for _, sc in found] == sorted((sc for _, sc in found), reverse=True)
    assert np.allclose(opened.vectors([key]), v[:1], atol=1e-6)
    live_keys = set(opened.keys_of(list(live)).tolist())
    assert {k for k, _ in opened.dense(make_doc(7)[2][0], 100)} == live_keys  # none deleted
    opened.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_scores_exact_again_after_the_average_length_moves(tmp_path: Path, backend: str):
    s = settings(tmp_path, backend)
    index = tmp_path / "index"
    build(index, s, range(10)).close()
    w = open_writer(index, s)
    live = {f"doc{i}": make_doc(i)[1] for i in range(10)}
    for i in range(10, 14):  # long chunks: the average length moves far past REWEIGH_DRIFT
        d, cs, v = make_doc(i, n=2, seed=1)
        w.add(d, cs, v, [t * 6 for t in toks(cs)])
        live[d.doc_id] = cs
    w.commit()
    w.close()
    opened = store.load(index, None, s)
    cfg = Settings.load(env={})
    for query in QUERIES:
        everything = [c for cs in live.values() for c in cs]
        tokens = [t * 6 if c.doc_id in {"doc10", "doc11", "doc12", "doc13"} else t
                  for c, t in zip(everything, toks(everything), strict=True)]
        index_ = bm25s.BM25(k1=cfg.bm25_k1, b=cfg.bm25_b)
        index_.index([t or ["\x00"] for t in tokens], show_progress=False)
        q = [t for t in Analyzer.of(cfg).tokens(query) if t in index_.vocab_dict]
        want = {c.chunk_id: float(x) for c, x in zip(everything, index_.get_scores(q), strict=True)
                if x > 0}
        got = bm25_top(opened, query)
        assert got.keys() == want.keys()
        for cid in want:
            assert got[cid] == pytest.approx(want[cid], rel=1e-5)
    opened.close()


def test_search_parity_between_the_local_and_the_milvus_store(tmp_path: Path):
    local = build(tmp_path / "local", settings(tmp_path, "local"), range(30))
    remote = build(tmp_path / "milvus", settings(tmp_path, "milvus"), range(30))
    assert len(local) == len(remote)
    rng = np.random.default_rng(7)
    cfg = Settings.load(env={})
    for query in QUERIES:
        q = rng.standard_normal(DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        a, b = local.dense(q, 10), remote.dense(q, 10)
        assert [k for k, _ in a] == [k for k, _ in b]  # same keys: both number chunks alike
        assert [x for _, x in a] == pytest.approx([x for _, x in b], abs=1e-5)
        assert bm25_top(local, query, 10) == pytest.approx(bm25_top(remote, query, 10), rel=1e-5)
        keys = [k for k, _ in a]
        tokens = Analyzer.of(cfg).tokens(query)
        assert local.bm25_of(tokens, cfg.bm25_k1, cfg.bm25_b, keys) == pytest.approx(
            remote.bm25_of(tokens, cfg.bm25_k1, cfg.bm25_b, keys), rel=1e-5)
        some = local.keys_of(["doc3", "doc8"])  # filtered to chosen documents
        a, b = local.dense(q, 3, some), remote.dense(q, 3, some)
        assert [k for k, _ in a] == [k for k, _ in b]
        assert [x for _, x in a] == pytest.approx([x for _, x in b], abs=1e-5)
    for doc_id in ("doc0", "doc29"):
        assert local.document(doc_id) == remote.document(doc_id)
        assert local.sentence_vectors(doc_id) == remote.sentence_vectors(doc_id)
    local.close()
    remote.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_index_opened_with_the_other_store_says_what_to_set(tmp_path: Path, backend: str):
    build(tmp_path / "index", settings(tmp_path, backend), range(3)).close()
    other = settings(tmp_path, "local" if backend == "milvus" else "milvus")
    with pytest.raises(IndexMismatchError, match=f"built for the {backend} store.*ASSISTANT_STORE"):
        store.load(tmp_path / "index", None, other)


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_model_answers_with_exact_quotes_and_updates_incrementally(
        tmp_path: Path, embedder, docs_copy: Path, backend: str):
    a = make_assistant(tmp_path / "index", embedder, docs_copy, store=backend,
                       milvus_uri=str(tmp_path / "milvus.db"))
    first = a.index(docs_copy)
    assert first.added == 5 and not first.skipped
    answer = a.ask("When did the Black Death reach England?")
    assert answer.found and "1349" in answer.text
    assert_exact(a, answer)
    (docs_copy / "steam-engine.md").write_text("# Kettles\n\nA kettle boils water for tea.\n",
                                               encoding="utf-8")
    (docs_copy / "amazon-rainforest.html").unlink()
    second = a.index(docs_copy)
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 1, 1, 3)
    hits = a.answerer.search("kettle boils water", k=3)
    assert hits[0].chunk.source.endswith("steam-engine.md")
    assert not any(h.chunk.source.endswith("amazon-rainforest.html")
                   for h in a.answerer.search("rainforest canopy", k=10))
    assert len(a.answerer.retriever().store) == second.chunks


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_commit_that_fails_leaves_the_last_commit_and_the_next_writer_cleans_up(
        tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch):
    s = settings(tmp_path, backend)
    index = tmp_path / "index"
    build(index, s, range(5)).close()
    w = open_writer(index, s)
    add(w, 9)
    w.remove("doc1")

    def fail(self, db) -> None:
        raise RuntimeError("killed inside the transaction")

    monkeypatch.setattr(type(w), "_committing", fail)
    with pytest.raises(RuntimeError):
        w.commit()  # the new rows were written (segment folder / Milvus) before the transaction
    w.close()
    monkeypatch.undo()
    opened = store.load(index, None, s)
    assert len(opened) == 5 * 4 and "doc1" in opened.documents and "doc9" not in opened.documents
    q = make_doc(9)[2][0]
    assert all(c is not None for c in opened.chunks([k for k, _ in opened.dense(q, 50)]))
    assert max(opened.dense(q, 1)[0][1], 0) < 0.99  # doc9's own vector is not searchable
    opened.close()
    w = open_writer(index, s)  # the next writer removes what the failed one left
    add(w, 9)
    w.commit()
    w.close()
    opened = store.load(index, None, s)
    assert len(opened) == 6 * 4 and opened.dense(q, 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    if backend == "milvus":
        from assistant.store.milvus import names

        dense, _ = names(opened.meta("milvus"))
        assert opened.client.get_collection_stats(dense)["row_count"] == 6 * 4
    opened.close()
