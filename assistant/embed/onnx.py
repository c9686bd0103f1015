"""The bundled MiniLM on ONNX Runtime: no torch, so a cold `ask` starts in a second.

Same computation as sentence-transformers' pipeline for this model: the
tokenizer.json tokenizer truncating to 256 tokens, BERT, mean pooling over the
attention mask, L2 normalisation. One session serves every thread (ONNX
Runtime sessions are thread-safe); a long list of texts is cut into
length-sorted batches that `threads` workers run side by side.

Many texts at once (indexing) run on the same ONNX graph compiled by OpenVINO
when it is installed (`bulk`): in bfloat16 on CPUs with native bf16, ~4x the
speed of ONNX Runtime here with vectors within cosine 0.9999 of float32. It is
compiled on the first such call (~0.8 s), so asking never pays for it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from .base import pool_spans

log = logging.getLogger(__name__)


class OnnxEmbedder:
    """An exported BERT encoder (last_hidden_state) plus its tokenizer, mean-pooled."""

    def __init__(self, onnx_path: Path, model_dir: Path, name: str, threads: int = 0,
                 batch_size: int = 32, bulk: str = "onnxruntime") -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if bulk not in ("auto", "openvino", "onnxruntime"):
            raise ValueError(f"bulk must be auto, openvino or onnxruntime, not {bulk!r}")
        self.name = name
        self._path = onnx_path
        self._bulk_choice = bulk
        self._bulk: _OpenVino | None = None
        self._bulk_lock = threading.Lock()
        self._bulk_tried = bulk == "onnxruntime"
        self.batch_size = batch_size
        self.threads = threads if threads > 0 else (os.cpu_count() or 1)
        self.max_seq_length = _max_seq_length(model_dir)
        tok_file = model_dir / "tokenizer.json"
        try:
            # Two tokenizers, each configured once and then only read, so that threads can
            # share them: one for the model (truncated), one for counting (whole texts).
            self._tokenizer = Tokenizer.from_file(str(tok_file))
            self._counter = Tokenizer.from_file(str(tok_file))
            opts = ort.SessionOptions()
            # One thread per run: parallelism comes from running batches (or users) side by
            # side, which uses the cores better than splitting one small matrix product.
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(onnx_path), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime and tokenizers raise their own error types
            raise ModelLoadError(
                f"could not load the ONNX model {onnx_path} ({exc}); make it again with "
                "`python -m assistant.embed.export`"
            ) from exc
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._counter.no_padding()
        self._counter.no_truncation()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="onnx-embed") \
            if self.threads > 1 else None

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embed in length-sorted batches; `progress(n)` is called after each batch of n texts."""
        return self.embed_spans(texts, [()] * len(texts), progress)[0]

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors, and for each text the vectors of its character `spans`, in one pass.

        A span's vector is the L2-normalised mean of the token states inside it (the
        same pooling as the text's, over fewer tokens); a span with no token inside
        the model's window (truncated away) gets a row of NaN.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = [np.full((len(s), self.dim), np.nan, dtype=np.float32) for s in spans]
        if not texts:
            return out, pooled
        enc = self._tokenizer.encode_batch(list(texts))
        # Sorting by token count keeps padding small; results are put back in order.
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        batches = [order[lo : lo + self.batch_size] for lo in range(0, len(order), self.batch_size)]
        bulk = self.bulk() if len(batches) > 1 else None

        def run(idx: list[int]) -> list[int]:
            hidden, mask = self.token_states([enc[i].ids for i in idx], bulk)
            out[idx] = _mean(hidden, mask.astype(np.float32))
            for row, i in enumerate(idx):
                if spans[i]:
                    e = enc[i]
                    pool_spans(hidden[row, : len(e.ids)],
                               np.array(e.offsets, dtype=np.int64).reshape(-1, 2),
                               np.array(e.special_tokens_mask) == 1, spans[i], pooled[i])
            return idx

        results: Iterator[list[int]] = (
            map(run, batches) if self._pool is None or len(batches) == 1
            else self._pool.map(run, batches)
        )
        for idx in results:
            if progress is not None:
                progress(len(idx))
        return out, pooled

    def bulk(self) -> _OpenVino | None:
        """The OpenVINO runner for many texts at once, compiled on first use; None when
        ONNX Runtime does the bulk work (bulk="onnxruntime", or "auto" without OpenVINO)."""
        if self._bulk_tried:
            return self._bulk
        with self._bulk_lock:
            if not self._bulk_tried:
                try:
                    self._bulk = _OpenVino(self._path, self.threads)
                    log.info("indexing on OpenVINO (%s)", self._bulk.precision)
                except ImportError:
                    if self._bulk_choice == "openvino":
                        raise ModelLoadError(
                            "ASSISTANT_INDEX_RUNTIME=openvino, but OpenVINO is not installed: "
                            "run `make install` (or `pip install openvino==2026.4.1`), or set "
                            "ASSISTANT_INDEX_RUNTIME=auto") from None
                except Exception as exc:  # OpenVINO raises its own error types
                    if self._bulk_choice == "openvino":
                        raise ModelLoadError(f"OpenVINO could not compile {self._path} ({exc})") \
                            from exc
                    log.warning("OpenVINO could not compile %s (%s); indexing on ONNX Runtime",
                                self._path, exc)
                self._bulk_tried = True
        return self._bulk

    def token_states(
        self, batch: Sequence[Sequence[int]], bulk: _OpenVino | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(last_hidden_state (n, length, dim), attention mask (n, length)) of token id lists,
        from ONNX Runtime, or from `bulk` (OpenVINO) when given."""
        length = max(len(x) for x in batch)
        input_ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, x in enumerate(batch):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = bulk.run(feed) if bulk is not None else self._session.run(None, feed)[0]
        return hidden, mask

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes, without the [CLS]/[SEP] the model adds."""
        if not texts:
            return []
        enc = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in enc]


class _OpenVino:
    """The ONNX copy compiled by OpenVINO for the CPU: one stream with every thread, one
    inference at a time.

    OpenVINO picks its inference precision: bfloat16 where the CPU computes it natively,
    float32 elsewhere. Requests run in turn, never side by side: two requests that take a new
    input shape at once (every batch of sorted texts has its own length) can deadlock inside
    the Python binding on a loaded machine with few cores (an index build hung with both
    worker threads waiting in `tensor.shape = ...`; reported for OpenVINO elsewhere too).
    One stream of `threads` threads indexed as fast here as `threads` streams of one
    (docs/BENCHMARKS.md); the worker threads still tokenise and pool side by side.
    """

    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        self._model = core.compile_model(core.read_model(str(path)), "CPU", {
            "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(max(1, threads))})
        self.precision = str(self._model.get_property("INFERENCE_PRECISION_HINT"))
        self._request = self._model.create_infer_request()
        self._lock = threading.Lock()

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._lock:
            out = self._request.infer(feed)  # copies the outputs (share_outputs=False)
            return np.asarray(out[0])


def _mean(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """L2-normalised mean of hidden (n, length, dim) over a 0/1 mask (n, length)."""
    sums = np.einsum("nld,nl->nd", hidden, mask)
    return _normalise(sums / np.maximum(mask.sum(axis=1), 1e-9)[:, None])


def _normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)


def _max_seq_length(model_dir: Path) -> int:
    """sentence-transformers' max_seq_length for the model (its sentence_bert_config.json)."""
    try:
        with (model_dir / "sentence_bert_config.json").open(encoding="utf-8") as f:
            return int(json.load(f).get("max_seq_length") or 256)
    except (OSError, ValueError):
        return 256
