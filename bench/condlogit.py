"""Conditional logistic regression (a softmax over each question's candidates), for the
fit_*.py scripts: the ranker learns which candidate of a question answers it, not how
easy the question is. Fitted with scipy's L-BFGS; the result is a fitted.Linear."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answer import fitted


def fit(groups: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str],
        c: float, weights: Sequence[float] | None = None,
        offsets: Sequence[np.ndarray] | None = None, standardise: bool = True) -> fitted.Linear:
    """`groups`: (features, gold flags) per question, at least one gold each; L2 penalty 1/c;
    `weights`: one per question (1 each by default), e.g. to weigh corpora alike; `offsets`:
    a fixed logit per candidate that the fitted one is added to (another model's);
    `standardise=False` when the caller has scaled the features itself."""
    from scipy.optimize import minimize

    x = np.concatenate([f for f, _ in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    if not standardise:
        mean, scale = np.zeros_like(mean), np.ones_like(scale)
    scaled = [((f - mean) / scale, np.asarray(g, dtype=bool)) for f, g in groups]
    ws = [1.0] * len(scaled) if weights is None else [float(w) for w in weights]
    base = [np.zeros(len(g)) for _, g in groups] if offsets is None else list(offsets)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * float(w @ w) / c, w / c
        for (f, g), k, z0 in zip(scaled, ws, base, strict=True):
            z = f @ w + z0
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= k * float(np.log(p[g].sum()))
            grad = grad - k * ((p[g] / p[g].sum()) @ f[g] - p @ f)
        return total, grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return fitted.Linear(tuple(names), w, 0.0, mean, scale)


def folds_by_article(articles: Sequence[str], folds: int) -> dict[str, int]:
    """Articles dealt round-robin (sorted by name) into `folds` folds."""
    return {a: i % folds for i, a in enumerate(sorted(set(articles)))}
