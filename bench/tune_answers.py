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

from assistant.answer import candidate_sentences, overlap  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaldata import load_squad  # noqa: E402
from assistant.evaluate import build_index, contains_answer  # noqa: E402
from assistant.retrieve import tokenize  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("-k", type=int, default=5)
    args = ap.parse_args()
    settings = Settings.load()
    data = load_squad(args.squad)
    assistant, _ = build_index(settings, data.documents, data.corpus_hash, args.cache)
    retriever = assistant.retriever()
    documents = retriever.store.documents
    vec_cache: dict[str, np.ndarray] = {}
    by_article: dict[str, list[str]] = {}
    for d in data.documents:
        by_article.setdefault(d.title, []).append(d.doc_id)
    rows = []
    for i, q in enumerate(data.questions):
        qv = retriever.query_vector(q.question)
        qtok = tokenize([q.question], settings.stemmer, settings.stopwords)[0]
        for setting in ("answerable", "elsewhere"):
            others = None if setting == "answerable" else [
                d for t, ids in by_article.items() if t != q.article for d in ids]
            hits = retriever.search(q.question, k=args.k, doc_ids=others)
            sents = candidate_sentences(hits, documents)
            todo = [s.text for s in sents if s.text not in vec_cache]
            if todo:
                for t, v in zip(todo, assistant.embedder.embed(todo), strict=True):
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
                    "overlap": overlap(qtok, s.text, settings),
                    "gold": contains_answer(s.text, q.answers),
                } for s in sents],
            })
        if i % 50 == 0:
            print(i, file=sys.stderr, flush=True)
    args.out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
