"""The one entry point that wires the two sides together: an Indexer that writes the index
and an Answerer that only reads it, sharing the settings and the loaded model.

The CLI, the evaluation, the benchmarks and the tests use `Assistant`; the chat
page hands its question handlers `assistant.answerer` alone and its uploads
`assistant.indexer`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import upload
from .answering import Answerer
from .config import Settings
from .embed import Embedder
from .indexing import Indexer, Progress
from .loaded import Loaded
from .retrieve import Retriever
from .types import Answer, Chunk, Document, Hit, IndexReport

__all__ = ["Assistant", "Progress"]


class Assistant:
    """An Indexer and an Answerer over one index; thread-safe for asking."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.loaded = Loaded(settings, embedder)
        self.indexer = Indexer(self.loaded)
        self.answerer = Answerer(self.loaded)

    @property
    def embedder(self) -> Embedder:
        return self.loaded.embedder

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        return self.loaded.expected()

    def has_index(self) -> bool:
        return self.answerer.has_index()

    # --- writing (Indexer) ----------------------------------------------------

    def index(self, docs_dir: Path | None = None, rebuild: bool = False,
              progress: Progress | None = None, ray: str | None = None) -> IndexReport:
        """Bring the index up to date with `docs_dir`: embed only what is new or changed
        (on Ray with `ray`: see Indexer.index)."""
        return self.indexer.index(docs_dir, rebuild, progress, ray)

    def index_documents(self, documents: Sequence[Document],
                        progress: Progress | None = None) -> IndexReport:
        """Make the index hold exactly `documents` (already loaded, e.g. a benchmark corpus)."""
        return self.indexer.index_documents(documents, progress)

    def optimize(self) -> int:
        """Merge all segments into one (dropping deleted rows); returns how many were merged."""
        return self.indexer.optimize()

    def chunk(self, doc: Document) -> list[Chunk]:
        return self.indexer.chunk(doc)

    def add_files(self, files: Sequence[tuple[Path, str]],
                  progress: Progress | None = None) -> upload.UploadReport:
        """Store uploaded files in the documents folder and index them (see Indexer.add_files)."""
        return self.indexer.add_files(files, progress)

    def save_reference(self, doc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Save the user's corrections to a document's reference; returns the item as it is now."""
        self.indexer.save_reference(self.answerer.retriever().store.documents[doc_id], fields)
        return self.answerer.reference(doc_id)

    # --- reading (Answerer) ---------------------------------------------------

    def retriever(self) -> Retriever:
        return self.answerer.retriever()

    def search(self, query: str, k: int | None = None,
               doc_ids: Collection[str] | None = None) -> list[Hit]:
        return self.answerer.search(query, k, doc_ids)

    def ask(self, question: str, k: int | None = None, doc_ids: Collection[str] | None = None,
            history: Sequence[tuple[str, str]] | None = None, generator: str | None = None,
            retriever: Retriever | None = None) -> Answer:
        """Answer a question with verbatim, numbered citations (see Answerer.ask)."""
        return self.answerer.ask(question, k, doc_ids, history, generator, retriever)

    def ask_stream(self, question: str, k: int | None = None,
                   doc_ids: Collection[str] | None = None,
                   history: Sequence[tuple[str, str]] | None = None,
                   generator: str | None = None,
                   retriever: Retriever | None = None) -> Iterator[Answer]:
        """Yield the answer as it grows (see Answerer.ask_stream)."""
        return self.answerer.ask_stream(question, k, doc_ids, history, generator, retriever)

    def cited_documents(self, answer: Answer) -> dict[str, Document]:
        return self.answerer.cited_documents(answer)

    def reference(self, doc_id: str) -> dict[str, Any]:
        return self.answerer.reference(doc_id)

    def documents(self) -> list[Document]:
        return self.answerer.documents()

    def listing(self) -> list[tuple[str, str, str]]:
        return self.answerer.listing()

    def document(self, doc_id: str) -> Document | None:
        return self.answerer.document(doc_id)
