"""Fit the short-answer ranker (assistant/answer/models/spans.json) on cited quotes of a SQuAD file.

    nice .venv/bin/python bench/tune_short.py ../shared/eval/xquad-dev/xquad.en.dev.json \
        --out /tmp/short.json                     # every question's cited quotes (a minute)
    .venv/bin/python bench/fit_spans.py /tmp/short.json --write      # fit and report (minutes)

The model ranks spans for questions of no asked type (who/when/how many ...
questions keep the rules of shortanswer.py, which the same model did not beat
on them: EM 0.242 vs 0.241 cross-validated). Every candidate span of the quotes
(`shortanswer.span_table`, the product's own code) is labelled by SQuAD exact
match with a gold answer. A conditional logistic model is fitted
(bench/condlogit.py) on the untyped questions and reported two ways, both on
articles it never saw: cross-validation by article (GroupKFold), and fitted on
the even-numbered articles ("tune") and scored on the odd ones ("held out"),
as bench/tune_short.py reports the rules; typed questions are scored with the
rules in every row. The probability a pick needs to be given (`min_share`) is
chosen on the cross-validated picks: the lowest at which they are exactly
right at least --precision of the time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import condlogit  # noqa: E402

from assistant.answer import fitted  # noqa: E402
from assistant.answer.short import short_answer, span_table  # noqa: E402
from assistant.answer.spans import SPAN_FEATURES  # noqa: E402
from assistant.eval.metrics import exact_match, f1_score  # noqa: E402
from assistant.text.questions import answer_type

SHARES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.01)


def table(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        cites = [SimpleNamespace(n=c["n"], chunk=SimpleNamespace(text=c.get("passage", "")),
                                 parts=(SimpleNamespace(quote=c["quote"], start=c["start"]),))
                 for c in r["citations"]] if r["found"] else []
        typed = answer_type(r["question"]) is not None
        rule = short_answer(r["question"], cites) if typed else None  # type: ignore[arg-type]
        spans, feats = span_table(r["question"], cites)  # type: ignore[arg-type]
        out.append({"article": r["article"], "typed": typed, "rule_given": rule is not None,
                    "rule_em": max(exact_match(rule.text, a) for a in r["answers"])
                    if rule else 0.0,
                    "rule_f1": max(f1_score(rule.text, a) for a in r["answers"])
                    if rule else 0.0,
                    "features": feats, "texts": [s.text for s in spans],
                    "em": np.array([max(exact_match(s.text, a) for a in r["answers"])
                                    for s in spans], dtype=bool),
                    "f1": np.array([max(f1_score(s.text, a) for a in r["answers"])
                                    for s in spans])})
    return out


def fit(items: list[dict], c: float) -> fitted.Linear:
    return condlogit.fit([(t["features"], t["em"]) for t in items
                          if not t["typed"] and t["em"].any()], SPAN_FEATURES, c)


def picks(items: list[dict], model: fitted.Linear) -> list[tuple[int, float]]:
    """(index of the pick or -1, the model's probability for it) per question."""
    out = []
    for t in items:
        if not len(t["texts"]):
            out.append((-1, 0.0))
            continue
        z = model.logits(t["features"])
        i = int(np.argmax(z))
        out.append((i, float(1 / np.exp(z - z[i]).sum())))
    return out


def report(label: str, items: list[dict], chosen: list[tuple[int, float]],
           min_share: float) -> None:
    em, f1, given = [], [], []
    for t, (i, p) in zip(items, chosen, strict=True):
        if t["typed"]:
            given.append(t["rule_given"])
            em.append(t["rule_em"])
            f1.append(t["rule_f1"])
            continue
        ok = i >= 0 and p >= min_share
        given.append(ok)
        em.append(float(t["em"][i]) if ok else 0.0)
        f1.append(float(t["f1"][i]) if ok else 0.0)
    n = max(1, sum(given))
    print(f"{label:34s} n={len(items):4d} EM {np.mean(em):.3f} F1 {np.mean(f1):.3f} "
          f"given {np.mean(given):.3f} EM when given {sum(em) / n:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("short", type=Path, help="written by bench/tune_short.py --out")
    ap.add_argument("--folds", type=int, default=6)
    ap.add_argument("-C", type=float, default=1.0)
    ap.add_argument("--precision", type=float, default=0.3,
                    help="EM a pick of an untyped question needs, when given, to be given")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    items = table(json.loads(args.short.read_text(encoding="utf-8")))
    fold_of = condlogit.folds_by_article([t["article"] for t in items], args.folds)
    cv: list[tuple[int, float]] = [(-1, 0.0)] * len(items)
    for f in range(args.folds):
        model = fit([t for t in items if fold_of[t["article"]] != f], args.C)
        for k, t in enumerate(items):
            if fold_of[t["article"]] == f:
                cv[k] = picks([t], model)[0]
    print("cross-validated by article (every figure on articles its model never saw):")
    untyped = [(t, c) for t, c in zip(items, cv, strict=True) if not t["typed"]]
    chosen_share = 1.01
    for share in SHARES:
        report(f"  untyped given at p >= {share}", items, cv, share)
        given = [(t, c) for t, c in untyped if c[0] >= 0 and c[1] >= share]
        prec = np.mean([t["em"][c[0]] for t, c in given]) if given else 0.0
        print(f"    untyped questions: given {len(given) / max(1, len(untyped)):.3f}, "
              f"EM when given {prec:.3f}")
        if prec >= args.precision and share < chosen_share:
            chosen_share = share
    print(f"chosen min_share = {chosen_share}")
    articles = list(dict.fromkeys(t["article"] for t in items))
    half = {a: i % 2 for i, a in enumerate(articles)}
    tune = [t for t in items if half[t["article"]] == 0]
    held = [t for t in items if half[t["article"]] == 1]
    model = fit(tune, args.C)
    report("fitted on tune half, tune half", tune, picks(tune, model), chosen_share)
    report("fitted on tune half, held-out half", held, picks(held, model), chosen_share)
    report("cross-validated, all", items, cv, chosen_share)
    model = fit(items, args.C)
    model = fitted.Linear(model.features, model.coef, model.intercept, model.mean, model.scale,
                          {"min_share": chosen_share})
    if args.write:
        path = fitted.MODELS / "spans.json"
        path.write_text(json.dumps(fitted.to_dict(model, fitted_by="bench/fit_spans.py",
                                                  C=args.C, folds=args.folds), indent=1) + "\n",
                        encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
