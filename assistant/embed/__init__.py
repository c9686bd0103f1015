"""Embedders: the protocol (base.py), and the loader that picks an implementation.

The bundled MiniLM runs on ONNX Runtime (`onnx.py`) from a copy exported at
install time (`python -m assistant.embed.export`), so asking never imports
torch; indexing runs the same copy on OpenVINO when it is installed. Any other
model, or the bundled one when its ONNX copy is missing, runs on
sentence-transformers (`sentence_transformers.py`). Both give the same
vectors (cosine >= 0.999), so an index built by one serves the other.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from ..config import BUNDLED_MODEL, Settings
from ..errors import ModelLoadError
from .base import Embedder, SpanEmbedder, bundled_path, offline, pool_spans, resolve_model
from .onnx import OnnxEmbedder
from .sentence_transformers import SentenceTransformerEmbedder

__all__ = ["Embedder", "SpanEmbedder", "bundled_path", "load_embedder", "offline", "onnx_file",
           "pool_spans", "resolve_model"]

log = logging.getLogger(__name__)


ONNX_FILE = "all-MiniLM-L6-v2.onnx"


def onnx_file(settings: Settings) -> Path:
    """Where the bundled model's ONNX copy is: ASSISTANT_ONNX_DIR, else <venv>/share/assistant."""
    folder = settings.onnx_dir or Path(sys.prefix) / "share" / "assistant"
    return Path(folder) / ONNX_FILE


_CACHE: dict[tuple[object, ...], Embedder] = {}
_CACHE_LOCK = threading.Lock()


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
                _CACHE[key] = OnnxEmbedder(path, bundled_path(), name=settings.model,
                                           threads=settings.onnx_threads,
                                           batch_size=settings.batch_size,
                                           bulk=settings.index_runtime)
            else:
                _CACHE[key] = SentenceTransformerEmbedder(
                    settings.model, threads=settings.torch_threads,
                    batch_size=settings.batch_size)
        return _CACHE[key]
