"""Features of every candidate answer sentence on SQuAD-style data, for tuning answer.py offline.

    nice python bench/tune_answers.py ../shared/eval/xquad-dev/xquad.en.dev.json --out /tmp/sents.json

For each question, retrieves with the product's retriever (top_k passages),
takes the sentences `answer.candidate_sentences` would consider, and records
each one's cosine similarity to the question, word overlap, passage rank and
fused passage score, and whether it contains the gold answer. Each question is
also asked of the other articles only (the right reply there is to abstain).
Sentence vectors are cached per text, so one run embeds each sentence once.
The JSON it writes is read by the sweeps documented in docs/EVALUATION.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answer.extractive import overlap  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.eval.data import load_squad  # noqa: E402
from assistant.eval.metrics import contains_answer  # noqa: E402
from assistant.eval.runners import build_index
from assistant.text.analyzer import ENGLISH as ANALYZER  # noqa: E402
from assistant.text.passages import candidate_sentences


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--sweep", action="store_true",
                    help="read --out (written by an earlier run) and print the sweeps")
    args = ap.parse_args()
    if args.sweep:
        sweep(json.loads(args.out.read_text()))
        return
    settings = Settings.load()
    data = load_squad(args.squad)
    assistant, _ = build_index(settings, data.documents, data.corpus_hash, args.cache)
    retriever = assistant.answerer.retriever()
    documents = retriever.store.documents
    vec_cache: dict[str, np.ndarray] = {}
    by_article: dict[str, list[str]] = {}
    for d in data.documents:
        by_article.setdefault(d.title, []).append(d.doc_id)
    rows = []
    for i, q in enumerate(data.questions):
        qv = retriever.query_vector(q.question)
        qtok = ANALYZER.tokens(q.question)
        for setting in ("answerable", "elsewhere"):
            others = None if setting == "answerable" else [
                d for t, ids in by_article.items() if t != q.article for d in ids]
            hits = retriever.search(q.question, k=args.k, doc_ids=others)
            sents = candidate_sentences(hits, documents)
            todo = [s.text for s in sents if s.text not in vec_cache]
            if todo:
                for t, v in zip(todo, assistant.indexer.embedder.embed(todo), strict=True):
                    vec_cache[t] = v
            rows.append({
                "qid": q.qid, "setting": setting, "question": q.question,
                "gold_doc": q.doc_id, "answers": list(q.answers),
                "hits": [{"doc": h.chunk.doc_id, "score": h.score, "dense": h.dense,
                          "lexical": h.lexical} for h in hits],
                "sentences": [{
                    "hit": s.hit, "start": s.start, "end": s.end, "doc": hits[s.hit].chunk.doc_id,
                    "words": len(s.text.split()),
                    "sim": float(vec_cache[s.text] @ qv),
                    "overlap": overlap(qtok, s.text, ANALYZER),
                    "gold": contains_answer(s.text, q.answers),
                } for s in sents],
            })
        if i % 50 == 0:
            print(i, file=sys.stderr, flush=True)
    args.out.write_text(json.dumps(rows))
    sweep(rows)


def _score(s: dict, a: float, c: float) -> float:
    return s["sim"] + a * s["overlap"] + c / (1 + s["hit"])


def select(row: dict, a: float, c: float, margin: float, threshold: float) -> list[dict] | None:
    """answer.extractive_answer's choice, on recorded features: None = abstain."""
    ranked = sorted(row["sentences"], key=lambda s: -_score(s, a, c))
    if not ranked or ranked[0]["sim"] + a * ranked[0]["overlap"] < threshold:
        return None
    chosen = ranked[:1]
    for s in ranked[1:2]:
        if _score(s, a, c) >= _score(ranked[0], a, c) - margin and \
                s["sim"] + a * s["overlap"] >= threshold:
            chosen.append(s)
    return chosen


def sweep(rows: list[dict]) -> None:
    from assistant.config import MIN_RELEVANCE, Settings
    from assistant.text.passages import OVERLAP_WEIGHT

    a, c, m = OVERLAP_WEIGHT, 0.1, 0.2  # the hand-set weights before fit_sentences.py
    t0 = Settings.load().min_relevance or MIN_RELEVANCE
    answerable = [r for r in rows if r["setting"] == "answerable"]
    elsewhere = [r for r in rows if r["setting"] == "elsewhere"]

    def measure(a: float, c: float, m: float, t: float) -> tuple[float, float, float, float]:
        picks = [select(r, a, c, m, t) for r in answerable]
        contains = np.mean([bool(p) and any(s["gold"] for s in p) for p in picks])
        words = np.mean([sum(s["words"] for s in p) for p in picks if p])
        abstain = np.mean([p is None for p in picks])
        abstain_u = np.mean([select(r, a, c, m, t) is None for r in elsewhere])
        return float(contains), float(words), float(abstain), float(abstain_u)

    print("overlap_weight rank_weight margin | answer_contains answer_words")
    for a2, c2, m2 in [(0.3, 0.1, 0.08), (a, c, 0.0), (a, c, 0.08), (a, c, m), (a, c, 0.3), (a, c, 9.0),
                       (0.3, c, m), (0.5, c, m), (1.2, c, m), (a, 0.0, m)]:
        contains, words, _, _ = measure(a2, c2, m2, 0.0)
        print(f"{a2:14} {c2:11} {m2:6} | {contains:15.3f} {words:12.1f}")
    print("min_relevance | abstain answerable  abstain unanswerable  answer_contains")
    for t in (0.3, 0.4, 0.5, 0.55, t0, 0.65, 0.7, 0.8):
        contains, _, abstain, abstain_u = measure(a, c, m, t)
        print(f"{t:13} | {abstain:18.3f} {abstain_u:21.3f} {contains:16.3f}")


if __name__ == "__main__":
    main()
