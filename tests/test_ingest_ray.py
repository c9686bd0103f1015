"""`assistant index --ray`: a real local Ray cluster (2 CPUs), the real model, real files.

One Ray start (~20-40 s on 2 cores) covers an update: files added, changed,
removed, unreadable and merely touched, against the plain loop over the same folder.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_assistant

from assistant import store
from assistant.indexing import ray as ingest_ray

TIMEOUT_S = 300


@pytest.fixture
def alarm():
    """Fail instead of hanging if the cluster stalls (a starved actor waits silently)."""
    def stop(*_):
        raise TimeoutError(f"the Ray pipeline did not finish in {TIMEOUT_S} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def contents(index: Path) -> dict[str, tuple[str, np.ndarray]]:
    """chunk_id -> (text, vector) of everything in a local index."""
    s = store.load(index)
    try:
        out = {}
        for doc_id, _, _ in s.listing():
            chunks = s.document_chunks(doc_id)
            vectors = s.vectors(s.keys_of([doc_id]).tolist())
            out.update({c.chunk_id: (c.text, v) for c, v in zip(chunks, vectors, strict=True)})
        return out
    finally:
        s.close()


@pytest.mark.slow
def test_ray_update_gives_the_local_paths_report_chunks_and_vectors(
        tmp_path: Path, embedder, docs_copy: Path, alarm):
    ray_a = make_assistant(tmp_path / "ray-index", embedder, docs_copy)
    ray_a.index(docs_copy)  # the first build by the plain loop; Ray does the update
    (docs_copy / "steam-engine.md").write_text("# Kettles\n\nA kettle boils water for tea.\n",
                                               encoding="utf-8")
    (docs_copy / "amazon-rainforest.html").unlink()
    (docs_copy / "notes.txt").write_text("The harbour master logs every boat at dawn.\n",
                                         encoding="utf-8")
    (docs_copy / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    touched = docs_copy / "rotherham-cse-review.txt"
    os.utime(touched, ns=(time.time_ns(), time.time_ns()))  # stat changed, content did not

    report = ingest_ray.update_folder(ray_a.indexer, docs_copy, None, False, cpus=2)

    local_a = make_assistant(tmp_path / "local-index", embedder, docs_copy)
    want = local_a.index(docs_copy)  # the same folder by the plain loop, from scratch
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 3)
    changed = [d for d, _, src in local_a.answerer.listing() if src.endswith(("notes.txt", "steam-engine.md"))]
    assert report.embedded == len(local_a.answerer.retriever().store.keys_of(changed)) > 0
    assert [(s.source, s.reason) for s in report.skipped] == \
        [(s.source, s.reason) for s in want.skipped] and report.skipped
    assert report.chunks == want.chunks
    got, expected = contents(tmp_path / "ray-index"), contents(tmp_path / "local-index")
    assert got.keys() == expected.keys()
    for cid, (text, vector) in expected.items():
        assert got[cid][0] == text
        assert float(got[cid][1] @ vector) >= 0.999
    for doc_id in changed:  # the sentence tables made in the actors' model pass
        (sa, va), (sb, vb) = (ray_a.answerer.retriever().store.sentence_vectors(doc_id),
                              local_a.answerer.retriever().store.sentence_vectors(doc_id))
        assert np.array_equal(sa, sb) and len(sa)
        assert np.allclose(va.astype(np.float32), vb.astype(np.float32), atol=2e-3)
    hits = ray_a.answerer.search("kettle boils water", k=1)
    assert hits[0].chunk.source.endswith("steam-engine.md")
