"""Settings: defaults in one place, overridden by ASSISTANT_* variables, then by flags.

This is the only module that reads ASSISTANT_* environment variables.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import AssistantError

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    """Every tunable of the assistant. Build once with `Settings.load()`."""

    docs_dir: Path = Path("docs_src")
    index_dir: Path = Path("index")
    # Seconds a second `assistant index` waits for the first one's lock before giving up.
    lock_timeout: float = 600.0
    # Chunks from which one index segment is searched with HNSW instead of exactly
    # (docs/BENCHMARKS.md: exact search costs ~33 ms per query per 100,000 chunks on one core).
    ann_threshold: int = 50_000
    # Where vectors and BM25 postings live: local (FAISS segments) | milvus (docs/SCALE.md).
    store: str = "local"
    milvus_uri: str | None = None  # a .db file (milvus-lite) or http://host:19530; None: INDEX/
    milvus_token: str | None = None  # "user:password" or an API key, for a Milvus server
    # Embedding model: the bundled MiniLM, or any sentence-transformers name or path.
    model: str = BUNDLED_MODEL
    # auto: the bundled model on ONNX Runtime when its ONNX copy exists (no torch; made by
    # `python -m assistant.embed.export` at install), else sentence-transformers on torch.
    backend: str = "auto"  # auto | onnx | torch
    onnx_dir: Path | None = None  # folder of the ONNX copy; None = <venv>/share/assistant
    onnx_threads: int = 0  # batches embedded side by side when indexing; 0 = one per core
    torch_threads: int = 1  # one thread measured faster than two under load on 2 cores
    batch_size: int = 32
    # Chunking, in the embedding model's own tokens (capped at its max_seq_length).
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    embed_titles: bool = True  # prepend the document title to the text that is embedded
    # Retrieval.
    mode: str = "hybrid"  # hybrid | dense | lexical
    top_k: int = 5
    candidates: int = 100  # per retriever, before fusion
    # Hybrid fusion (docs/EVALUATION.md): "convex" = weighted sum of cosine and BM25 / best
    # BM25 of the query; "rrf" = weighted reciprocal rank fusion with rrf_k.
    fusion: str = "convex"
    rrf_k: int = 60
    dense_weight: float = 0.6
    lexical_weight: float = 0.4
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    stemmer: str = "english"  # PyStemmer language, or "" for none
    stopwords: str = "en"  # bm25s stop-word list, or "" for none
    # Extractive answers.
    answer_sentences: int = 2
    # Abstain when the best sentence's cosine similarity + 0.8 * word overlap is below this
    # (XQuAD dev, sentence vectors pooled at index time: abstains on 0.8% of answerable,
    # 89% of unanswerable questions; see docs/EVALUATION.md).
    min_relevance: float = 0.55
    # Web chat.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password"
    # Questions the chat answers at once; 0 = two per core (at least 4), so that a slow
    # generator call or an upload being indexed never holds everyone else up.
    workers: int = 0
    max_upload_mb: int = 50
    # Generator.
    generator: str = "extractive"  # extractive | openai
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 60.0  # seconds: longest wait for the server, and for a whole answer
    llm_max_tokens: int = 400  # longest generated answer, in the model's tokens

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Defaults, then ASSISTANT_<FIELD> variables, then non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"ASSISTANT_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in {f.name for f in fields(cls)}:
                raise TypeError(f"unknown setting {name!r}")
            values[name] = value
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        if self.mode not in {"hybrid", "dense", "lexical"}:
            raise AssistantError(
                f"mode must be hybrid, dense or lexical, not {self.mode!r} (ASSISTANT_MODE / --mode)"
            )
        if self.backend not in {"auto", "onnx", "torch"}:
            raise AssistantError(
                f"backend must be auto, onnx or torch, not {self.backend!r} (ASSISTANT_BACKEND)"
            )
        if self.store not in {"local", "milvus"}:
            raise AssistantError(f"store must be local or milvus, not {self.store!r} (ASSISTANT_STORE)")
        if self.fusion not in {"convex", "rrf"}:
            raise AssistantError(f"fusion must be convex or rrf, not {self.fusion!r} (ASSISTANT_FUSION)")
        if min(self.dense_weight, self.lexical_weight) < 0 or self.dense_weight + self.lexical_weight <= 0:
            raise AssistantError(
                "dense_weight and lexical_weight must be >= 0 and not both 0 "
                "(ASSISTANT_DENSE_WEIGHT / ASSISTANT_LEXICAL_WEIGHT)"
            )
        if self.generator not in {"extractive", "openai"}:
            raise AssistantError(
                f"generator must be extractive or openai, not {self.generator!r} (ASSISTANT_GENERATOR)"
            )
        if self.generator == "openai" and not self.llm_base_url:
            raise AssistantError(
                "the openai generator needs a server: set ASSISTANT_LLM_BASE_URL "
                "(or --llm-base-url), e.g. http://127.0.0.1:8080/v1"
            )
        if self.llm_timeout <= 0:
            raise AssistantError("llm_timeout must be positive (ASSISTANT_LLM_TIMEOUT / --llm-timeout)")
        if self.llm_max_tokens < 1:
            raise AssistantError("llm_max_tokens must be at least 1 (ASSISTANT_LLM_MAX_TOKENS)")
        if self.lock_timeout < 0:
            raise AssistantError("lock_timeout must be >= 0 seconds (ASSISTANT_LOCK_TIMEOUT / --wait)")
        if self.chunk_tokens < 16:
            raise AssistantError("chunk_tokens must be at least 16 (ASSISTANT_CHUNK_TOKENS)")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise AssistantError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        if self.workers < 0:
            raise AssistantError("workers must be >= 0 (ASSISTANT_WORKERS; 0 = two per core)")
        if self.top_k < 1:
            raise AssistantError("top_k must be at least 1 (-k / ASSISTANT_TOP_K)")
        if self.auth is not None and ":" not in self.auth:
            raise AssistantError("ASSISTANT_AUTH must look like user:password")

    def worker_count(self) -> int:
        """How many questions the web chat answers at once."""
        return self.workers or max(4, 2 * (os.cpu_count() or 1))

    def chunking(self) -> dict[str, Any]:
        """The parameters an index depends on; recorded in its manifest."""
        return {
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
            "embed_titles": self.embed_titles,
        }

    def lexical(self) -> dict[str, Any]:
        """How BM25 tokens are made: stored in the index (k1 and b apply at query time)."""
        return {
            "stemmer": self.stemmer,
            "stopwords": self.stopwords,
        }


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    t = str(type_name)
    try:
        if "Path" in t:
            return Path(raw)
        if t.startswith("bool"):
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if t.startswith("int"):
            return int(raw)
        if t.startswith("float"):
            return float(raw)
    except ValueError:
        raise AssistantError(
            f"ASSISTANT_{name.upper()}={raw!r} is not a valid {t.split(' ')[0]}"
        ) from None
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, type) for every setting; README's table comes from this."""
    rows = []
    for f in fields(Settings):
        rows.append((f"ASSISTANT_{f.name.upper()}", str(f.default), str(f.type)))
    return rows
