"""One immutable segment folder: FAISS vectors and BM25 term frequencies for a set of chunks.

Files (plain numpy arrays and a FAISS index, memory-mapped on open)::

    vectors.faiss  IndexFlatIP (exact) or IndexHNSWFlat, rows in key order
    keys.npy       int64 chunk keys, ascending: row -> key
    doclen.npy     int32 BM25 length of each row (tokens; an empty chunk counts 1, as in bm25s)
    terms.npy      int64 64-bit hashes of the segment's terms, ascending
    indptr.npy     int64 postings of term i are [indptr[i], indptr[i+1])
    rows.npy       int32 posting rows;  tf.npy  float32 term frequency in that row

A segment is written completely and fsynced before a commit names it; it is
never changed afterwards, only dropped after a merge or when all its rows are deleted.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError

ARRAYS = ("keys", "doclen", "terms", "indptr", "rows", "tf")
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
VERIFY_BYTES = 64 << 20  # segments up to this size are checksummed when first opened
# np.load parses the .npy header with ast.literal_eval, which on CPython 3.11 fails with
# "SystemError: AST constructor recursion depth mismatch" when two threads do it at once.
_NPY_HEADER = threading.Lock()
REBUILD_HINT = "run `assistant index --rebuild` (or `make index`) to build it again"


def term_hash(terms: Sequence[str]) -> np.ndarray:
    """Stable 64-bit hashes of terms (blake2b), as int64."""
    out = np.empty(len(terms), dtype=np.uint64)
    for i, t in enumerate(terms):
        out[i] = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
    return out.view(np.int64)


def postings(tokens: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """Term-frequency arrays (see the module doc) for tokenised rows."""
    vocab: dict[str, int] = {}
    ids: list[int] = []
    lengths = np.empty(len(tokens), dtype=np.int32)
    for r, toks in enumerate(tokens):
        toks = toks or ["\x00"]  # bm25s indexes an empty chunk as one placeholder token
        lengths[r] = len(toks)
        ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
    hashes = term_hash(list(vocab))
    order = np.argsort(hashes, kind="stable")
    terms = hashes[order]
    if len(terms) > 1 and np.any(terms[1:] == terms[:-1]):
        raise RuntimeError("two terms share a 64-bit hash; rebuild with another corpus split")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    row_of = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
    n = max(len(tokens), 1)
    pairs, tf = np.unique(rank[np.asarray(ids, dtype=np.int64)] * n + row_of, return_counts=True)
    term_of = pairs // n
    indptr = np.searchsorted(term_of, np.arange(len(terms) + 1)).astype(np.int64)
    return {"doclen": lengths, "terms": terms, "indptr": indptr,
            "rows": (pairs % n).astype(np.int32), "tf": tf.astype(np.float32)}


def write(folder: Path, keys: np.ndarray, vectors: np.ndarray, lexical: dict[str, np.ndarray],
          kind: str) -> dict[str, Any]:
    """Write a segment folder and fsync it; returns its file table (sizes and CRC-32s)."""
    import faiss

    folder.mkdir(parents=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    index: Any
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(folder / "vectors.faiss"))
    arrays = {"keys": np.asarray(keys, dtype=np.int64), **lexical}
    for name in ARRAYS:
        np.save(folder / f"{name}.npy", arrays[name], allow_pickle=False)
    files = {}
    for f in sorted(folder.iterdir()):
        with f.open("rb") as fh:
            os.fsync(fh.fileno())
        files[f.name] = {"bytes": f.stat().st_size, "crc32": _crc32(f)}
    fsync_dir(folder)
    return {"files": files, "length": int(lexical["doclen"].sum(dtype=np.int64))}


class Segment:
    """An open segment: arrays memory-mapped, FAISS index mapped (flat codes) on first use."""

    def __init__(self, folder: Path, rows: int, kind: str, info: dict[str, Any]) -> None:
        self.folder = folder
        self.rows = rows
        self.kind = kind
        self.length = int(info.get("length", 0))
        self._files: dict[str, Any] = info.get("files", {})
        self._index: Any = None
        self.arrays: dict[str, np.ndarray] = {}
        self.open()

    def _damaged(self, what: str) -> IndexCorruptError:
        return IndexCorruptError(f"{self.folder}: {what}; {REBUILD_HINT}")

    def open(self) -> None:
        """Check file sizes (and, for small segments, checksums); map the arrays."""
        total = 0
        for name in ("vectors.faiss", *(f"{a}.npy" for a in ARRAYS)):
            info = self._files.get(name)
            f = self.folder / name
            try:
                ok = isinstance(info, dict) and f.stat().st_size == info["bytes"]
            except OSError:
                ok = False
            if not ok:
                raise self._damaged(f"{name} is missing, truncated or changed")
            total += int(info["bytes"])  # type: ignore[index]
        if total <= VERIFY_BYTES:
            for name, info in self._files.items():
                try:
                    crc = _crc32(self.folder / name)
                except OSError:  # e.g. removed after a merge while we looked: load() retries
                    raise self._damaged(f"{name} is missing") from None
                if crc != info.get("crc32"):
                    raise self._damaged(f"{name} does not match its checksum")
        try:
            with _NPY_HEADER:
                self.arrays = {a: np.load(self.folder / f"{a}.npy", mmap_mode="r",
                                          allow_pickle=False) for a in ARRAYS}
        except (ValueError, OSError, EOFError) as exc:
            raise self._damaged(f"cannot be read ({exc})") from None
        a = self.arrays
        if not (len(a["keys"]) == len(a["doclen"]) == self.rows
                and len(a["indptr"]) == len(a["terms"]) + 1
                and len(a["rows"]) == len(a["tf"]) == (int(a["indptr"][-1]) if len(a["indptr"]) else 0)):
            raise self._damaged("its arrays disagree")
        if self.kind == "flat":
            self.index  # noqa: B018 - mapped at once: cheap, and damage shows on open

    @property
    def index(self) -> Any:
        if self._index is None:
            import faiss

            try:
                index = faiss.read_index(str(self.folder / "vectors.faiss"),
                                         faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
            except RuntimeError as exc:
                raise self._damaged(f"vectors.faiss cannot be read ({str(exc)[:200]})") from None
            if index.ntotal != self.rows:
                raise self._damaged("vectors.faiss holds another number of vectors")
            self._index = index
        return self._index

    @property
    def keys(self) -> np.ndarray:
        return self.arrays["keys"]

    def rows_of(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, mask): the rows of those `keys` that are in this segment."""
        k = self.keys
        if not len(k) or not len(keys):
            return np.zeros(0, dtype=np.int64), np.zeros(len(keys), dtype=bool)
        pos = np.clip(np.searchsorted(k, keys), 0, len(k) - 1)
        hit = k[pos] == keys
        return pos[hit], hit

    def search(self, q: np.ndarray, n: int, allowed: np.ndarray | None,
               deleted: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the n nearest rows; `allowed` rows only, never `deleted` ones."""
        import faiss

        if allowed is not None:
            # A few chosen documents: exact, whatever the index (HNSW with a selective filter
            # would miss rows).
            sims = self.reconstruct(allowed) @ q[0]
            top = np.argsort(-sims, kind="stable")[:n]
            return sims[top], np.asarray(allowed)[top]
        sel: Any = None
        keep: list[Any] = []  # the selectors must outlive the search
        if deleted is not None and len(deleted):
            inner = faiss.IDSelectorBatch(np.ascontiguousarray(deleted, dtype=np.int64))
            keep.append(inner)
            sel = faiss.IDSelectorNot(inner)
        if self.kind == "hnsw":
            params: Any = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = max(HNSW_EF_SEARCH, n)
            if sel is not None:
                params.sel = sel
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None  # type: ignore[call-arg]
        try:
            scores, rows = self.index.search(q, min(n, self.rows), params=params)
        except RuntimeError as exc:
            raise self._damaged(f"vectors.faiss cannot be searched ({str(exc)[:200]})") from None
        ok = rows[0] >= 0
        return scores[0][ok], rows[0][ok]

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64)))

    def term(self, h: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, tf) of the term with hash `h`, or None."""
        terms = self.arrays["terms"]
        i = int(np.searchsorted(terms, h))
        if i >= len(terms) or int(terms[i]) != h:
            return None
        a, b = int(self.arrays["indptr"][i]), int(self.arrays["indptr"][i + 1])
        return np.asarray(self.arrays["rows"][a:b]), np.asarray(self.arrays["tf"][a:b])


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            crc = zlib.crc32(block, crc)
    return crc


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
