"""The reference with one known mistake put in: what a signature predicts a target computes.

Each keyword of :func:`forward` and :func:`gradients` is one mistake of docs/check.md,
"Diagnoses"; with none given both equal the plain twin (a test holds them equal).
"""

from __future__ import annotations

import numpy as np

from twinmlp.numpy_impl.functional import ACTIVATIONS, DERIVATIVES
from twinmlp.numpy_impl.plain import one_hot, softmax

Params = dict[str, np.ndarray]


def forward(params: Params, X: np.ndarray, activation: str, alpha: float, *,
            transposed: bool = False) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """MATH.md §1, optionally with square weights used transposed."""
    phi = ACTIVATIONS[activation]
    L = len(params) // 2
    A, Z = [X], [None]
    for l in range(1, L + 1):
        W = params[f"W{l}"]
        W = W.T if transposed and W.shape[0] == W.shape[1] else W
        Z.append(A[l - 1] @ W + params[f"b{l}"])
        A.append(phi(Z[l], alpha) if l < L else softmax(Z[l]))
    return A, Z


def gradients(params: Params, X: np.ndarray, y: np.ndarray, activation: str, alpha: float,
              *, slope: float | None = None, at_zero: float | None = None,
              at_activation: bool = False, label_shift: int = 0,
              raw_labels: bool = False, transposed_backward: bool = False) -> Params:
    """MATH.md §3, §5 with one mistake: the leaky slope ``slope`` in backward, φ'(0) =
    ``at_zero``, φ' evaluated at ``A`` instead of ``Z``, labels shifted by ``label_shift``
    (mod k), integer labels subtracted as they are instead of one-hot, or square weights
    not transposed when the gradient flows back (``G @ W`` for ``G @ Wᵀ``)."""
    A, Z = forward(params, X, activation, alpha)
    L = len(params) // 2
    P = A[L]
    k = P.shape[1]
    Y = (y.astype(P.dtype)[:, None] if raw_labels
         else one_hot((y + label_shift) % k, k, P.dtype))
    G = (P - Y) / P.shape[0]
    grads: Params = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = A[l - 1].T @ G
        grads[f"b{l}"] = G.sum(axis=0)
        if l > 1:
            W = params[f"W{l}"]
            back = W if transposed_backward and W.shape[0] == W.shape[1] else W.T
            G = derivative(Z[l - 1], A[l - 1], G @ back, activation, alpha, slope, at_zero,
                           at_activation)
    return {name: grads[name] for name in params}


def derivative(z: np.ndarray, a: np.ndarray, grad: np.ndarray, activation: str, alpha: float,
               slope: float | None, at_zero: float | None, at_activation: bool) -> np.ndarray:
    """``grad ⊙ φ'`` with the mistakes of :func:`gradients`."""
    if at_activation:
        return DERIVATIVES[activation](a, ACTIVATIONS[activation](a, alpha), grad, alpha)
    if slope is None and at_zero is None:
        return DERIVATIVES[activation](z, a, grad, alpha)
    negative = alpha if activation == "leaky_relu" else 0.0
    factor = np.where(z > 0, 1.0, negative if slope is None else slope)
    if at_zero is not None:
        factor = np.where(z == 0, at_zero, factor)
    return grad * factor
