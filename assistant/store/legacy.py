"""Reading an index written before segments (CURRENT + gen-*/), to convert it once.

Only its records and vectors are taken over (no re-embedding); the BM25 arrays
are rebuilt from the chunks' tokens by the caller.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from ..types import Chunk, Document
from .segment import REBUILD_HINT


def read(index_dir: Path) -> tuple[dict[str, Any], list[tuple[Document, list[Chunk], np.ndarray]]]:
    """The old manifest and (document, its chunks, their vectors) for every document."""
    import faiss

    gen = index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    if not gen.name.startswith("gen-") or gen.parent != index_dir or not gen.is_dir():
        raise IndexCorruptError(f"{index_dir}/CURRENT is damaged; {REBUILD_HINT}")
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        dense: Any = faiss.read_index(str(gen / "dense.faiss"))
        chunks = [Chunk.from_dict(json.loads(line)) for line in
                  (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        docs = []
        for line in (gen / "documents.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                for key in ("page_starts", "headings", "skip_spans", "notes"):
                    r[key] = tuple(tuple(x) if isinstance(x, list) else x for x in r.get(key, ()))
                docs.append(Document(**r))
        ids = faiss.vector_to_array(dense.id_map)
        xb = dense.index.reconstruct_n(0, dense.ntotal)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(f"the old index in {gen} cannot be read ({exc}); "
                                f"{REBUILD_HINT}") from None
    row = {int(i): r for r, i in enumerate(ids.tolist())}
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    out = []
    for d in docs:
        cs = by_doc.get(d.doc_id, [])
        vecs = np.stack([xb[row[int(c.chunk_id[:15], 16)]] for c in cs]) if cs else \
            np.zeros((0, xb.shape[1]), dtype=np.float32)
        out.append((d, cs, vecs))
    return manifest, out


def remove(index_dir: Path) -> None:
    """Delete the old format's files once the converted index is committed."""
    (index_dir / "CURRENT").unlink(missing_ok=True)
    for entry in index_dir.iterdir():
        if entry.name.startswith("gen-") or entry.name.startswith("CURRENT.tmp-"):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
