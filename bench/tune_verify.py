"""Tune the citation checker's thresholds (verify.MIN_SIMILARITY, verify.MIN_OVERLAP) on XQuAD dev.

    .venv/bin/python bench/tune_verify.py [--squad ../shared/eval/xquad-dev/xquad.en.dev.json]

Labelled (claim, cited passage) pairs are built from each question, its gold
answer and the passages retrieval returns for it:

  supported   "question + gold answer" cited to the gold paragraph (a restated answer),
              and the gold sentence itself cited to the gold paragraph (a verbatim claim);
  wrong       "question + gold answer" cited to the best-ranked other passage that does
              not contain the answer (the citation points at the wrong passage);
  invented    "question + an answer from another article" cited to the gold paragraph
              (the claim adds a fact the passage does not hold);
  swapped     "question + the answer to another question on the same paragraph" cited to
              the gold paragraph (every word is in the passage; the relation is wrong).

Thresholds are chosen on the first half of the articles (balanced accuracy) and
reported on the second half, which played no part in choosing them.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.eval.data import load_squad  # noqa: E402
from assistant.eval.metrics import contains_answer  # noqa: E402
from assistant.eval.runners import build_index  # noqa: E402
from assistant.generate import verify  # noqa: E402
from assistant.text.analyzer import Analyzer  # noqa: E402

SQUAD = ROOT.parent / "shared" / "eval" / "xquad-dev" / "xquad.en.dev.json"


class CachedEmbedder:
    """Wraps an embedder so that passage sentences shared by many questions are embedded once."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim, self.max_seq_length = inner.name, inner.dim, inner.max_seq_length
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None):
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.inner.embed(todo), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def pairs(assistant, data, embedder, settings: Settings, seed: int = 0):
    """(article, kind, label, similarity, overlap, numbers_ok) for every constructed pair."""
    rng = random.Random(seed)
    retriever = assistant.answerer.retriever()
    documents = retriever.store.documents
    rows = []
    for q in data.questions:
        hits = retriever.search(q.question, k=5)
        gold = next((i for i, h in enumerate(hits) if h.chunk.doc_id == q.doc_id), None)
        if gold is None:
            continue
        checker = verify.Checker(q.question, hits, documents, embedder, Analyzer.of(settings))
        answer = q.answers[0]
        restated = f"{q.question.strip().rstrip('?')}: {answer}."
        doc = documents[q.doc_id]
        at = doc.text.find(answer)
        verbatim = next((s.text for s in checker.sentences[gold] if at >= 0
                         and s.start <= at < s.end), None)
        other = rng.choice([x for x in data.questions if x.article != q.article])
        invented = f"{q.question.strip().rstrip('?')}: {other.answers[0]}."
        wrong = next((i for i, h in enumerate(hits) if h.chunk.doc_id != q.doc_id
                      and not contains_answer(h.chunk.text, q.answers)), None)
        cases = [("restated", True, restated, gold)]
        if verbatim:
            cases.append(("verbatim", True, verbatim, gold))
        if wrong is not None:
            cases.append(("wrong passage", False, restated, wrong))
        if not contains_answer(hits[gold].chunk.text, other.answers):
            cases.append(("invented", False, invented, gold))
        sibling = [x for x in data.questions if x.doc_id == q.doc_id
                   and not contains_answer(x.answers[0], q.answers)
                   and not contains_answer(answer, x.answers)]
        if sibling:
            swapped = f"{q.question.strip().rstrip('?')}: {rng.choice(sibling).answers[0]}."
            cases.append(("swapped answer", False, swapped, gold))
        vecs = embedder.embed([c[2] for c in cases])
        for (kind, label, claim, hit), vec in zip(cases, vecs, strict=True):
            s = checker.support(claim, vec, hit)
            rows.append((q.article, kind, label, s.similarity, s.overlap, s.numbers_ok))
    return rows


def scores(rows, sim: float, ov: float) -> dict[str, float]:
    pred = np.array([n and s >= sim and o >= ov for _, _, _, s, o, n in rows])
    gold = np.array([r[2] for r in rows])
    tp, fp = int((pred & gold).sum()), int((pred & ~gold).sum())
    tpr = tp / max(1, gold.sum())
    tnr = int((~pred & ~gold).sum()) / max(1, (~gold).sum())
    return {"balanced_accuracy": (tpr + tnr) / 2, "precision": tp / max(1, tp + fp),
            "recall": tpr, "specificity": tnr}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--squad", type=Path, default=SQUAD)
    ap.add_argument("--cache", type=Path, default=ROOT / "index" / "eval")
    args = ap.parse_args(argv)
    from assistant.embed import load_embedder

    settings = Settings.load(env={})
    data = load_squad(args.squad)
    embedder = CachedEmbedder(load_embedder(settings))
    assistant, _ = build_index(settings, data.documents, data.corpus_hash, args.cache, embedder)
    rows = pairs(assistant, data, embedder, settings)
    articles = list(dict.fromkeys(q.article for q in data.questions))
    tune_set = set(articles[: len(articles) // 2])
    tune = [r for r in rows if r[0] in tune_set]
    check = [r for r in rows if r[0] not in tune_set]
    grid = [(round(float(s), 2), round(float(o), 2)) for s in np.arange(0.2, 0.85, 0.025)
            for o in np.arange(0.0, 1.01, 0.1)]
    best = max(grid, key=lambda g: scores(tune, *g)["balanced_accuracy"])
    print(f"pairs: {len(tune)} to tune, {len(check)} to check "
          f"({sum(r[2] for r in rows)} supported, {sum(not r[2] for r in rows)} not)")
    print(f"chosen on the tuning half: MIN_SIMILARITY={best[0]}, MIN_OVERLAP={best[1]}")
    current = (verify.MIN_SIMILARITY, verify.MIN_OVERLAP)
    print("\n| thresholds (sim, overlap) | set | balanced acc. | precision | recall | specificity |")
    print("|---|---|---|---|---|---|")
    for name, g in (("chosen", best), ("in verify.py", current), ("similarity only", (best[0], 0.0)),
                    ("overlap only", (-1.0, best[1]))):
        for label, part in (("tune", tune), ("check", check)):
            m = scores(part, *g)
            print(f"| {name} {g} | {label} | {m['balanced_accuracy']:.3f} | {m['precision']:.3f} "
                  f"| {m['recall']:.3f} | {m['specificity']:.3f} |")
    print("\nmedian similarity / overlap by kind (all pairs):")
    for kind in ("verbatim", "restated", "wrong passage", "invented", "swapped answer"):
        part = [r for r in rows if r[1] == kind]
        print(f"  {kind:14s} {np.median([r[3] for r in part]):.3f} / "
              f"{np.median([r[4] for r in part]):.3f}")
    print("\nshare marked verified on the check half, by kind (thresholds in verify.py):")
    for kind in ("verbatim", "restated", "wrong passage", "invented", "swapped answer"):
        part = [r for r in check if r[1] == kind]
        ok = [n and s >= current[0] and o >= current[1] for _, _, _, s, o, n in part]
        print(f"  {kind:14s} {np.mean(ok):.3f}  (n={len(part)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
