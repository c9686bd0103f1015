"""Conditional logistic regression (a softmax over each question's candidates), for the
fit_*.py scripts: the ranker learns which candidate of a question answers it, not how
easy the question is. Fitted with scipy's L-BFGS; the result is a fitted.Linear."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answer import fitted


def fit(groups: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str],
        c: float) -> fitted.Linear:
    """`groups`: (features, gold flags) per question, at least one gold each; L2 penalty 1/c."""
    from scipy.optimize import minimize

    x = np.concatenate([f for f, _ in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    scaled = [((f - mean) / scale, np.asarray(g, dtype=bool)) for f, g in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * float(w @ w) / c, w / c
        for f, g in scaled:
            z = f @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            total -= float(np.log(p[g].sum()))
            grad = grad - ((p[g] / p[g].sum()) @ f[g] - p @ f)
        return total, grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return fitted.Linear(tuple(names), w, 0.0, mean, scale)


def folds_by_article(articles: Sequence[str], folds: int) -> dict[str, int]:
    """Articles dealt round-robin (sorted by name) into `folds` folds."""
    return {a: i % folds for i, a in enumerate(sorted(set(articles)))}
