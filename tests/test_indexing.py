"""Indexing and answering apart: one reuse rule for folders and documents, an answerer that
only reads the index."""

from __future__ import annotations

from pathlib import Path

from conftest import make_assistant

from assistant.indexing.changes import reusable
from assistant.store import Known
from assistant.types import Document


def test_one_reuse_rule_same_path_hash_and_title():
    prev = Known(path="/d/a.txt", size=10, mtime_ns=1, content_hash="h", title="A")
    assert reusable(prev, "/d/a.txt", "h", "A")
    assert reusable(prev, "/d/a.txt", "h")  # a file before parsing: title follows from bytes
    assert not reusable(None, "/d/a.txt", "h", "A")  # not indexed yet
    assert not reusable(prev, "/e/a.txt", "h", "A")  # moved
    assert not reusable(prev, "/d/a.txt", "g", "A")  # changed
    assert not reusable(prev, "/d/a.txt", "h", "B")  # retitled


def snapshot(index: Path) -> dict[str, tuple[int, int]]:
    """Each file's (size, mtime); SQLite's shared-memory file, which any reader opens, left out,
    and the write-ahead log only by its size (a reader creates it empty)."""
    return {str(p.relative_to(index)): (p.stat().st_size, 0 if p.name.endswith("-wal")
                                        else p.stat().st_mtime_ns)
            for p in sorted(index.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}


def test_documents_at_a_new_path_are_chunked_again_and_cite_it(tmp_path: Path, embedder):
    """index_documents uses the folder's rule: a document that moved gets chunks that cite
    its new path, not the old one."""
    a = make_assistant(tmp_path / "index", embedder, tmp_path)
    texts = {"d0": "The old mill on the river ground wheat for the village.\n",
             "d1": "The foundry in Whitechapel cast the great bell in 1858.\n"}
    docs = [Document(doc_id=d, source=f"docs/{d}.txt", path=f"/docs/{d}.txt", title=d.upper(),
                     text=t, format="txt", content_hash=f"hash of {d}") for d, t in texts.items()]
    assert a.indexer.index_documents(docs).embedded == 2
    moved = [docs[0], Document(**{**docs[1].__dict__, "path": "/archive/d1.txt"})]
    report = a.indexer.index_documents(moved)
    assert (report.updated, report.unchanged, report.embedded) == (1, 1, 1)
    hit = a.answerer.search("Whitechapel foundry bell", k=1)[0]
    assert hit.chunk.doc_id == "d1" and hit.chunk.path == "/archive/d1.txt"


def test_the_answerer_reads_and_never_writes(tmp_path: Path, embedder, docs_copy: Path):
    a = make_assistant(tmp_path / "index", embedder, docs_copy)
    a.index()
    before = snapshot(tmp_path / "index")
    reader = a.answerer  # what the chat's question handlers get
    answer = reader.ask("What did the review find?")
    assert answer.found and list(reader.ask_stream("What did the review find?"))[-1] == answer
    listing = reader.listing()
    assert [d.doc_id for d in reader.documents()] == [doc_id for doc_id, _, _ in listing]
    doc_id = listing[0][0]
    assert reader.document(doc_id) is not None and reader.reference(doc_id)
    assert reader.search("review", k=3) and reader.cited_documents(answer)
    after = snapshot(tmp_path / "index")
    assert after.pop("catalog.sqlite-wal", (0, 0)) == (0, 0)  # nothing written to the log
    assert after == {k: v for k, v in before.items() if not k.endswith("-wal")}
    assert not any(hasattr(reader, name) for name in ("index", "add_files", "optimize",
                                                      "save_reference", "index_documents"))
