"""Datasets as both backends see them: standardised float64 features, integer labels.

``digits`` (scikit-learn's 8×8 handwritten digits) is split exactly as the course notebook
split it, and works offline. Every loader returns a :class:`Dataset`, so MNIST-style
loaders plug in beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x − mean) / scale``, fitted on the training rows only.

    Features that are constant on the training rows get ``scale = 1`` (as scikit-learn's
    ``StandardScaler`` does), so they map to 0 instead of dividing by zero.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Statistics of the rows of ``X``."""
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        return cls(mean=mean, scale=scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X`` with the fitted statistics (float64 out)."""
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test splits with integer labels ``0 … n_classes−1``."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    scaler: Standardizer
    class_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        """Width of one input row."""
        return int(self.X_train.shape[1])

    def summary(self) -> str:
        """One line: name and split sizes."""
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} val / "
                f"{len(self.y_test)} test, {self.n_features} features, {self.n_classes} classes")


def split_and_scale(name: str, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
                    y_val: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                    class_names: tuple[str, ...]) -> Dataset:
    """Fit the scaler on the training rows and apply it to all three splits."""
    scaler = Standardizer.fit(np.asarray(X_train, dtype=np.float64))
    labels = [np.asarray(y, dtype=np.int64) for y in (y_train, y_val, y_test)]
    return Dataset(name, scaler.transform(X_train), labels[0], scaler.transform(X_val),
                   labels[1], scaler.transform(X_test), labels[2], len(class_names), scaler,
                   class_names)


def load_digits() -> Dataset:
    """scikit-learn's digits, split as the notebook did: 1149 / 288 / 360.

    Test is 20 % (``random_state=42``), validation 20 % of the rest (``random_state=42``).
    The notebook scaled train and test but forgot validation; here all three are scaled
    with the training statistics.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    X, y = sklearn_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.2,
                                                      random_state=42)
    return split_and_scale("digits", X_train, y_train, X_val, y_val, X_test, y_test,
                           tuple(str(d) for d in range(10)))
