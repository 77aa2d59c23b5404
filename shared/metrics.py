"""Classification metrics on NumPy arrays of integer labels."""

from __future__ import annotations

import numpy as np

from twinmlp.shared.errors import TwinMLPError


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of positions where ``y_pred`` equals ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise TwinMLPError(f"accuracy needs two non-empty label arrays of one shape, "
                         f"got {y_true.shape} and {y_pred.shape}")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts
