"""Fit the answer-sentence ranker (assistant/answer/models/sentences.json) on a SQuAD-style file.

    nice .venv/bin/python bench/fit_sentences.py ../shared/eval/xquad-dev/xquad.en.dev.json \
        --record /tmp/sentfeat.json          # features of every candidate sentence (a minute)
    .venv/bin/python bench/fit_sentences.py --load /tmp/sentfeat.json --write   # fit (seconds)

Every question is retrieved as `ask` does; each candidate sentence gets the
product's own features (`ranker.featurize`) and the label "holds a gold answer".
Each question is also asked of the other articles only (abstention). A logistic
regression is fitted with cross-validation BY ARTICLE (GroupKFold): every
figure printed is on articles the fold's model never saw. The second-sentence
margin is chosen on those held-out predictions (most answer_contains at no more
than --max-words words), then the model is refitted on all articles and, with
--write, stored as JSON.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import condlogit  # noqa: E402

from assistant.answer import fitted  # noqa: E402
from assistant.answer.ranker import SENTENCE_FEATURES, featurize  # noqa: E402
from assistant.eval.metrics import contains_answer  # noqa: E402
from assistant.text.passages import OVERLAP_WEIGHT

MARGINS = (0.0, 1.0, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 99.0)


def record(squad: Path, out: Path, cache: Path, k: int) -> list[dict]:
    from assistant.config import Settings
    from assistant.eval.data import load_squad
    from assistant.eval.runners import build_index

    settings = Settings.load()
    data = load_squad(squad)
    assistant, _ = build_index(settings, data.documents, data.corpus_hash, cache)
    retriever = assistant.answerer.retriever()
    documents = retriever.store.documents
    by_article: dict[str, list[str]] = {}
    for d in data.documents:
        by_article.setdefault(d.title, []).append(d.doc_id)
    rows = []
    for q in data.questions:
        for setting in ("answerable", "elsewhere"):
            others = None if setting == "answerable" else [
                d for t, ids in by_article.items() if t != q.article for d in ids]
            hits = retriever.search(q.question, k=k, doc_ids=others)
            sents, feats = featurize(q.question, hits, documents, assistant.indexer.embedder, retriever.analyzer,
                                     retriever.query_vector(q.question),
                                     retriever.store.sentence_vectors, units=False)
            rows.append({"qid": q.qid, "article": q.article, "setting": setting,
                         "features": feats.round(6).tolist(),
                         "gold": [contains_answer(s.text, q.answers) for s in sents],
                         "words": [len(s.text.split()) for s in sents]})
    out.write_text(json.dumps({"features": list(SENTENCE_FEATURES), "rows": rows}),
                   encoding="utf-8")
    return rows


def select(scores: np.ndarray, rel: np.ndarray, margin: float, threshold: float) -> list[int]:
    """answer.extractive_answer's choice on recorded features: [] = abstain."""
    if not len(scores):
        return []
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    if rel[best] < threshold:
        return []
    chosen = [best]
    if len(order) > 1:
        two = int(order[1])
        if scores[two] >= scores[best] - margin and rel[two] >= threshold:
            chosen.append(two)
    return chosen


def measure(rows: list[dict], scores: list[np.ndarray], margin: float,
            threshold: float) -> dict[str, float]:
    ans = [(r, s) for r, s in zip(rows, scores, strict=True) if r["setting"] == "answerable"]
    els = [(r, s) for r, s in zip(rows, scores, strict=True) if r["setting"] == "elsewhere"]
    picks = [(r, select(s, _relevance(r), margin, threshold)) for r, s in ans]
    words = [sum(r["words"][i] for i in p) for r, p in picks if p]
    return {"answer_contains": float(np.mean([any(r["gold"][i] for i in p) for r, p in picks])),
            "answer_words": float(np.mean(words)) if words else 0.0,
            "abstain": float(np.mean([not p for _, p in picks])),
            "abstain_unanswerable": float(np.mean(
                [not select(s, _relevance(r), margin, threshold) for r, s in els]))}


def _relevance(row: dict) -> np.ndarray:
    f = np.asarray(row["features"]).reshape(-1, len(SENTENCE_FEATURES))
    return f[:, SENTENCE_FEATURES.index("similarity")] + \
        OVERLAP_WEIGHT * f[:, SENTENCE_FEATURES.index("overlap")]


