"""The one place the two halves are wired together: an Indexer that writes the index and an
Answerer that only reads it, over the same settings and model.

`Assistant` is the entry point of the CLI, the web chat and the evaluation:
`index()` and `ask()` for the common case, and the two halves as attributes
for everything else (`assistant.indexer.add_files`, `assistant.answerer.search`).
The chat hands its question handlers `assistant.answerer` alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from .answer import Answerer
from .config import Settings
from .embed import Embedder
from .indexing import Indexer, Progress
from .text.analyzer import Analyzer
from .types import Answer, IndexReport

__all__ = ["Assistant", "Progress"]


class Assistant:
    """An Indexer and an Answerer over one index; thread-safe for asking.

    Without an `embedder`, both halves load the settings' model on first use (one per
    process, shared); a folder with no change, or a question, loads only what it needs.
    Both get the one Analyzer the settings name, so BM25, answers and verification read
    words alike.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.analyzer = Analyzer.of(settings)
        self.indexer = Indexer(settings, embedder, self.analyzer)
        self.answerer = Answerer(settings, embedder, self.analyzer)

    def index(self, docs_dir: Path | None = None, rebuild: bool = False,
              progress: Progress | None = None, ray: str | None = None) -> IndexReport:
        """Bring the index up to date with `docs_dir` (default: the settings' folder)."""
        return self.indexer.index(docs_dir, rebuild, progress, ray)

    def ask(self, question: str, k: int | None = None, doc_ids: Collection[str] | None = None,
            history: Sequence[tuple[str, str]] | None = None,
            generator: str | None = None) -> Answer:
        """Answer a question with verbatim, numbered citations (see Answerer.ask)."""
        return self.answerer.ask(question, k, doc_ids, history, generator)
