"""Sweep fusion on one built index: exact dense and BM25 scores for every chunk, fused offline.

    nice python bench/tune_retrieval.py /work/shared/eval/scifact-train --split train \
        [--chunk-tokens 200 --chunk-overlap 32]

Embeds the corpus once (cached under index/eval/), then scores each query
against every chunk with both halves and prints nDCG@10 / recall@100 for the
fusion variants. Used to choose the defaults recorded in docs/EVALUATION.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.evaldata import load_beir
from assistant.evaluate import build_index, ir_metrics
from assistant.retrieve import tokenize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--chunk-tokens", type=int, default=None)
    ap.add_argument("--chunk-overlap", type=int, default=None)
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("--save", type=Path, default=None, help="write the score matrices (npz)")
    args = ap.parse_args()
    settings = Settings.load(chunk_tokens=args.chunk_tokens, chunk_overlap=args.chunk_overlap)
    data = load_beir(args.folder, args.split)
    t0 = time.time()
    assistant, build = build_index(settings, data.documents, data.corpus_hash, args.cache)
    print(json.dumps(build.__dict__), f"{time.time()-t0:.0f}s", file=sys.stderr)
    r = assistant.retriever()
    st = r.store
    n = len(st)
    mat = st.dense.index.reconstruct_n(0, n)
    qids = list(data.queries)
    qtexts = [data.queries[q] for q in qids]
    qv = assistant.embedder.embed(qtexts)
    dense = qv @ mat.T  # (queries, chunks)
    lex = np.zeros_like(dense)
    for i, text in enumerate(qtexts):
        toks = [t for t in tokenize([text], settings.stemmer, settings.stopwords)[0]
                if t in st.lexical.vocab_dict]
        if toks:
            lex[i] = st.lexical.get_scores(toks)[:n]
    doc_of = [c.doc_id for c in st.chunks]
    if args.save:
        np.savez_compressed(args.save, dense=dense, lex=lex, qids=np.array(qids),
                            doc_of=np.array(doc_of))
    evaluate(dense, lex, qids, doc_of, data.qrels)


def doc_max(scores: np.ndarray, doc_of: list[str]):
    """Starts of each document's run of chunk rows (chunks of one doc are contiguous)."""
    starts = [0] + [i for i in range(1, len(doc_of)) if doc_of[i] != doc_of[i - 1]]
    ids = [doc_of[s] for s in starts]
    return np.maximum.reduceat(scores, starts, axis=1), ids


def run_of(doc_scores: np.ndarray, ids: list[str], qids: list[str], depth: int = 100):
    run = {}
    for i, q in enumerate(qids):
        top = np.argpartition(-doc_scores[i], depth)[:depth]
        top = top[np.argsort(-doc_scores[i][top], kind="stable")]
        run[q] = {ids[j]: 1.0 / (r + 1) for r, j in enumerate(top)}
    return run


def show(name, chunk_scores, doc_of, qids, qrels):
    ds, ids = doc_max(chunk_scores, doc_of)
    m = ir_metrics(qrels, run_of(ds, ids, qids))
    print(f"{name:40s} ndcg@10 {m['ndcg@10']:.4f}  r@10 {m['recall@10']:.4f}  "
          f"r@100 {m['recall@100']:.4f}  mrr@10 {m['mrr@10']:.4f}", flush=True)
    return m


def rrf(s: np.ndarray, n: int = 100) -> np.ndarray:
    """1/(60+rank) inside each row's top n, 0 elsewhere (rank from 1)."""
    out = np.zeros_like(s)
    for i in range(len(s)):
        top = np.argpartition(-s[i], n)[:n]
        top = top[np.argsort(-s[i][top], kind="stable")]
        out[i, top] = 1.0 / (60 + np.arange(1, n + 1))
    return out


def evaluate(dense, lex, qids, doc_of, qrels):
    show("dense", dense, doc_of, qids, qrels)
    show("lexical", lex, doc_of, qids, qrels)
    rd, rl = rrf(dense), rrf(lex)
    for w in (1.0, 0.7, 0.5):
        show(f"rrf dense {w} lex 1", w * rd + rl, doc_of, qids, qrels)
    lmax = lex.max(axis=1, keepdims=True) + 1e-9
    for a in (0.3, 0.4, 0.5, 0.6, 0.7):
        show(f"convex a={a} cos + bm25/max", a * dense + (1 - a) * lex / lmax, doc_of, qids, qrels)


if __name__ == "__main__":
    main()