def hand_scores(row: dict) -> np.ndarray:
    """The hand-set score before this model: cosine + 0.8 overlap + 0.1 prior + 0.2 type."""
    f = np.asarray(row["features"]).reshape(-1, len(SENTENCE_FEATURES))
    col = SENTENCE_FEATURES.index
    return _relevance(row) + 0.1 * f[:, col("passage_prior")] + 0.2 * f[:, col("type_match")]


def fit(rows: list[dict], c: float, pointwise: bool = False) -> fitted.Linear:
    train = [r for r in rows if r["setting"] == "answerable" and any(r["gold"])]
    groups = [(np.asarray(r["features"]), np.asarray(r["gold"])) for r in train]
    if not pointwise:
        return condlogit.fit(groups, SENTENCE_FEATURES, c)
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([f for f, _ in groups])
    y = np.concatenate([g for _, g in groups]).astype(int)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return fitted.Linear(SENTENCE_FEATURES, lr.coef_[0], float(lr.intercept_[0]), mean, scale)


def cross_validated(rows: list[dict], c: float, folds: int,
                    pointwise: bool = False) -> list[np.ndarray]:
    """Each question's sentence logits from the model fitted on the other articles' folds."""
    fold_of = condlogit.folds_by_article([r["article"] for r in rows], folds)
    out: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for f in range(folds):
        model = fit([r for r in rows if fold_of[r["article"]] != f], c, pointwise)
        for i, r in enumerate(rows):
            if fold_of[r["article"]] == f:
                out[i] = model.logits(np.asarray(r["features"]).reshape(-1, len(SENTENCE_FEATURES)))
    return out


def main() -> None:
    from assistant.config import MIN_RELEVANCE, Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("squad", nargs="?", type=Path)
    ap.add_argument("--record", type=Path, help="write the features here (needs SQUAD)")
    ap.add_argument("--load", type=Path, help="read features written by --record")
    ap.add_argument("--cache", type=Path, default=Path("index/eval"))
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("--max-words", type=float, default=39.0)
    ap.add_argument("--pointwise", action="store_true",
                    help="a per-sentence logistic regression (scikit-learn) instead of the "
                         "softmax over each question's candidates")
    ap.add_argument("--write", action="store_true", help="store the model in assistant/answer/models")
    args = ap.parse_args()
    if args.record:
        rows = record(args.squad, args.record, args.cache, args.k)
    else:
        data = json.loads(args.load.read_text(encoding="utf-8"))
        if tuple(data["features"]) != SENTENCE_FEATURES:
            sys.exit(f"{args.load} holds other features than answer.py computes; record again")
        rows = data["rows"]
    t = Settings.load().min_relevance or MIN_RELEVANCE
    hand = [hand_scores(r) for r in rows]
    print("held-out articles (GroupKFold by article) | answer_contains  words  abstain  "
          "abstain_unanswerable")
    for margin in (0.0, 0.2, 0.3):
        m = measure(rows, hand, margin, t)
        print(f"hand-set weights, margin {margin} (0.2 before) | {m['answer_contains']:.3f}  "
              f"{m['answer_words']:5.1f}  {m['abstain']:.3f}  {m['abstain_unanswerable']:.3f}")
    best: tuple[float, float, float] | None = None
    for c in (1.0, 10.0):
        scores = cross_validated(rows, c, args.folds, args.pointwise)
        for margin in MARGINS:
            m = measure(rows, scores, margin, t)
            print(f"fitted C={c:<4} margin {margin:<4}                | "
                  f"{m['answer_contains']:.3f}  {m['answer_words']:5.1f}  {m['abstain']:.3f}  "
                  f"{m['abstain_unanswerable']:.3f}")
            if m["answer_words"] <= args.max_words and (
                    best is None or m["answer_contains"] > best[0]):
                best = (m["answer_contains"], c, margin)
    if best is None:
        sys.exit("no setting stays within --max-words")
    print(f"chosen: C={best[1]} margin={best[2]} (held-out answer_contains {best[0]:.3f})")
    model = fit(rows, best[1], args.pointwise)
    model = fitted.Linear(model.features, model.coef, model.intercept, model.mean, model.scale,
                          {"second_margin": best[2]})
    for name, w in zip(model.features, model.coef, strict=True):
        print(f"  {name:18s} {w:+.3f}")
    if args.write:
        path = fitted.MODELS / "sentences.json"
        path.write_text(json.dumps(fitted.to_dict(
            model, fitted_by="bench/fit_sentences.py", C=best[1], folds=args.folds,
            held_out_answer_contains=round(best[0], 4)), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
