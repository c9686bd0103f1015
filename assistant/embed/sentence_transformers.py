"""The sentence-transformers embedder: any model it can load, on torch, on the CPU."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import BUNDLED_MODEL
from ..errors import ModelLoadError
from .base import offline, pool_spans, resolve_model

log = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU; vectors are L2-normalised for inner product."""

    def __init__(self, model: str = BUNDLED_MODEL, threads: int = 1, batch_size: int = 32):
        offline()
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
            pass
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        path = resolve_model(model)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # many error types: OSError, ValueError, HF errors
            raise ModelLoadError(
                f"could not load embedding model {model!r}: {exc}. Without hub access only "
                f"local paths and the bundled model ({BUNDLED_MODEL}) work; set ASSISTANT_MODEL."
            ) from exc
        self.name = model
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])
        self.max_seq_length = int(self._model.max_seq_length or 256)
        self.batch_size = batch_size
        self._tokenizer = self._model.tokenizer
        # The fast tokenizer is not safe to share between threads ("Already borrowed"),
        # and the web chat serves questions from several threads.
        self._lock = threading.Lock()

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed in batches; `progress(n)` is called after each batch of n texts."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        # Sorting by length keeps padding small; results are put back in order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            with self._lock:
                vecs = self._model.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out.append((idx, vecs))
            if progress is not None:
                progress(len(idx))
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx, vecs in out:
            result[idx] = vecs
        return result

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors, and the mean-pooled token states of each text's character `spans`.

        Same contract as OnnxEmbedder.embed_spans (NaN rows for spans outside the
        window); one model pass gives both the text vectors and the token states.
        """
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = [np.full((len(s), self.dim), np.nan, dtype=np.float32) for s in spans]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            batch = [texts[i] for i in idx]
            with self._lock:
                outputs: Any = self._model.encode(batch, batch_size=self.batch_size, output_value=None,
                                             convert_to_numpy=False, show_progress_bar=False)
                enc = self._tokenizer(batch, return_offsets_mapping=True, truncation=True,
                                      return_special_tokens_mask=True,
                                      max_length=self.max_seq_length)
            for row, i in enumerate(idx):
                v = np.asarray(outputs[row]["sentence_embedding"].float().cpu().numpy())
                vecs[i] = v / max(float(np.linalg.norm(v)), 1e-12)
                if not spans[i]:
                    continue
                h = np.asarray(outputs[row]["token_embeddings"].float().cpu().numpy())
                offsets = np.array(enc["offset_mapping"][row], dtype=np.int64).reshape(-1, 2)
                n = min(len(h), len(offsets))
                h, offsets = h[:n], offsets[:n]
                special = np.array(enc["special_tokens_mask"][row][:n]) == 1
                pool_spans(h, offsets, special, spans[i], pooled[i])
            if progress is not None:
                progress(len(idx))
        return vecs, pooled

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes, without the [CLS]/[SEP] the model adds."""
        if not texts:
            return []
        with self._lock:
            enc = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]
