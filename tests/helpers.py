"""Helpers shared by the tests: random problems and central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def random_problem(layer_sizes: list[int], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs and uniform labels for a network of ``layer_sizes``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, layer_sizes[0]))
    y = rng.integers(0, layer_sizes[-1], size=n)
    return X, y


def random_architecture(depth: int, seed: int) -> tuple[list[int], int]:
    """Layer sizes with ``depth`` weight layers and a batch size, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    widths = rng.integers(2, 9, size=depth + 1).tolist()
    widths[-1] = int(rng.integers(2, 6))
    return widths, int(rng.integers(1, 12))


def central_differences(loss: Callable[[], float], params: dict[str, np.ndarray],
                        eps: float = 1e-6) -> dict[str, np.ndarray]:
    """``(loss(θ + ε e_i) − loss(θ − ε e_i)) / 2ε`` for every entry of every parameter,
    perturbing ``params`` in place and restoring each entry."""
    grads = {}
    for name, param in params.items():
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            plus = loss()
            param[index] = saved - eps
            minus = loss()
            param[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads
