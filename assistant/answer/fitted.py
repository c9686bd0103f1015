"""Logistic models fitted offline (bench/fit_*.py), stored as JSON, applied with numpy.

A model file (assistant/answer/models/<name>.json) holds the feature names in order, the
standardisation (mean, scale), the coefficients, the intercept and any tuned
settings that go with it (e.g. the second-sentence margin): plain JSON, and no
scikit-learn at run time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssistantError

MODELS = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Linear:
    """A fitted logistic model: logit = ((x - mean) / scale) . coef + intercept."""

    features: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """One logit per row of `rows` (columns in the order of `features`)."""
        if rows.size == 0:
            return np.zeros(len(rows))
        return ((rows - self.mean) / self.scale) @ self.coef + self.intercept

    def check(self, names: Sequence[str], path: Path | str = "") -> None:
        """Raise when the code computes other features than the file was fitted on."""
        if tuple(names) != self.features:
            raise AssistantError(f"{path or 'the model file'} was fitted on features "
                                 f"{list(self.features)}, the code computes {list(names)}; "
                                 "refit it with the bench/fit_*.py script that wrote it")


def from_dict(data: dict[str, Any]) -> Linear:
    n = len(data["features"])
    arrays = [np.asarray(data[k], dtype=np.float64) for k in ("coef", "mean", "scale")]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError("coef, mean and scale must each hold one number per feature")
    return Linear(tuple(data["features"]), arrays[0], float(data["intercept"]), arrays[1],
                  arrays[2], dict(data.get("settings", {})))


def to_dict(model: Linear, **info: Any) -> dict[str, Any]:
    return {"features": list(model.features), "coef": [round(float(c), 6) for c in model.coef],
            "intercept": round(model.intercept, 6),
            "mean": [round(float(m), 6) for m in model.mean],
            "scale": [round(float(s), 6) for s in model.scale],
            "settings": model.settings, **info}


@functools.lru_cache(maxsize=8)
def load(name: str, features: tuple[str, ...]) -> Linear:
    """assistant/models/<name>.json, checked against the features the code computes."""
    path = MODELS / f"{name}.json"
    try:
        model = from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssistantError(f"cannot read the fitted model {path}: {exc}; reinstall the "
                             f"package or refit it with bench/fit_*.py") from exc
    model.check(features, path)
    return model
