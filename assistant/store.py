"""The on-disk index: FAISS vectors, BM25, chunk and document tables, manifest.

Layout of an index folder (nothing is pickled)::

    CURRENT            name of the live generation, replaced atomically
    .lock              held while a build runs
    gen-<id>/          one complete index
        manifest.json  format version, model, dimension, chunking, documents, file hashes
        dense.faiss    IndexIDMap2(IndexFlatIP) of L2-normalised float32 vectors
        chunks.jsonl   one Chunk per line, in FAISS id order of insertion
        documents.jsonl  one Document per line (its text, for exact quotes)
        lexical/       bm25s arrays + vocabulary (JSON/npy)
        sentences/     sentence vectors of each document (sentences.py; npy + JSON)

A build writes a new generation beside the live one and switches CURRENT by
rename, so a crash mid-build leaves the previous index loadable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexLockedError, IndexMismatchError, IndexMissingError
from .sentences import Table, Tables, write_tables
from .types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
REBUILD_HINT = "run `assistant index --rebuild` (or `make index`) to build it again"
REQUIRED_FILES = ("dense.faiss", "chunks.jsonl", "documents.jsonl")


def faiss_id(chunk_id: str) -> int:
    """A stable 60-bit FAISS id from the chunk's content-hash id."""
    return int(chunk_id[:15], 16)


