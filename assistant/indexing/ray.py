"""`assistant index --ray [ADDRESS]`: parse, chunk and embed on a Ray cluster; the driver writes.

The driver lists the folder and decides by stat what changed (as indexer.py
does, with the same catalog); the files to read go through a Ray Data pipeline:

    paths -> parse (tasks, 0.5 CPU)  -> Document, or why it failed, or "same"
          -> chunk + embed (actors, 0.5 CPU, one model each) -> chunks, vectors,
             sentence table

and come back in order to the driver, which adds them to the configured store
(local or Milvus) and commits once: the same report as the local path. Ray is
for clusters: on one 2-core box it is slower than the plain loop (docs/SCALE.md).
The files must be readable at the same path on every node (a shared file system).
Under ASSISTANT_MODEL=auto the model stays the one the update starts with (the index's,
or MiniLM): every actor has loaded it before the driver sees a document's language, so a
document in another language is noted in the report instead of changing the model.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np

from .. import store
from ..config import Settings
from ..embed import load_embedder
from ..embed.choice import ModelSwitch
from ..embed.sentences import embed_with_sentences
from ..errors import AssistantError, IngestError
from ..ingest import file_hash, load_document, read_file, source_of
from ..ingest.base import DEFAULT_LIMITS, Limits
from ..types import Document, IndexReport
from .changes import FolderUpdate, folder_update
from .chunk import Chunker
from .update import Progress
from .writer import Setup, tokens

log = logging.getLogger(__name__)

PARSE_BATCH = 8  # files per parse task
EMBED_BATCH = 16  # documents per call to an embedding actor
OBJECT_STORE_MB = 256  # a local cluster's shared memory: batches are small


def parse(batch: dict[str, np.ndarray], docs_dir: str, limits: Limits = DEFAULT_LIMITS
          ) -> dict[str, np.ndarray]:
    """Read and parse a batch of files: a Document, "same" (only its stat changed) or a reason.
    Ray runs each task in a worker process of its own, within the page, OCR, zip and HTML
    budgets (`limits`)."""
    root = Path(docs_dir)
    docs, reasons = [], []
    for path, prev_hash in zip(batch["path"], batch["prev_hash"], strict=True):
        doc: Document | str | None = None
        reason = ""
        try:
            data = read_file(Path(path), root)
            if prev_hash and prev_hash == file_hash(data):
                doc = "same"
            else:
                doc = load_document(Path(path), root, data, limits)
        except IngestError as exc:
            reason = exc.reason
        except MemoryError:
            reason = "ran out of memory while reading it; not read"
        docs.append(doc)
        reasons.append(reason)
    return {**batch, "doc": _objects(docs), "reason": np.array(reasons, dtype=object)}


class Embed:
    """One model and one chunker per actor: chunks each new Document and embeds its chunks and
    sentences."""

    def __init__(self, settings: Settings) -> None:
        self.embedder = load_embedder(settings)  # once, before the first batch
        self.with_titles = settings.embed_titles
        self.chunk = Chunker(self.embedder, settings.chunk_tokens, settings.chunk_overlap,
                             settings.embed_titles)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        new = [d for d in batch["doc"] if isinstance(d, Document)]
        chunks = {d.doc_id: self.chunk(d) for d in new}
        flat = [c for d in new for c in chunks[d.doc_id]]
        vectors, tables = embed_with_sentences({d.doc_id: d for d in new}, flat, self.embedder,
                                               self.with_titles)
        out_chunks: list[Any] = []
        out_vectors: list[Any] = []
        out_tables: list[Any] = []
        row = 0
        for d in batch["doc"]:
            if isinstance(d, Document):
                n = len(chunks[d.doc_id])
                out_chunks.append(chunks[d.doc_id])
                out_vectors.append(vectors[row:row + n])
                out_tables.append(tables.get(d.doc_id))
                row += n
            else:
                out_chunks.append(None)
                out_vectors.append(None)
                out_tables.append(None)
        return {**batch, "chunks": _objects(out_chunks), "vectors": _objects(out_vectors),
                "table": _objects(out_tables)}


def _objects(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


@contextlib.contextmanager
def cluster(address: str | None, cpus: int | None = None) -> Iterator[None]:
    """Connect to the Ray cluster at `address`, or start a quiet local one (address None)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise AssistantError("`assistant index --ray` needs Ray: pip install 'assistant[ray]'") from None
    if address and address.startswith("ray://"):
        raise AssistantError(
            f"{address}: Ray Data does not run through a ray:// client; give the cluster's "
            "address (host:6379) and run `assistant index --ray` on a node of the cluster")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "error")
    for name in ("ray", "ray.data"):  # its INFO lines would bury the index report
        logging.getLogger(name).setLevel(logging.WARNING)
    tmp = None
    if address:
        # The cluster's Python needs the same dependencies; this package travels with the job.
        package = Path(__file__).resolve().parents[1]  # assistant/
        ray.init(address=address, log_to_driver=False, configure_logging=False,
                 runtime_env={"py_modules": [str(package)]})
    else:
        tmp = tempfile.mkdtemp(prefix="ray-")
        if len(tmp) > 40:  # Ray's socket paths under it must stay within 107 bytes
            os.rmdir(tmp)
            tmp = tempfile.mkdtemp(prefix="assistant-ray-", dir="/tmp")
        ray.init(num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False,
                 log_to_driver=False, configure_logging=False,
                 object_store_memory=OBJECT_STORE_MB << 20, _temp_dir=tmp)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # documents reach the writer in file order
        ctx.enable_progress_bars = False
        yield
    finally:
        ray.shutdown()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def update_folder(a: Setup, docs_dir: Path, address: str | None, rebuild: bool,
                  progress: Progress | None = None, cpus: int | None = None) -> IndexReport:
    """Bring the index up to date with `docs_dir`, parsing and embedding on Ray (`address`
    None: a local cluster of `cpus` CPUs, default all)."""
    settings = a.settings
    with folder_update(a, docs_dir, rebuild) as u:
        root = docs_dir.absolute()  # workers on other nodes see the same absolute paths
        todo = [{"path": str(root / path.relative_to(docs_dir)), "doc_id": doc_id, "size": st.st_size,
                 "mtime_ns": st.st_mtime_ns, "known": prev is not None,
                 "prev_hash": prev.content_hash if same_path and prev else ""}
                for path, doc_id, st, prev, same_path in u.todo]
        embedded = 0
        if todo:
            store.check_compatible(u.writer.manifest, a.expected())
            with cluster(address, cpus):
                import ray.data

                actors = max(1, int(ray.cluster_resources().get("CPU", 1)) - 1)
                ds = ray.data.from_items(todo).map_batches(
                    cast(Any, parse), fn_kwargs={"docs_dir": str(root), "limits": Limits.of(settings)},
                    batch_size=PARSE_BATCH, batch_format="numpy", num_cpus=0.5)
                ds = ds.map_batches(
                    Embed, fn_constructor_kwargs={"settings": settings.replace(onnx_threads=1)},
                    batch_size=EMBED_BATCH, batch_format="numpy", num_cpus=0.5,
                    compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors))
                for i, row in enumerate(ds.iter_rows()):
                    embedded += _take(a, u, row, root)
                    if progress is not None:
                        progress(i + 1, len(todo))
        removed = u.removed()
        for doc_id in removed:
            u.writer.remove(doc_id)
        u.writer.commit()
        return u.report(removed, embedded)


