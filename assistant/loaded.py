"""What the indexer and the answerer share: the settings and the embedding model, loaded once."""

from __future__ import annotations

import threading
from typing import Any

from .config import Settings
from .embed import Embedder, load_embedder


class Loaded:
    """The settings and the embedding model (loaded on first use); one per process."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:  # two threads asking at once load the model once
                if self._embedder is None:
                    self._embedder = load_embedder(self.settings)
        return self._embedder

    def expected(self) -> dict[str, Any]:
        """What an index must have been built with to be used with these settings."""
        e = self.embedder
        return {
            "model": self.settings.model,
            "dim": e.dim,
            "max_seq_length": e.max_seq_length,
            "chunking": self.settings.chunking(),
            "lexical": self.settings.lexical(),
        }
