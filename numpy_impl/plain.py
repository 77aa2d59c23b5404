"""The plain recursion of the MLP in NumPy: read this first (MATH.md §1–§7).

Three functions a student reads top to bottom — :func:`forward`, :func:`backward` and
:func:`sgd_step` — on a dict of parameters ``W1, b1, …, WL, bL``. No buffers, no ``out=``,
no fused loss, no memory-layout tricks: every line is one formula of MATH.md. The training
step (``numpy_impl/model.py``) computes the same values faster; the tests hold the two equal.
The activations and their derivatives come from the one table in ``functional.py``.
"""

from __future__ import annotations

import numpy as np

from twinmlp.numpy_impl.functional import ACTIVATIONS, DERIVATIVES
from twinmlp.shared.optim import is_weight

Array = np.ndarray


def softmax(Z: Array) -> Array:
    """Row-wise ``exp(z − m) / Σ_c exp(z_c − m)``, ``m`` the row maximum (MATH.md §2)."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def one_hot(y: Array, k: int, dtype: np.dtype) -> Array:
    """``Y`` (n, k) with ``Y_ij = [j = y_i]`` from labels (n,); one-hot rows pass through."""
    return np.eye(k, dtype=dtype)[y] if y.ndim == 1 else y.astype(dtype)


def cross_entropy(Z: Array, y: Array) -> Array:
    """Mean cross-entropy of the logits ``Z_L`` through log-softmax (MATH.md §2, §3)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(one_hot(y, Z.shape[1], Z.dtype) * log_P).sum() / Z.shape[0]


def forward(params: dict[str, Array], X: Array, activation: str = "leaky_relu",
            alpha: float = 0.01) -> tuple[list[Array], list[Array | None]]:
    """The lists ``A = [X, A_1, …, A_{L-1}, P]`` and ``Z = [None, Z_1, …, Z_L]`` (MATH.md §1)."""
    phi = ACTIVATIONS[activation]
    L = len(params) // 2
    A, Z = [X], [None]
    for l in range(1, L + 1):
        Z.append(A[l - 1] @ params[f"W{l}"] + params[f"b{l}"])
        A.append(phi(Z[l], alpha) if l < L else softmax(Z[l]))
    return A, Z


def backward(params: dict[str, Array], A: list[Array], Z: list[Array | None],
             y: Array, activation: str = "leaky_relu",
             alpha: float = 0.01) -> dict[str, Array]:
    """Gradients of the mean cross-entropy, keyed like ``params`` (MATH.md §3, §5)."""
    phi_prime = DERIVATIVES[activation]
    L = len(params) // 2
    P = A[L]
    G = (P - one_hot(y, P.shape[1], P.dtype)) / P.shape[0]        # G_L, §3
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = A[l - 1].T @ G
        grads[f"b{l}"] = G.sum(axis=0)
        if l > 1:
            G = phi_prime(Z[l - 1], A[l - 1], G @ params[f"W{l}"].T, alpha)   # G_{l-1}
    return {name: grads[name] for name in params}


def sgd_step(params: dict[str, Array], grads: dict[str, Array], lr: float,
             weight_decay: float = 0.0, n_train: int = 1) -> dict[str, Array]:
    """New parameters after one SGD step with the L2 term ``λ/N`` on weights (MATH.md §6, §7)."""
    new = {}
    for name, value in params.items():
        g = grads[name]
        if is_weight(name):
            g = g + (weight_decay / n_train) * value
        new[name] = value - lr * g
    return new