def _take(a: Setup, u: FolderUpdate, row: dict[str, Any], docs_dir: Path) -> int:
    """Hand one parsed and embedded file to the writer; returns the chunks it adds."""
    doc, doc_id = row["doc"], str(row["doc_id"])
    if doc == "same":
        u.unchanged(doc_id, int(row["size"]), int(row["mtime_ns"]))
        return 0
    if not isinstance(doc, Document):
        u.failed(doc_id, source_of(Path(row["path"]), docs_dir), str(row["reason"]),
                 bool(row["known"]))
        return 0
    try:
        a.admit(doc)
    except ModelSwitch as switch:  # every actor holds the model already: keep it, and say so
        if not any(n.startswith("ASSISTANT_MODEL=auto") for n in u.notes):
            u.notes.append(f"ASSISTANT_MODEL=auto kept {a.settings.model} on Ray, though "
                           f"{switch.reason}: index without --ray to choose {switch.model}, or "
                           f"set ASSISTANT_MODEL={switch.model} and --rebuild")
    u.loaded(doc_id, doc, bool(row["known"]))
    chunks = list(row["chunks"])
    u.writer.add(doc, chunks, np.asarray(row["vectors"], dtype=np.float32),
                 tokens(a, chunks, doc.language), int(row["size"]), int(row["mtime_ns"]),
                 row["table"])
    return len(chunks)
