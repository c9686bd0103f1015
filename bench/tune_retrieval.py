"""Sweep retrieval choices on one built index: exact dense and BM25 scores for every chunk.

    nice .venv/bin/python bench/tune_retrieval.py ../shared/eval/scifact-train --split train \
        [--chunk-tokens 200 --chunk-overlap 32] [--bm25] [--prf]

Embeds the corpus once (cached under index/eval/, like `assistant eval`), then
scores each query against every chunk with both halves and prints nDCG@10,
recall@10/100 and MRR@10 for each variant, documents ranked at their best
chunk. `--bm25` re-indexes BM25 in memory with other parameters, tokenisation
and title handling; `--prf` tries pseudo-relevance feedback on the query
vector. The figures in docs/EVALUATION.md come from these runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.eval.data import load_beir  # noqa: E402
from assistant.eval.runners import build_index, ir_metrics  # noqa: E402
from assistant.text.analyzer import ENGLISH, Analyzer  # noqa: E402


class Sweep:
    """Chunk-level score matrices (queries x chunks) and the judgements to score them with."""

    def __init__(self, doc_of: Sequence[str], qids: Sequence[str], qrels: dict) -> None:
        self.starts = [0] + [i for i in range(1, len(doc_of)) if doc_of[i] != doc_of[i - 1]]
        self.ids = [doc_of[s] for s in self.starts]  # chunks of one document are contiguous
        self.qids = list(qids)
        self.qrels = qrels

    def show(self, name: str, chunk_scores: np.ndarray, mean_weight: float = 0.0,
             depth: int = 100) -> dict[str, float]:
        """Documents ranked by their best chunk (+ mean_weight x the mean of their chunks)."""
        doc_scores = np.maximum.reduceat(chunk_scores, self.starts, axis=1)
        if mean_weight:
            counts = np.diff(self.starts + [chunk_scores.shape[1]])
            doc_scores += mean_weight * np.add.reduceat(chunk_scores, self.starts, axis=1) / counts
        run = {}
        for i, q in enumerate(self.qids):
            top = np.argpartition(-doc_scores[i], depth)[:depth]
            top = top[np.argsort(-doc_scores[i][top], kind="stable")]
            run[q] = {self.ids[j]: 1.0 / (r + 1) for r, j in enumerate(top)}
        m = ir_metrics(self.qrels, run)
        print(f"{name:46s} ndcg@10 {m['ndcg@10']:.4f}  r@10 {m['recall@10']:.4f}  "
              f"r@100 {m['recall@100']:.4f}  mrr@10 {m['mrr@10']:.4f}", flush=True)
        return m


def by_max(scores: np.ndarray) -> np.ndarray:
    return scores / (scores.max(axis=1, keepdims=True) + 1e-9)


def minmax_top(scores: np.ndarray, n: int = 100) -> np.ndarray:
    """Scaled so that each row's top n span [0, 1]; lower scores clipped at 0."""
    out = np.zeros_like(scores)
    for i in range(len(scores)):
        top = scores[i][np.argpartition(-scores[i], n)[:n]]
        out[i] = np.clip((scores[i] - top.min()) / (top.max() - top.min() + 1e-9), 0, None)
    return out


def rrf(scores: np.ndarray, n: int = 100, k: int = 60) -> np.ndarray:
    """1/(k + rank) inside each row's top n, 0 elsewhere."""
    out = np.zeros_like(scores)
    for i in range(len(scores)):
        top = np.argpartition(-scores[i], n)[:n]
        top = top[np.argsort(-scores[i][top], kind="stable")]
        out[i, top] = 1.0 / (k + np.arange(1, n + 1))
    return out


