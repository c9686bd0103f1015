"""SQuAD v1.1's answer metrics: normalisation, exact match and token F1 (the official script's)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

from ..types import Answer

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of the normalised texts, as SQuAD v1.1's evaluate-v1.1.py computes it."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_scores(prediction: str | None, answers: Iterable[str]) -> tuple[float, float]:
    """(EM, F1) of a prediction against its best gold answer; (0, 0) when there is none."""
    golds = list(answers)
    if prediction is None or not golds:
        return 0.0, 0.0
    return (max(exact_match(prediction, g) for g in golds),
            max(f1_score(prediction, g) for g in golds))


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True when a normalised gold answer occurs, as whole words, in the normalised text."""
    hay = f" {normalize_answer(text)} "
    return any(f" {a} " in hay for a in map(normalize_answer, answers) if a)


def answer_body(answer: Answer) -> str:
    """The answer's sentences without their markers."""
    return " ".join(s.text for s in answer.sentences)
