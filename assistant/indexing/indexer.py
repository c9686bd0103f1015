"""Writing the index: the one object that does (folder updates, documents, uploads, merges).

Questions are answered elsewhere (answer.Answerer), from whatever generation the
indexer last committed. An update on Ray (`assistant index --ray`) goes
through ray.py, which gives each worker its own model and chunker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import store
from ..cite.corrections import save_correction
from ..config import Settings
from ..embed import Embedder, load_embedder
from ..errors import IngestError
from ..ingest import load_document, source_of, upload
from ..text.analyzer import Analyzer
from ..types import Chunk, Document, IndexReport, Skipped
from . import update
from .chunk import Chunker
from .ray import update_folder as update_on_ray
from .update import Progress
from .writer import open_writer

log = logging.getLogger(__name__)


class Indexer:
    """Brings the index up to date and stores uploads; the only writer of the index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 analyzer: Analyzer | None = None) -> None:
        self.settings = settings
        self.analyzer = analyzer or Analyzer.of(settings)  # BM25 tokens of the chunks
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (a folder with no change loads none)."""
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)  # one per process and settings
        return self._embedder

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        return store.expected(self.settings, self.embedder)

    def index(
        self,
        docs_dir: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        ray: str | None = None,
    ) -> IndexReport:
        """Bring the index up to date with `docs_dir`: embed only what is new or changed.

        `ray` ("local" for a cluster on this machine, or a cluster's address) parses and
        embeds on Ray (ray.py) instead of in this process."""
        t0 = time.perf_counter()
        folder = Path(docs_dir or self.settings.docs_dir)
        if ray is not None:
            report = update_on_ray(self, folder, None if ray == "local" else ray, rebuild,
                                   progress)
        else:
            report = update.update_folder(self, folder, rebuild, progress)
        report = replace(report, seconds=time.perf_counter() - t0)
        log.info("%s (%d chunks, %.1f s)", report.summary(), report.chunks, report.seconds)
        return report

    def index_documents(
        self, documents: Sequence[Document], progress: Progress | None = None
    ) -> IndexReport:
        """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus).

        Documents that changes.reusable finds unchanged (same doc_id, path,
        content_hash and title) keep their chunks and vectors; the rest are
        chunked and embedded.
        """
        t0 = time.perf_counter()
        report = update.update_documents(self, documents, progress)
        return replace(report, seconds=time.perf_counter() - t0)

    def optimize(self) -> int:
        """Merge all segments into one (dropping deleted rows); returns how many were merged."""
        with store.locked(self.settings.index_dir, self.settings.lock_timeout):
            writer = open_writer(self, False, None)
            try:
                return writer.merge(everything=True)
            finally:
                writer.close()

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks of a document, sized so that title + text fit the model's window."""
        s = self.settings
        return Chunker(self.embedder, s.chunk_tokens, s.chunk_overlap, s.embed_titles)(doc)

    def save_reference(self, doc: Document, fields: dict[str, Any]) -> None:
        """Save the user's corrections to a document's reference (references.json beside the
        documents; they survive re-indexing)."""
        save_correction(doc, fields)

    def add_files(
        self,
        files: Sequence[tuple[Path, str]],
        progress: Progress | None = None,
    ) -> upload.UploadReport:
        """Copy uploaded files into the documents folder, then update the index incrementally.

        `files` holds (temporary path, name the user gave) pairs. Each file is
        checked (type, size, readable by its loader) before it is stored under
        `<docs_dir>/uploads/`; files that fail are reported in `skipped` with the
        reason, and the rest still go in.
        """
        docs_dir = Path(self.settings.docs_dir)
        skipped: list[Skipped] = []
        accepted: list[tuple[Path, bytes]] = []
        renamed: list[str] = []
        taken: set[Path] = set()
        for path, name in files:
            label = upload.safe_name(name)
            try:
                dest = upload.destination(docs_dir, name, taken)
                data = upload.read(Path(path), label, self.settings.max_upload_mb)
                load_document(dest, docs_dir, data)  # refuse what the index could not read
            except IngestError as exc:
                skipped.append(Skipped(label, exc.reason))
                continue
            taken.add(dest)
            accepted.append((dest, data))
            if dest.name != label:
                renamed.append(f"{label} is already in {upload.UPLOAD_DIR}/; both are kept, "
                               f"the new one as {dest.name}")
        if not accepted:
            return upload.UploadReport(skipped=tuple(skipped))
        for dest, data in accepted:
            upload.write(dest, data)
        report = self.index(docs_dir, progress=progress)
        added = tuple(source_of(dest, docs_dir) for dest, _ in accepted)
        skipped += [s for s in report.skipped if s.source in added]
        return upload.UploadReport(added=added, skipped=tuple(skipped), index=report,
                                   renamed=tuple(renamed))
