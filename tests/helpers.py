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


def tiny_idx_arrays(n_train: int = 600, n_test: int = 100, seed: int = 0
                    ) -> dict[str, np.ndarray]:
    """A learnable MNIST-shaped dataset: class ``c`` lights a 6×6 patch at a place of its
    own on a noisy 28×28 image. Keys are the four IDX file names."""
    rng = np.random.default_rng(seed)

    def images(labels: np.ndarray) -> np.ndarray:
        out = rng.integers(0, 60, size=(len(labels), 28, 28))
        for i, label in enumerate(labels):
            row, col = 2 + 8 * (label // 4), 2 + 6 * (label % 4)
            out[i, row:row + 6, col:col + 6] += 180
        return out.astype(np.uint8)

    train_labels = rng.integers(0, 10, size=n_train).astype(np.uint8)
    test_labels = rng.integers(0, 10, size=n_test).astype(np.uint8)
    return {"train-images-idx3-ubyte": images(train_labels),
            "train-labels-idx1-ubyte": train_labels,
            "t10k-images-idx3-ubyte": images(test_labels),
            "t10k-labels-idx1-ubyte": test_labels}
