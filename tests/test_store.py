"""The segment store: commits, deletions, merges, BM25 equal to bm25s, ANN recall, sentence vectors.

These drive the real store (SQLite, FAISS, numpy files on disk) with random unit
vectors and generated texts, so they run in seconds; test_pipeline.py and
test_faults.py do the same through the real model and real files.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from assistant import store
from assistant.config import Settings
from assistant.indexing.writer import lexical_text
from assistant.text.analyzer import Analyzer
from assistant.types import Chunk, Document

DIM = 32
S = Settings.load(env={})
ANALYZER = Analyzer.of(S)
VOCAB = ("harbour boat fish market tide crane rope anchor gull pier lamp storm net "
         "keel sail mast dock wave shell salt").split()


def manifest() -> dict:
    return {"model": "test", "dim": DIM, "max_seq_length": 64, "chunking": S.chunking(),
            "lexical": Analyzer.of(S).manifest()}


def make_doc(i: int, n: int = 4, version: int = 0, seed: int = 0) -> tuple[Document, list[Chunk], np.ndarray]:
    rng = random.Random(f"{seed}-{i}-{version}")
    texts = [" ".join(rng.choice(VOCAB) for _ in range(rng.randint(3, 12))) for _ in range(n)]
    text = "\n\n".join(texts)
    doc = Document(doc_id=f"doc{i}", source=f"t/doc{i}.txt", path=f"/t/doc{i}.txt", title=f"Doc {i}",
                   text=text, format="txt", content_hash=hashlib.sha256(text.encode()).hexdigest())
    chunks, pos = [], 0
    for k, t in enumerate(texts):
        chunks.append(Chunk(chunk_id=f"{i:04d}{version:04d}{k:08d}", doc_id=doc.doc_id, title=doc.title,
                            source=doc.source, path=doc.path, text=t, start=pos, end=pos + len(t),
                            spans=((pos, pos + len(t)),), line_start=2 * k + 1, line_end=2 * k + 1,
                            ordinal=k))
        pos += len(t) + 2
    vecs = np.random.default_rng([seed, i, version]).standard_normal((n, DIM)).astype(np.float32)
    return doc, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def toks(chunks: list[Chunk]) -> list[list[str]]:
    return ANALYZER.tokenize([lexical_text(c, True) for c in chunks])


def writer(index: Path, **kw) -> store.LocalWriter:
    return store.LocalWriter(index, manifest, **kw)


def add(w: store.LocalWriter, i: int, **kw) -> tuple[Document, list[Chunk], np.ndarray]:
    d, cs, v = make_doc(i, **kw)
    w.add(d, cs, v, toks(cs))
    return d, cs, v


def bm25s_scores(chunks: list[Chunk], query: str) -> dict[str, float]:
    """chunk_id -> score from one bm25s index over `chunks`, as the old store computed them."""
    import bm25s

    index = bm25s.BM25(k1=S.bm25_k1, b=S.bm25_b)
    index.index([t or ["\x00"] for t in toks(chunks)], show_progress=False)
    q = [t for t in ANALYZER.tokens(query) if t in index.vocab_dict]
    scores = index.get_scores(q)
    return {c.chunk_id: float(s) for c, s in zip(chunks, scores, strict=True) if s > 0}


def store_scores(s: store.LocalStore, query: str) -> dict[str, float]:
    got = s.bm25(ANALYZER.tokens(query), S.bm25_k1, S.bm25_b)
    assert got is not None
    keys, scores = got
    chunks = s.chunks(keys.tolist())
    return {c.chunk_id: float(x) for c, x in zip(chunks, scores, strict=True) if c is not None}


def test_commits_deletions_and_merge_keep_bm25_equal_to_one_bm25s_index(tmp_path: Path):
    index = tmp_path / "index"
    live: dict[str, list[Chunk]] = {}
    w = writer(index, max_segments=100)
    for batch in range(4):  # four commits: four segments
        for i in range(batch * 5, batch * 5 + 5):
            d, cs, _ = add(w, i)
            live[d.doc_id] = cs
        w.commit()
    # Change two documents and remove one: their old rows become deletions.
    for i in (2, 11):
        d, cs, _ = add(w, i, version=1)
        live[d.doc_id] = cs
    w.remove("doc7")
    del live["doc7"]
    w.commit()
    s = store.load(index)
    assert len(s.segments) == 5 and len(s) == sum(map(len, live.values()))
    everything = [c for cs in live.values() for c in cs]
    for query in ("harbour boat", "storm storm gull", "anchor keel sail mast"):
        want, got = bm25s_scores(everything, query), store_scores(s, query)
        assert got.keys() == want.keys()
        for cid in want:
            assert got[cid] == pytest.approx(want[cid], rel=1e-5)
    before = {q: store_scores(s, q) for q in ("harbour", "tide net")}
    assert {c.doc_id for c in s.iter_chunks()} == set(live)
    assert all(c.text == s.document(c.doc_id).text[c.start:c.end] for c in s.iter_chunks())
    s.close()

    assert w.merge(everything=True) == 5
    w.close()
    s = store.load(index)
    assert len(s.segments) == 1 and len(s) == sum(map(len, live.values()))
    assert not s.deleted[0].size  # the merge dropped the deleted rows
    for q, scores in before.items():
        assert store_scores(s, q) == pytest.approx(scores, rel=1e-6)
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("seg-")) == \
        [seg.folder.name for seg in s.segments]


def test_removed_documents_are_gone_from_both_searches_and_records(tmp_path: Path):
    index = tmp_path / "index"
    w = writer(index)
    vecs = {}
    for i in range(6):
        d, cs, v = add(w, i)
        vecs[d.doc_id] = v
    w.commit()
    w.remove("doc3")
    w.commit()
    s = store.load(index)
    found = {k for k, _ in s.dense(vecs["doc3"][0], 24)}
    assert found and not {c.doc_id for c in s.chunks(list(found)) if c} & {"doc3"}
    assert s.document("doc3") is None and "doc3" not in s.documents
    assert not len(s.keys_of(["doc3"]))
    keys, _ = s.bm25(["harbour", "boat", "fish", "tide", "gull"], 1.2, 0.75)
    assert not {c.doc_id for c in s.chunks(keys.tolist()) if c} & {"doc3"}
    # Removing the last document of a segment drops the segment itself.
    for i in (0, 1, 2, 4, 5):
        w.remove(f"doc{i}")
    add(w, 9)
    w.commit()
    w.close()
    s = store.load(index)
    assert [seg.rows for seg in s.segments] == [4] and len(s) == 4


def test_auto_merge_past_the_segment_limit(tmp_path: Path):
    w = writer(tmp_path / "index", max_segments=4)
    for i in range(9):
        add(w, i)
        w.commit()
        assert w.segment_count() <= 4
    w.close()
    s = store.load(tmp_path / "index")
    assert len(s) == 36 and {c.doc_id for c in s.iter_chunks()} == {f"doc{i}" for i in range(9)}


def test_auto_merge_leaves_a_big_segment_alone(tmp_path: Path):
    """One-document updates merge with each other, never into a big segment (whose rewrite
    would rebuild its HNSW graph and make a small update cost what the whole index costs)."""
    w = writer(tmp_path / "index", max_segments=4)
    for i in range(300):
        add(w, i)
        if i % 100 == 99:
            w.commit()  # three segments of 100 documents
    big = {r[0] for r in w.db.execute("SELECT name FROM segments")}
    for i in range(300, 315):
        add(w, i)
        w.commit()
        assert w.segment_count() <= 4
        assert big <= {r[0] for r in w.db.execute("SELECT name FROM segments")}
    w.close()
    s = store.load(tmp_path / "index")
    assert len(s) == 315 * 4 and len({c.doc_id for c in s.iter_chunks()}) == 315
    # --optimize still merges everything into one.
    w = writer(tmp_path / "index", max_segments=4)
    assert w.merge(everything=True) >= 2 and w.segment_count() == 1
    w.close()


def test_known_reads_the_named_documents_of_a_large_catalog(tmp_path: Path):
    """Change detection for named documents reads their rows by key; a folder scan reads the
    stat rows of all; both agree with what was committed."""
    w = writer(tmp_path / "index", max_segments=100)
    for i in range(1200):  # more than one batch of SQL parameters
        d, cs, v = make_doc(i, n=1)
        w.add(d, cs, v, toks(cs), size=i, mtime_ns=10 * i)
    w.commit()
    names = [f"doc{i}" for i in range(0, 1200, 2)] + ["doc7", "nope"]
    got = w.known(names)
    assert set(got) == set(names) - {"nope"}
    assert got["doc7"].size == 7 and got["doc7"].mtime_ns == 70 and got["doc7"].path == "/t/doc7.txt"
    assert got["doc8"].content_hash == make_doc(8, n=1)[0].content_hash
    stats = w.stats()
    assert len(stats) == 1200 and stats["doc1199"] == ("/t/doc1199.txt", 1199, 11990)
    assert w.known() == {**w.known(list(stats))}
    assert w.known([]) == {} and w.any_documents()
    w.close()


def test_sentence_vectors_are_stored_with_their_document(tmp_path: Path):
    w = writer(tmp_path / "index")
    d, cs, v = make_doc(1)
    spans = np.array([[0, 5], [7, 12]], dtype=np.int64)
    sv = np.random.default_rng(0).standard_normal((2, DIM)).astype(np.float16)
    w.add(d, cs, v, toks(cs), sentences=(spans, sv))
    add(w, 2)
    w.commit()
    s = store.load(tmp_path / "index")
    got = s.sentence_vectors("doc1")
    assert got is not None and (got[0] == spans).all() and (got[1] == sv).all()
    assert got[1].dtype == np.float16 and s.sentence_vectors("doc2") is None
    w.remove("doc1")
    w.commit()
    w.close()
    assert store.load(tmp_path / "index").sentence_vectors("doc1") is None


def test_hnsw_segments_keep_recall_against_exact_search(tmp_path: Path):
    """Past the threshold a segment is HNSW; its recall@10 against exact search stays >= 0.98."""
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((50, DIM)).astype(np.float32)
    flat, hnsw = tmp_path / "flat", tmp_path / "hnsw"
    ws = [writer(flat, ann_threshold=10**9), writer(hnsw, ann_threshold=1000)]
    all_vecs = []
    for i in range(600):  # 2,400 chunks in one segment
        d, cs, _ = make_doc(i)
        v = centers[i % 50] + 0.5 * rng.standard_normal((len(cs), DIM)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        all_vecs.append(v)
        for w in ws:
            w.add(d, cs, v, toks(cs))
    for w in ws:
        w.commit()
        w.close()
    exact, approx = store.load(flat), store.load(hnsw)
    assert exact.vector_index == "exact (flat)" and approx.vector_index == "HNSW"
    vecs = np.concatenate(all_vecs)
    queries = vecs[rng.choice(len(vecs), 100, replace=False)]
    queries = queries + 0.3 * rng.standard_normal(queries.shape).astype(np.float32)
    hits = sum(len({k for k, _ in exact.dense(q, 10)} & {k for k, _ in approx.dense(q, 10)})
               for q in queries)
    assert hits / 1000 >= 0.98


CHILD = r"""
import sys, numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from pathlib import Path
from test_store import add, writer
from assistant import store
index = Path({index!r})
with store.locked(index):
    w = writer(index, max_segments=1000)
    i = 0
    while True:
        for _ in range(50):
            add(w, i, n=40)
            i += 1
        print("commit", i, flush=True)
        w.commit()
        print("committed", i, flush=True)
        if w.segment_count() >= 3:
            print("merge", flush=True)
            w.merge(everything=True)
            print("merged", flush=True)
"""


@pytest.mark.parametrize("during", ["commit", "merge"])
def test_kill_9_during_a_commit_or_a_merge_leaves_the_last_commit(tmp_path: Path, during: str):
    index = tmp_path / "index"
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), index=str(index))
    rng = random.Random(during)
    w = writer(index)
    for i in range(10):
        add(w, i, n=40)
    w.commit()
    w.close()
    for _ in range(4):
        before = store.generation(index)
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
        assert child.stdout is not None
        for line in child.stdout:
            if line.split()[0].decode() == during:
                break
        time.sleep(rng.uniform(0, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        # Whatever instant it died at, the last commit opens whole: every document's chunks
        # are searchable, and no key points nowhere.
        s = store.load(index)
        assert s.generation >= (before or 0)
        docs = list(s.documents)
        assert len(s) == 40 * len(docs) > 0
        for doc_id in random.Random(1).sample(docs, min(5, len(docs))):
            keys = s.keys_of([doc_id])
            d, cs, v = make_doc(int(doc_id[3:]), n=40)
            assert s.chunks(keys.tolist())[0].text == cs[0].text
            assert int(keys[0]) in {k for k, _ in s.dense(v[0], 5)}
        s.close()
    # The next writer removes what the killed ones left half-written.
    w = writer(index)
    w.close()
    live = {seg.folder.name for seg in store.load(index).segments}
    assert {p.name for p in index.iterdir() if p.name.startswith("seg-")} == live


@pytest.mark.parametrize("n", [1, 10, 100])
def test_top_n_with_skipped_common_terms_equals_the_full_ranking(tmp_path: Path, n: int,
                                                                  monkeypatch: pytest.MonkeyPatch):
    """bm25_top skips common terms' postings where they cannot matter (MaxScore with per-term
    bounds); its top n must be exactly the top n of scoring every chunk."""
    rng = random.Random(4)
    w = writer(tmp_path / "index", max_segments=100)
    zipf = [1 / (r + 1) for r in range(len(VOCAB))]
    for i in range(300):
        d, cs, v = make_doc(i, n=3)
        texts = [" ".join(rng.choices(VOCAB, weights=zipf, k=rng.randint(5, 30))) for _ in cs]
        text = "\n\n".join(texts)
        d = Document(**{**d.__dict__, "text": text})
        pos, new = 0, []
        for c, t in zip(cs, texts, strict=True):
            new.append(Chunk(**{**c.__dict__, "text": t, "start": pos, "end": pos + len(t),
                                "spans": ((pos, pos + len(t)),)}))
            pos += len(t) + 2
        w.add(d, new, v, toks(new))
        if i % 100 == 99:
            w.commit()
    w.remove("doc5")
    w.commit()
    w.close()
    s = store.load(tmp_path / "index")
    skipped = 0
    for _ in range(60):
        # Rare words (the tail of the Zipf draw) with common ones, and common ones alone.
        words = rng.sample(VOCAB, rng.randint(1, 5)) if rng.random() < 0.7 else VOCAB[:3]
        q = ANALYZER.tokens(" ".join(words))
        keys, scores = s.bm25(q, 1.2, 0.75)
        want = sorted(zip(keys.tolist(), scores.tolist(), strict=True),
                      key=lambda kv: (-kv[1], kv[0]))[:n]
        got = s.bm25_top(q, 1.2, 0.75, n)
        skipped += bm25_skipped(s, q, n, monkeypatch)
        assert [k for k, _ in got] == [k for k, _ in want] or \
            [round(x, 4) for _, x in got] == [round(x, 4) for _, x in want]
        assert [x for _, x in got] == pytest.approx([x for _, x in want], rel=1e-5)
        pick = keys[::7]
        assert s.bm25_of(q, 1.2, 0.75, pick.tolist()) == pytest.approx(scores[::7], rel=1e-5)
    assert skipped > 0, "no query skipped a term's postings: the pruning was not exercised"


def bm25_skipped(s: store.LocalStore, q: list[str], n: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """1 if bm25_top added fewer postings to its accumulators than the query's terms have."""
    from assistant.store import topn

    added = []
    real = topn._accumulate
    with monkeypatch.context() as m:
        m.setattr(topn, "_accumulate", lambda i, rows, *a: (added.append(len(rows)), real(i, rows, *a))[1])
        s.bm25_top(q, 1.2, 0.75, n)
    postings = sum(len(r) for t, _ in s.scorer.terms(q, 1.2, 0.75) or [] for _, r, _ in t[1])
    return int(sum(added) < postings)


def test_top_n_when_every_query_word_is_common(tmp_path: Path):
    """Words in most chunks with varied counts and lengths: the split of common terms into
    their largest contributions and the rest must not lose a chunk that the rest lifts."""
    rng = random.Random(9)
    words = VOCAB[:6]
    w = writer(tmp_path / "index", max_segments=100)
    for i in range(400):
        d, cs, v = make_doc(i, n=1)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 40)))
        d = Document(**{**d.__dict__, "text": text})
        c = Chunk(**{**cs[0].__dict__, "text": text, "start": 0, "end": len(text),
                     "spans": ((0, len(text)),)})
        w.add(d, [c], v, toks([c]))
        if i % 150 == 149:
            w.commit()
    w.commit()
    w.close()
    s = store.load(tmp_path / "index")
    for _ in range(80):
        n = rng.choice([1, 2, 3, 5, 8])
        q = ANALYZER.tokens(" ".join(rng.sample(words, rng.randint(2, 4))))
        q += ["zeppelin"] * rng.randint(0, 1)  # a word no chunk has: no postings, no score
        keys, scores = s.bm25(q, 1.2, 0.75)
        want = sorted(zip(keys.tolist(), scores.tolist(), strict=True), key=lambda kv: (-kv[1], kv[0]))[:n]
        got = s.bm25_top(q, 1.2, 0.75, n)
        assert [x for _, x in got] == pytest.approx([x for _, x in want], rel=1e-5)