def bm25_scores(texts: Sequence[str], queries: Sequence[str], k1: float = 1.2, b: float = 0.75,
                analyzer: Analyzer = ENGLISH) -> np.ndarray:
    import bm25s

    index = bm25s.BM25(k1=k1, b=b)
    index.index(analyzer.tokenize(texts), show_progress=False)
    out = np.zeros((len(queries), len(texts)), dtype=np.float32)
    for i, q in enumerate(queries):
        tokens = [t for t in analyzer.tokens(q) if t in index.vocab_dict]
        if tokens:
            out[i] = index.get_scores(tokens)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--chunk-tokens", type=int, default=None)
    ap.add_argument("--chunk-overlap", type=int, default=None)
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("--bm25", action="store_true", help="also sweep BM25 variants")
    ap.add_argument("--prf", action="store_true", help="also try pseudo-relevance feedback")
    args = ap.parse_args()
    settings = Settings.load(chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap)
    data = load_beir(args.folder, args.split)
    t0 = time.time()
    assistant, build = build_index(settings, data.documents, data.corpus_hash, args.cache)
    print(json.dumps(build.__dict__), f"{time.time() - t0:.0f}s", flush=True)
    store = assistant.answerer.retriever().store
    keys = [k for d in store.documents for k in store.keys_of([d]).tolist()]
    chunks = [c for c in store.chunks(keys) if c is not None]
    mat = store.vectors(keys)  # rows in chunk order
    qids = list(data.queries)
    queries = [data.queries[q] for q in qids]
    qv = assistant.indexer.embedder.embed(queries)
    dense = qv @ mat.T
    texts = [f"{c.title}\n{c.text}" for c in chunks]
    lex = bm25_scores(texts, queries, settings.bm25_k1, settings.bm25_b, Analyzer.of(settings))
    sweep = Sweep([c.doc_id for c in chunks], qids, data.qrels)

    sweep.show("dense", dense)
    sweep.show("lexical", lex)
    for w in (1.0, 0.7, 0.5):
        sweep.show(f"rrf k=60, dense weight {w} : 1", w * rrf(dense) + rrf(lex))
    for a in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        sweep.show(f"convex {a} cos + {1 - a:.2f} bm25/max", a * dense + (1 - a) * by_max(lex))
    dm, lm = minmax_top(dense), minmax_top(lex)
    for a in (0.4, 0.5, 0.6):
        sweep.show(f"min-max over each top 100, {a} dense", a * dm + (1 - a) * lm)
    dz = (dense - dense.mean(1, keepdims=True)) / dense.std(1, keepdims=True)
    lz = (lex - lex.mean(1, keepdims=True)) / (lex.std(1, keepdims=True) + 1e-9)
    for a in (0.5, 0.6):
        sweep.show(f"z-scores over all chunks, {a} dense", a * dz + (1 - a) * lz)
    for lam in (0.1, 0.2, 0.3):
        sweep.show(f"convex 0.6, best chunk + {lam} x mean", 0.6 * dense + 0.4 * by_max(lex), lam)
    for name, part in (("odd", slice(1, None, 2)), ("even", slice(0, None, 2))):
        half = Sweep([c.doc_id for c in chunks], qids[part],
                     {q: data.qrels[q] for q in qids[part]})
        for a in (0.5, 0.6, 0.7, 0.8):
            half.show(f"  {name} queries: convex {a}", (a * dense + (1 - a) * by_max(lex))[part])

    if args.bm25:
        variants = {
            "k1 0.9 b 0.4": dict(k1=0.9, b=0.4), "k1 1.2 b 0.5": dict(k1=1.2, b=0.5),
            "k1 1.2 b 0.9": dict(k1=1.2, b=0.9), "k1 0.8 b 0.75": dict(k1=0.8),
            "k1 1.5 b 0.75": dict(k1=1.5), "k1 2.0 b 0.75": dict(k1=2.0),
            "no stemming": dict(stemmer=""), "no stop words": dict(stopwords=""),
        }
        for name, kw in variants.items():
            other = bm25_scores(texts, queries, **kw)
            sweep.show(f"lexical {name}", other)
            sweep.show("  hybrid 0.6", 0.6 * dense + 0.4 * by_max(other))
        for name, tx in (("title not indexed", [c.text for c in chunks]),
                         ("title twice", [f"{c.title}\n{t}" for c, t in zip(chunks, texts, strict=True)])):
            other = bm25_scores(tx, queries)
            sweep.show(f"lexical {name}", other)
            sweep.show("  hybrid 0.6", 0.6 * dense + 0.4 * by_max(other))

        # Whole-document BM25 beside the dense score of each document's best chunk.
        docs = {d.doc_id: d for d in data.documents}
        doc_lex = bm25_scores([f"{docs[i].title}\n{docs[i].text}" for i in sweep.ids], queries)
        doc_dense = np.maximum.reduceat(dense, sweep.starts, axis=1)
        whole = Sweep(sweep.ids, qids, data.qrels)  # one "chunk" per document
        whole.show("lexical whole documents", doc_lex)
        whole.show("  hybrid 0.6 (dense: best chunk)", 0.6 * doc_dense + 0.4 * by_max(doc_lex))

    if args.prf:
        hybrid = 0.6 * dense + 0.4 * by_max(lex)
        for src, ranking in (("dense", dense), ("hybrid", hybrid)):
            for k in (3, 5, 10):
                centroid = mat[np.argsort(-ranking, axis=1)[:, :k]].mean(axis=1)
                for beta in (0.3, 0.5, 1.0):
                    q2 = qv + beta * centroid
                    q2 /= np.linalg.norm(q2, axis=1, keepdims=True)
                    sweep.show(f"prf from {src}, k={k}, beta={beta}: hybrid",
                               0.6 * (q2 @ mat.T) + 0.4 * by_max(lex))


if __name__ == "__main__":
    main()
