"""Activations, softmax and cross-entropy on NumPy arrays (MATH.md §2–§4).

Each activation sits beside its derivative; both are keyed by name in
:data:`ACTIVATIONS` and :data:`DERIVATIVES`. A derivative takes the pre-activation ``z``
and the activation ``a = φ(z)`` (tanh and sigmoid reuse ``a``), and returns ``φ'(z)``.
Every function keeps the dtype of its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Array = np.ndarray

#: ``sqrt(2/π)`` of GELU's tanh form (MATH.md §4).
GELU_C = math.sqrt(2 / math.pi)


def leaky_relu(z: Array, alpha: float = 0.01) -> Array:
    """``z`` if ``z > 0`` else ``α z`` (MATH.md §4)."""
    return np.where(z > 0, z, z * z.dtype.type(alpha))


def leaky_relu_derivative(z: Array, a: Array, alpha: float = 0.01) -> Array:
    """``1`` if ``z > 0`` else ``α``, α also at ``z = 0`` (MATH.md §4)."""
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(alpha))


def relu(z: Array, alpha: float = 0.01) -> Array:
    """``max(z, 0)`` (MATH.md §4); ``alpha`` is ignored."""
    return np.maximum(z, z.dtype.type(0))


def relu_derivative(z: Array, a: Array, alpha: float = 0.01) -> Array:
    """``1`` if ``z > 0`` else ``0`` (MATH.md §4)."""
    return (z > 0).astype(z.dtype)


def tanh(z: Array, alpha: float = 0.01) -> Array:
    """``tanh z`` (MATH.md §4)."""
    return np.tanh(z)


def tanh_derivative(z: Array, a: Array, alpha: float = 0.01) -> Array:
    """``1 − tanh² z = 1 − a²`` (MATH.md §4)."""
    return 1 - a * a


def sigmoid(z: Array, alpha: float = 0.01) -> Array:
    """``1 / (1 + e^{−z})`` without overflow (MATH.md §4)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_derivative(z: Array, a: Array, alpha: float = 0.01) -> Array:
    """``σ(z)(1 − σ(z)) = a (1 − a)`` (MATH.md §4)."""
    return a * (1 - a)


def gelu(z: Array, alpha: float = 0.01) -> Array:
    """``½ z (1 + tanh(c (z + 0.044715 z³)))``, ``c = sqrt(2/π)`` (MATH.md §4)."""
    return 0.5 * z * (1 + np.tanh(GELU_C * (z + 0.044715 * z * z * z)))


def gelu_derivative(z: Array, a: Array, alpha: float = 0.01) -> Array:
    """``½ (1 + t) + ½ z (1 − t²) c (1 + 3·0.044715 z²)``, ``t = tanh(c (z + 0.044715 z³))``
    (MATH.md §4)."""
    t = np.tanh(GELU_C * (z + 0.044715 * z * z * z))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z)


ACTIVATIONS: dict[str, Callable[..., Array]] = {
    "leaky_relu": leaky_relu, "relu": relu, "tanh": tanh, "sigmoid": sigmoid, "gelu": gelu,
}
DERIVATIVES: dict[str, Callable[..., Array]] = {
    "leaky_relu": leaky_relu_derivative, "relu": relu_derivative,
    "tanh": tanh_derivative, "sigmoid": sigmoid_derivative, "gelu": gelu_derivative,
}


def softmax(z: Array) -> Array:
    """Row-wise softmax with the row maximum subtracted (MATH.md §2)."""
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z: Array) -> Array:
    """Row-wise log-softmax with the row maximum subtracted (MATH.md §2)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def cross_entropy(logits: Array, y: Array) -> Array:
    """Mean cross-entropy of ``logits`` (n, k) against labels (n,) or one-hot (n, k),
    through :func:`log_softmax` (MATH.md §3). Returns a 0-d array."""
    logp = log_softmax(logits)
    n = logits.shape[0]
    if y.ndim == 1:
        return -logp[np.arange(n), y].sum() / n
    return -(y * logp).sum() / n


def cross_entropy_grad(probs: Array, y: Array) -> Array:
    """``(P − Y) / n``, the gradient of the mean cross-entropy at the logits (MATH.md §3);
    integer labels subtract 1 in place instead of building ``Y``."""
    n = probs.shape[0]
    grad = probs.copy()
    if y.ndim == 1:
        grad[np.arange(n), y] -= 1
    else:
        grad -= y
    grad /= n
    return grad
