"""Index updates through the real model and real files: stat-first change detection,
converting an index of the previous format, and citations of a document since removed."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from conftest import DOCS_SRC, SEED, assert_exact, make_assistant

from assistant import cli, store
from assistant.cite.records import turn_record
from assistant.errors import IndexMismatchError
from assistant.indexing import update as indexer

SEED_Q = "Who carried out the review?"


def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    (docs / "boat.txt").write_text("The ferry to Lundy leaves at nine and is painted red.\n",
                                   encoding="utf-8")
    return docs


def test_stat_first_change_detection(tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch):
    docs = folder(tmp_path)
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    reads: list[str] = []
    real_read = indexer.read_file

    def counting(path: Path, docs_dir: Path) -> bytes:
        reads.append(path.name)
        return real_read(path, docs_dir)

    monkeypatch.setattr(indexer, "read_file", counting)
    # Nothing changed: no file is even read.
    assert a.index().summary() == "added 0, updated 0, removed 0, unchanged 2"
    assert reads == []
    # Touched without a change: read and hashed once, found unchanged, nothing embedded ...
    boat = docs / "boat.txt"
    st = boat.stat()
    os.utime(boat, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    report = a.index()
    assert (report.unchanged, report.updated, report.embedded, reads) == (2, 0, 0, ["boat.txt"])
    # ... and its new stat recorded, so the next run does not read it again.
    reads.clear()
    assert a.index().unchanged == 2 and reads == []
    # Changed with the same size (and the mtime moved on, as any edit does): updated.
    boat.write_text(boat.read_text(encoding="utf-8").replace("red.", "tan."), encoding="utf-8")
    assert boat.stat().st_size == st.st_size
    report = a.index()
    assert (report.updated, report.unchanged, report.embedded) == (1, 1, 1)
    answer = a.ask("What colour is the ferry to Lundy painted?")
    assert "tan" in answer.text and "red" not in answer.text
    assert_exact(a, answer)


def write_old_format(src: store.LocalStore, index: Path) -> None:
    """The layout main wrote before segments: CURRENT + gen-*/ (manifest, FAISS, JSONL)."""
    import faiss

    gen = index / "gen-20260101000000-0000abcd"
    gen.mkdir(parents=True)
    docs = [src.document(d) for d in src.documents]
    chunks = [c for d in docs for c in src.document_chunks(d.doc_id)]
    vecs = np.concatenate([src.vectors(src.keys_of([d.doc_id]).tolist()) for d in docs])
    dense = faiss.IndexIDMap2(faiss.IndexFlatIP(vecs.shape[1]))
    dense.add_with_ids(vecs, np.array([int(c.chunk_id[:15], 16) for c in chunks], dtype=np.int64))
    faiss.write_index(dense, str(gen / "dense.faiss"))
    (gen / "chunks.jsonl").write_text("".join(json.dumps(c.to_dict()) + "\n" for c in chunks))
    (gen / "documents.jsonl").write_text("".join(json.dumps(asdict(d)) + "\n" for d in docs))
    m = {k: v for k, v in src.manifest.items() if k != "lexical"}
    (gen / "manifest.json").write_text(json.dumps({**m, "format_version": 1, "files": {}}))
    (index / "CURRENT").write_text(gen.name + "\n")


def test_index_of_the_previous_format_is_converted_without_embedding(tmp_path: Path, embedder,
                                                                     capsys):
    docs = folder(tmp_path)
    a = make_assistant(tmp_path / "new", embedder, docs)
    a.index()
    old = tmp_path / "old"
    write_old_format(a.answerer.retriever().store, old)
    # Readers say what to do.
    with pytest.raises(IndexMismatchError, match=r"older version.*`assistant index`.*--rebuild"):
        make_assistant(old, embedder, docs).answerer.retriever()
    rc = cli.main(["ask", SEED_Q, "--index", str(old)])
    assert rc == 1 and "assistant index --rebuild" in capsys.readouterr().err
    # `assistant index` converts it: the vectors are kept, nothing is embedded.
    b = make_assistant(old, embedder, docs)
    report = b.index()
    assert (report.unchanged, report.embedded) == (2, 0)
    assert not (old / "CURRENT").exists() and not list(old.glob("gen-*"))
    answer = b.ask(SEED_Q)
    assert answer.found and "Steve Ashley" in answer.text
    assert_exact(b, answer)
    assert b.index().summary() == "added 0, updated 0, removed 0, unchanged 2"


def test_citation_of_a_document_removed_since_says_so(tmp_path: Path, embedder):
    docs = folder(tmp_path)
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    answer = a.ask("When does the ferry to Lundy leave?")
    cited = answer.citations[0].chunk.doc_id
    (docs / "boat.txt").unlink()
    assert a.index().removed == 1
    assert a.answerer.document(cited) is None
    record = turn_record(answer, a.answerer.retriever().store.documents)  # the chat re-renders it
    assert record.citations[0].quote == answer.citations[0].quote
    assert record.citations[0].before == "" == record.citations[0].after


def test_optimize_merges_segments_and_keeps_answers(tmp_path: Path, embedder, capsys):
    docs = folder(tmp_path)
    index = tmp_path / "index"
    a = make_assistant(index, embedder, docs)
    a.index()
    (docs / "owl.txt").write_text("The tawny owl nests in hollow beech trees.\n", encoding="utf-8")
    a.index()
    assert len(a.answerer.retriever().store.segments) == 2
    rc = cli.main(["index", "--docs", str(docs), "--index", str(index), "--optimize"])
    out = capsys.readouterr().out
    assert rc == 0 and "vector index: exact (flat); merged 2 segments into one" in out
    assert len(a.answerer.retriever().store.segments) == 1
    answer = a.ask("Where does the tawny owl nest?")
    assert "beech" in answer.text
    assert_exact(a, answer)


def test_sentence_vectors_from_the_indexer_are_stored_per_document(tmp_path: Path, embedder):
    """The answer step's sentence vectors are made at index time, stored with each document
    and replaced when the document changes."""
    from assistant.embed.sentences import find, sentence_table

    docs = folder(tmp_path)
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    st = a.answerer.retriever().store
    boat = next(d for d, _, source in st.listing() if source.endswith("boat.txt"))
    doc = st.document(boat)
    stored = st.sentence_vectors(boat)
    assert stored is not None
    spans, vecs = stored
    first = "The ferry to Lundy leaves at nine and is painted red."
    start = doc.text.index(first)
    row = find(stored, start, start + len(first))
    assert row is not None and vecs.dtype == np.float16
    chunks = [c for c in st.iter_chunks() if c.doc_id == boat]
    want = sentence_table(doc, chunks, embedder)  # the same pass, run again
    np.testing.assert_array_equal(want[0], spans)
    assert abs(float(np.linalg.norm(vecs[row].astype(np.float32))) - 1.0) < 1e-2
    (docs / "boat.txt").write_text(doc.text + "\nThe harbour master rings a bell at noon.\n",
                                   encoding="utf-8")
    a.index()
    st = a.answerer.retriever().store
    changed = st.sentence_vectors(boat)
    text = st.document(boat).text
    assert changed is not None
    assert any(text[s:e] == "The harbour master rings a bell at noon." for s, e in changed[0])