@contextlib.contextmanager
def locked(index_dir: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold the index's write lock; a second writer waits, then gives up with a reason."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another `assistant index` is writing %s; waiting up to %.0f s for it",
                    index_dir, timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexLockedError(
                f"{index_dir} is being written by another `assistant index` (waited "
                f"{timeout:.0f} s); let it finish and try again, or wait longer with "
                "--wait SECONDS / ASSISTANT_LOCK_TIMEOUT"
            ) from None
    try:
        yield
    finally:
        lock.release()


class Store:
    """A loaded index: chunks, documents, FAISS and BM25, ready to search."""

    def __init__(
        self,
        manifest: dict[str, Any],
        documents: dict[str, Document],
        chunks: list[Chunk],
        dense: Any,
        lexical: Any,
        path: Path | None = None,
        sentences: Tables | None = None,
    ) -> None:
        self.manifest = manifest
        self.sentences = sentences
        self.documents = documents
        self.chunks = chunks
        self.dense = dense  # faiss.IndexIDMap2
        self.lexical = lexical  # bm25s.BM25, rows aligned with self.chunks
        self.path = path
        self.row_of_id = {faiss_id(c.chunk_id): i for i, c in enumerate(chunks)}

    def __len__(self) -> int:
        return len(self.chunks)

    def vectors(self) -> dict[str, np.ndarray]:
        """chunk_id -> stored vector, so unchanged chunks are not embedded again."""
        n = self.dense.ntotal
        if n == 0:
            return {}
        import faiss

        ids = faiss.vector_to_array(self.dense.id_map)
        xb = self.dense.index.reconstruct_n(0, n)
        by_id = dict(zip(ids.tolist(), xb, strict=True))
        return {c.chunk_id: by_id[faiss_id(c.chunk_id)] for c in self.chunks
                if faiss_id(c.chunk_id) in by_id}

    def sentence_vectors(self, doc_id: str) -> Table | None:
        """(spans int64 (n, 2), vectors float16 (n, dim)) of a document's sentences, if stored."""
        return self.sentences.get(doc_id) if self.sentences is not None else None

    def document(self, doc_id: str) -> Document:
        return self.documents[doc_id]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(
    index_dir: Path,
    manifest: dict[str, Any],
    documents: list[Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    lexical: Any,
    sentences: Mapping[str, Table] | None = None,
) -> Path:
    """Write a new generation and make it current. Call inside `locked(index_dir)`."""
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    gen.mkdir()
    dim = int(manifest["dim"])
    dense = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(chunks):
        ids = np.array([faiss_id(c.chunk_id) for c in chunks], dtype=np.int64)
        dense.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    faiss.write_index(dense, str(gen / "dense.faiss"))
    _write_jsonl(gen / "chunks.jsonl", (c.to_dict() for c in chunks))
    _write_jsonl(gen / "documents.jsonl", (asdict(d) for d in documents))
    lexical.save(str(gen / "lexical"), show_progress=False)
    if sentences is not None:
        write_tables(gen / "sentences", sentences)
    manifest = dict(manifest)
    manifest["format_version"] = FORMAT_VERSION
    manifest["chunks"] = len(chunks)
    manifest["files"] = {
        f.relative_to(gen).as_posix(): {"bytes": f.stat().st_size, "sha256": _sha256(f)}
        for f in sorted(gen.rglob("*")) if f.is_file()
    }
    with (gen / "manifest.json").open("w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(gen)
    tmp = index_dir / f"{CURRENT}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.write_text(gen.name + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / CURRENT)  # the atomic switch
    _fsync_dir(index_dir)
    cleanup(index_dir)
    return gen


def cleanup(index_dir: Path) -> None:
    """Remove generations and temporary files that CURRENT does not name (e.g. after a crash)."""
    live = current_generation(index_dir)
    for entry in index_dir.iterdir():
        stale_gen = entry.name.startswith("gen-") and (live is None or entry != live)
        stale_tmp = entry.name.startswith(f"{CURRENT}.tmp-")
        if stale_gen:
            shutil.rmtree(entry, ignore_errors=True)
        elif stale_tmp:
            entry.unlink(missing_ok=True)


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not name.startswith("gen-") or "/" in name or "\\" in name:
        raise IndexCorruptError(f"{pointer} is damaged; {REBUILD_HINT}")
    return index_dir / name


def exists(index_dir: Path) -> bool:
    gen = current_generation(index_dir)
    return gen is not None and (gen / "manifest.json").is_file()


def read_manifest(index_dir: Path) -> dict[str, Any]:
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(
            f"no index in {index_dir}; run `assistant index` (or `make index`) first"
        )
    try:
        with (gen / "manifest.json").open(encoding="utf-8") as f:
            manifest: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        raise IndexCorruptError(f"{gen}/manifest.json is missing; {REBUILD_HINT}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{gen}/manifest.json is damaged ({exc}); {REBUILD_HINT}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{gen}/manifest.json is damaged (not an object); {REBUILD_HINT}")
    return manifest


def check_compatible(manifest: dict[str, Any], expected: dict[str, Any]) -> None:
    """Raise IndexMismatchError if the index was built with other settings."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    for key in ("model", "dim", "max_seq_length", "chunking"):
        if key in expected and manifest.get(key) != expected[key]:
            raise IndexMismatchError(
                f"the index was built with {key}={manifest.get(key)!r} but the settings say "
                f"{expected[key]!r}; {REBUILD_HINT} with the new settings"
            )


def load(index_dir: Path, expected: dict[str, Any] | None = None) -> Store:
    """Load the live generation, verifying it against its manifest and `expected`."""
    for attempt in range(3):
        gen = current_generation(index_dir)
        try:
            return _load(index_dir, expected)
        except (FileNotFoundError, IndexCorruptError) as exc:
            # A writer may have switched generations, and removed the one we were
            # reading, in the meantime: then read the new one. Otherwise it is damage.
            if attempt == 2 or current_generation(index_dir) == gen:
                if isinstance(exc, FileNotFoundError):
                    raise IndexCorruptError(f"{exc.filename} is missing; {REBUILD_HINT}") from None
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _load(index_dir: Path, expected: dict[str, Any] | None) -> Store:
    import bm25s
    import faiss

    manifest = read_manifest(index_dir)
    if expected is not None:
        check_compatible(manifest, expected)
    gen = current_generation(index_dir)
    assert gen is not None
    files = manifest.get("files")
    if not isinstance(files, dict) or not set(REQUIRED_FILES) <= set(files):
        # Without checksums nothing below could be trusted to read safely.
        raise IndexCorruptError(f"{gen}/manifest.json does not list the index files; {REBUILD_HINT}")
    for name, info in files.items():
        f = gen / name
        try:
            ok = f.is_file() and f.stat().st_size == info["bytes"] and _sha256(f) == info["sha256"]
        except (KeyError, TypeError, OSError):  # a damaged entry in the manifest
            ok = False
        if not ok:
            raise IndexCorruptError(f"{f} is missing, truncated or changed; {REBUILD_HINT}")
    try:
        dense = faiss.read_index(str(gen / "dense.faiss"))
        chunks = [Chunk.from_dict(r) for r in _read_jsonl(gen / "chunks.jsonl")]
        documents = {}
        for r in _read_jsonl(gen / "documents.jsonl"):
            for key in ("page_starts", "headings", "skip_spans", "notes"):
                r[key] = tuple(tuple(x) if isinstance(x, list) else x for x in r.get(key, ()))
            documents[r["doc_id"]] = Document(**r)
        lexical = bm25s.BM25.load(str(gen / "lexical"), show_progress=False)
        # An index from before sentence tables has none: the answer step embeds instead.
        sentences = Tables(gen / "sentences") if (gen / "sentences").is_dir() else None
    except (RuntimeError, ValueError, KeyError, TypeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise IndexCorruptError(f"cannot read the index in {gen} ({exc}); {REBUILD_HINT}") from None
    if dense.ntotal != len(chunks) or manifest.get("chunks") != len(chunks):
        raise IndexCorruptError(f"{gen}: vectors and chunks disagree; {REBUILD_HINT}")
    return Store(manifest, documents, chunks, dense, lexical, path=gen, sentences=sentences)


def _write_jsonl(path: Path, records: Any) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
