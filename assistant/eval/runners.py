"""Benchmarks through the product's own path: index, search and ask, then score the results.

`run_beir` measures retrieval on a BEIR folder (chunk hits folded into
document scores; IR metrics by pytrec_eval, the library BEIR itself uses).
`run_squad` asks every SQuAD question and checks the retrieved paragraph, the
answer text and its first citation; `abstention` measures the "nothing
relevant" threshold on questions asked against articles that do not hold
their answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import store
from ..config import Settings
from ..embed import Embedder
from ..indexing.writer import manifest, tokens
from ..pipeline import Assistant
from ..text.analyzer import ENGLISH, Analyzer
from ..types import Document, Hit
from .data import BeirSet, SquadSet
from .metrics import answer_body, best_scores, contains_answer

log = logging.getLogger(__name__)

# (stage, done, total): "embedding" counts chunks, "querying" counts queries.
Progress = Callable[[str, int, int], None]

BEIR_CUTOFFS = (1, 5, 10, 100)


@dataclass(frozen=True)
class Build:
    """How the (possibly cached) index of a benchmark corpus was made."""

    index_dir: str
    documents: int
    chunks: int
    index_seconds: float
    chunks_per_second: float
    cached: bool


def ir_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    cutoffs: Sequence[int] = BEIR_CUTOFFS,
) -> dict[str, float]:
    """Mean nDCG@k, recall@k and MRR@10 over the queries in `qrels` (trec_eval semantics).

    A query missing from `run` counts as zero. MRR@10 is trec_eval's
    reciprocal rank over each ranking cut to its ten best documents.
    """
    import pytrec_eval

    qrels = {q: dict(d) for q, d in qrels.items()}
    full = {q: dict(run.get(q, {})) or {"\x00none": 0.0} for q in qrels}
    top10 = {q: dict(sorted(d.items(), key=lambda kv: -kv[1])[:10]) for q, d in full.items()}
    ks = ",".join(str(k) for k in cutoffs)
    per_q = pytrec_eval.RelevanceEvaluator(qrels, {f"ndcg_cut.{ks}", f"recall.{ks}"}).evaluate(full)
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out: dict[str, float] = {}
    for k in cutoffs:
        out[f"ndcg@{k}"] = float(np.mean([m[f"ndcg_cut_{k}"] for m in per_q.values()]))
        out[f"recall@{k}"] = float(np.mean([m[f"recall_{k}"] for m in per_q.values()]))
    out["mrr@10"] = float(np.mean([m["recip_rank"] for m in rr.values()]))
    return out


def doc_ranking(hits: Iterable[Hit]) -> dict[str, float]:
    """Fold ranked chunk hits into a document ranking: each document at its best chunk's rank.

    Scores are 1/rank so that ties (and trec_eval's tie-breaking by doc id) never reorder.
    """
    out: dict[str, float] = {}
    for hit in hits:
        if hit.chunk.doc_id not in out:
            out[hit.chunk.doc_id] = 1.0 / (len(out) + 1)
    return out


def eval_index_dir(cache_root: Path, corpus_hash: str, settings: Settings) -> Path:
    """index/eval/<key>/: one cached index per corpus and per setting that changes its vectors."""
    import hashlib

    # "sentences": indexes cached before sentence tables existed are built again; "format":
    # an index of an older format (documents without their blocks) too. The index holds BM25
    # tokens: another analyzer than the default one gets its own index.
    lexical = Analyzer.of(settings).manifest()
    key = json.dumps({"corpus": corpus_hash, "model": settings.model,
                      "chunking": settings.chunking(), "sentences": 1,
                      "format": store.FORMAT_VERSION,
                      **({"store": settings.store} if settings.store != "local" else {}),
                      **({"lexical": lexical} if lexical != ENGLISH.manifest() else {})},
                     sort_keys=True)
    return Path(cache_root) / hashlib.sha256(key.encode()).hexdigest()[:16]


def build_index(
    settings: Settings,
    documents: Sequence[Document],
    corpus_hash: str,
    cache_root: Path,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> tuple[Assistant, Build]:
    """An Assistant over `documents`, indexed once per corpus and settings, then reused."""
    index_dir = eval_index_dir(cache_root, corpus_hash, settings)
    assistant = Assistant(settings.replace(index_dir=index_dir), embedder=embedder)
    record = index_dir / "eval-build.json"
    if store.exists(index_dir) and record.is_file():
        info = json.loads(record.read_text(encoding="utf-8"))
        if info.get("corpus_hash") == corpus_hash:
            return assistant, Build(str(index_dir), info["documents"], info["chunks"],
                                    info["index_seconds"], info["chunks_per_second"], True)

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress("embedding", done, total)

    assistant.indexer.embedder  # noqa: B018 - load the model first: index_seconds is the build alone
    if settings.store != "local":
        reused = _copy_local(assistant, corpus_hash, cache_root)
        if reused is not None:
            return assistant, reused
    report = assistant.indexer.index_documents(documents, progress=step)
    build = Build(str(index_dir), len(documents), report.chunks, round(report.seconds, 3),
                  round(report.embedded / report.seconds, 2) if report.seconds else 0.0, False)
    record.write_text(json.dumps({**asdict(build), "corpus_hash": corpus_hash}, indent=1),
                      encoding="utf-8")
    return assistant, build


def _copy_local(assistant: Assistant, corpus_hash: str, cache_root: Path) -> Build | None:
    """Fill another store's eval index from the cached local one: its vectors, no embedding."""
    s = assistant.settings
    local_dir = eval_index_dir(cache_root, corpus_hash, s.replace(store="local"))
    if not (store.exists(local_dir) and (local_dir / "eval-build.json").is_file()):
        return None
    t0 = time.perf_counter()
    src = store.load(local_dir, assistant.indexer.expected())
    try:
        with store.locked(s.index_dir):
            w = store.writer(s.index_dir, lambda: manifest(assistant.indexer, None), s)
            try:
                n = store.copy_index(src, w, lambda doc, chunks: tokens(assistant.indexer, chunks, doc.language))
            finally:
                w.close()
    finally:
        src.close()
    info = json.loads((local_dir / "eval-build.json").read_text(encoding="utf-8"))
    seconds = time.perf_counter() - t0
    build = Build(str(s.index_dir), info["documents"], n, round(seconds, 3), 0.0, False)
    (s.index_dir / "eval-build.json").write_text(
        json.dumps({**asdict(build), "corpus_hash": corpus_hash, "copied_from": str(local_dir)},
                   indent=1), encoding="utf-8")
    log.info("copied the cached local index %s into the %s store (%.1f s, no embedding)",
             local_dir, s.store, seconds)
    return build


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    if not ms:
        return {"query_ms_p50": 0.0, "query_ms_p95": 0.0}
    return {"query_ms_p50": round(float(np.percentile(ms, 50)), 2),
            "query_ms_p95": round(float(np.percentile(ms, 95)), 2)}


def run_beir(
    settings: Settings,
    data: BeirSet,
    cache_root: Path,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    depth: int = 100,
) -> dict[str, Any]:
    """Retrieval metrics for every judged query, searched with `settings.mode`."""
    assistant, build = build_index(settings, data.documents, data.corpus_hash, cache_root,
                                   embedder, progress)
    retriever = assistant.answerer.retriever()
    run: dict[str, dict[str, float]] = {}
    ms: list[float] = []
    for i, (qid, text) in enumerate(data.queries.items()):
        t0 = time.perf_counter()
        hits = retriever.search(text, k=depth)
        ms.append((time.perf_counter() - t0) * 1000)
        run[qid] = doc_ranking(hits)
        if progress is not None:
            progress("querying", i + 1, len(data.queries))
    metrics = ir_metrics(data.qrels, run)
    return {
        "benchmark": "beir",
        "mode": settings.mode,
        **{k: round(v, 4) for k, v in metrics.items()},
        "queries": len(data.queries),
        "documents": build.documents,
        "chunks": build.chunks,
        "index_seconds": build.index_seconds,
        "chunks_per_second": build.chunks_per_second,
        "index_cached": build.cached,
        **_percentiles(ms),
    }


# --- SQuAD ---------------------------------------------------------------------

@dataclass(frozen=True)
class Asked:
    """One SQuAD question through `ask`: what was retrieved, answered and cited."""

    qid: str
    gold_rank: int | None  # rank of the gold paragraph among the retrieved documents (1-based)
    found: bool
    contains: bool
    citation_correct: bool
    words: int
    ms: float
    verified: int = 0  # sentences of the answer checked against their sources and supported
    checked: int = 0  # sentences that were checked (Answer.checked)
    fallback: bool = False  # the generator failed and the extractive answer was given
    short: bool = False  # a short answer was given
    em: float = 0.0  # SQuAD exact match of the short answer (0 when none was given)
    f1: float = 0.0  # SQuAD token F1 of the short answer


def ask_one(assistant: Assistant, question: str, answers: Sequence[str], gold: str,
            qid: str = "", k: int = 5, doc_ids: Sequence[str] | None = None) -> Asked:
    t0 = time.perf_counter()
    ans = assistant.ask(question, k=k, doc_ids=doc_ids)
    ms = (time.perf_counter() - t0) * 1000
    docs = list(doc_ranking(ans.hits))
    rank = docs.index(gold) + 1 if gold in docs else None
    body = answer_body(ans) if ans.found else ""
    first = ans.citations[0] if ans.citations else None
    cited = bool(ans.found and first is not None and first.chunk.doc_id == gold
                 and contains_answer(first.quote, answers))
    verified, checked = (ans.verified, ans.checked) if ans.found else (0, 0)
    short = ans.short_answer.text if ans.found and ans.short_answer else None
    em, f1 = best_scores(short, answers)
    return Asked(qid, rank, ans.found, bool(body) and contains_answer(body, answers), cited,
                 len(body.split()), ms, verified, checked, ans.fallback, short is not None, em, f1)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


def run_squad(
    settings: Settings,
    data: SquadSet,
    cache_root: Path,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    unanswerable: bool = True,
) -> dict[str, Any]:
    """Ask every question; score retrieval, answer text and first citation.

    With `unanswerable`, every question is asked again restricted to the other
    articles (which do not hold its answer) to measure abstention.
    """
    assistant, build = build_index(settings, data.documents, data.corpus_hash, cache_root,
                                   embedder, progress)
    k = max(5, settings.top_k)
    asked: list[Asked] = []
    for i, q in enumerate(data.questions):
        asked.append(ask_one(assistant, q.question, q.answers, q.doc_id, q.qid, k))
        if progress is not None:
            progress("asking", i + 1, len(data.questions))
    answered = [a for a in asked if a.found]
    report: dict[str, Any] = {
        "benchmark": "squad",
        "mode": settings.mode,
        "questions": len(asked),
        "recall@1": _share(a.gold_rank == 1 for a in asked),
        "recall@5": _share(a.gold_rank is not None and a.gold_rank <= 5 for a in asked),
        "answer_contains": _share(a.contains for a in asked),
        "citation_correct": _share(a.citation_correct for a in asked),
        # SQuAD exact match and F1 of short_answer over all questions (none given counts 0)
        "short_em": round(float(np.mean([a.em for a in asked])), 4) if asked else 0.0,
        "short_f1": round(float(np.mean([a.f1 for a in asked])), 4) if asked else 0.0,
        "short_given": _share(a.short for a in asked),
        "answer_words": round(float(np.mean([a.words for a in answered])), 2) if answered else 0.0,
        "abstain_rate": _share(not a.found for a in asked),
        "generator": settings.generator,
        "sentences_verified": round(sum(a.verified for a in asked)
                                    / max(1, sum(a.checked for a in asked)), 4),
        "generator_fallbacks": sum(a.fallback for a in asked),
        "seconds_per_answer": round(float(np.mean([a.ms for a in asked])) / 1000, 3)
        if asked else 0.0,
        "documents": build.documents,
        "chunks": build.chunks,
        "index_seconds": build.index_seconds,
        "chunks_per_second": build.chunks_per_second,
        "index_cached": build.cached,
        **_percentiles([a.ms for a in asked]),
    }
    if unanswerable:
        report["unanswerable_abstain_rate"] = _share(
            not a.found for a in ask_elsewhere(assistant, data, k, progress))
    return report


def ask_elsewhere(assistant: Assistant, data: SquadSet, k: int,
                  progress: Progress | None = None) -> list[Asked]:
    """Each question asked only of the other articles' paragraphs: the right reply is to abstain."""
    by_article: dict[str, list[str]] = {}
    for d in data.documents:
        by_article.setdefault(d.title, []).append(d.doc_id)
    out = []
    for i, q in enumerate(data.questions):
        others = [d for t, ids in by_article.items() if t != q.article for d in ids]
        out.append(ask_one(assistant, q.question, q.answers, q.doc_id, q.qid, k, others))
        if progress is not None:
            progress("asking elsewhere", i + 1, len(data.questions))
    return out
