"""Activations, softmax and cross-entropy on torch tensors (MATH.md §2–§4).

Each activation sits beside its derivative; both are keyed by name in
:data:`ACTIVATIONS` and :data:`DERIVATIVES`. A derivative takes the pre-activation ``z``,
the activation ``a = φ(z)`` (tanh and sigmoid reuse ``a``) and the incoming gradient, and
multiplies that gradient by ``φ'(z)`` in place (as scikit-learn's ``inplace_*_derivative``
do), which is all backpropagation needs of it (MATH.md §5). Functions that take ``out``
write into that buffer instead of allocating (the training step reuses its buffers).
Every function keeps the dtype and device of its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Array = torch.Tensor

#: ``sqrt(2/π)`` of GELU's tanh form (MATH.md §4).
GELU_C = math.sqrt(2 / math.pi)


def linear(a: Array, w: Array, b: Array, out: Array | None = None) -> Array:
    """``Z = A @ W + b`` (MATH.md §1), into ``out`` when given."""
    return torch.addmm(b, a, w, out=out)


def leaky_relu(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``z`` if ``z > 0`` else ``α z`` (MATH.md §4)."""
    # ATen's leaky_relu, one kernel (docs/benchmarks.md, "Fast path: activations")
    if out is None:
        return torch.ops.aten.leaky_relu(z, alpha)
    return torch.ops.aten.leaky_relu.out(z, alpha, out=out)


def leaky_relu_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = 1`` if ``z > 0`` else ``α``, α also at ``z = 0``
    (MATH.md §4)."""
    # one ATen kernel, for speed (docs/benchmarks.md, "Fast path: activations")
    return torch.ops.aten.leaky_relu_backward.grad_input(grad, z, alpha, False,
                                                         grad_input=grad)


def relu(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``max(z, 0)`` (MATH.md §4); ``alpha`` is ignored."""
    return torch.clamp_min(z, 0, out=out)


def relu_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = 1`` if ``z > 0`` else ``0`` (MATH.md §4)."""
    grad *= z > 0
    return grad


def tanh(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``tanh z`` (MATH.md §4)."""
    return torch.tanh(z, out=out)


def tanh_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = 1 − tanh² z = 1 − a²`` (MATH.md §4)."""
    grad *= 1 - a * a
    return grad


def sigmoid(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``1 / (1 + e^{−z})`` without overflow (MATH.md §4)."""
    e = torch.exp(-torch.abs(z))
    return _into(torch.where(z >= 0, 1 / (1 + e), e / (1 + e)), out)


def sigmoid_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = σ(z)(1 − σ(z)) = a (1 − a)`` (MATH.md §4)."""
    grad *= a * (1 - a)
    return grad


def gelu(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``½ z (1 + tanh(c (z + 0.044715 z³)))``, ``c = sqrt(2/π)`` (MATH.md §4)."""
    return _into(0.5 * z * (1 + torch.tanh(GELU_C * (z + 0.044715 * z * z * z))), out)


def gelu_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = ½ (1 + t) + ½ z (1 − t²) c (1 + 3·0.044715 z²)``,
    ``t = tanh(c (z + 0.044715 z³))`` (MATH.md §4)."""
    t = torch.tanh(GELU_C * (z + 0.044715 * z * z * z))
    grad *= 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z)
    return grad


def silu(z: Array, alpha: float = 0.01, out: Array | None = None) -> Array:
    """``z σ(z)`` (MATH.md §4), with σ as in :func:`sigmoid` (no overflow)."""
    return _into(z * sigmoid(z), out)


def silu_derivative(z: Array, a: Array, grad: Array, alpha: float = 0.01) -> Array:
    """``grad ⊙ φ'(z)`` in place: ``φ'(z) = σ(z)(1 + z(1 − σ(z)))`` (MATH.md §4); σ is
    computed again from ``z``, since ``a = z σ(z)`` does not give it back at ``z = 0``."""
    s = sigmoid(z)
    grad *= s * (1 + z * (1 - s))
    return grad


def _into(value: Array, out: Array | None) -> Array:
    """``value``, copied into ``out`` when a buffer is given."""
    if out is None:
        return value
    return out.copy_(value)


ACTIVATIONS: dict[str, Callable[..., Array]] = {
    "leaky_relu": leaky_relu, "relu": relu, "tanh": tanh, "sigmoid": sigmoid, "gelu": gelu,
    "silu": silu,
}
DERIVATIVES: dict[str, Callable[..., Array]] = {
    "leaky_relu": leaky_relu_derivative, "relu": relu_derivative,
    "tanh": tanh_derivative, "sigmoid": sigmoid_derivative, "gelu": gelu_derivative,
    "silu": silu_derivative,
}


def softmax(z: Array, out: Array | None = None) -> Array:
    """Row-wise softmax with the row maximum subtracted (MATH.md §2); ``out`` may be ``z``."""
    shifted = torch.sub(z, z.amax(dim=1, keepdim=True), out=out)
    e = torch.exp(shifted, out=shifted)
    e /= e.sum(dim=1, keepdim=True)
    return e


def log_softmax(z: Array) -> Array:
    """Row-wise log-softmax with the row maximum subtracted (MATH.md §2)."""
    shifted = z - z.amax(dim=1, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))


def cross_entropy(logits: Array, y: Array) -> Array:
    """Mean cross-entropy of ``logits`` (n, k) against labels (n,) or one-hot (n, k),
    through :func:`log_softmax` (MATH.md §3). Returns a 0-d tensor."""
    logp = log_softmax(logits)
    n = logits.shape[0]
    if y.ndim == 1:
        return -logp[torch.arange(n, device=logits.device), y].sum() / n
    return -(y * logp).sum() / n


def softmax_cross_entropy(logits: Array, y: Array, out: Array | None = None
                          ) -> tuple[Array, Array]:
    """Probabilities and the *summed* cross-entropy of integer labels in one pass: with
    ``m`` the row maximum and ``s = Σ_c exp(z_c − m)``, ``P = exp(z − m) / s`` and
    ``−log P_{i,y_i} = log s_i − (z − m)_{i,y_i}`` (MATH.md §2, §3). ``out`` may be a
    buffer for ``P``. ``s ≥ 1``, so the logarithm is always finite, and every term of the
    sum is ``≥ 0`` (no cancellation)."""
    shifted = torch.sub(logits, logits.amax(dim=1, keepdim=True), out=out)
    picked = torch.gather(shifted, 1, y.unsqueeze(1))
    e = torch.exp(shifted, out=shifted)
    total = e.sum(dim=1, keepdim=True)
    e /= total
    return e, torch.sum(torch.log(total) - picked)


def cross_entropy_grad(probs: Array, y: Array, out: Array | None = None,
                       n_total: int | None = None) -> Array:
    """``(P − Y) / n``, the gradient of the mean cross-entropy at the logits (MATH.md §3);
    integer labels subtract 1 in place instead of building ``Y``. ``out`` may be ``probs``.
    ``n_total`` divides by a global batch size instead of this batch's rows: a
    data-parallel rank's share of the global mean (MATH.md §14)."""
    n = probs.shape[0]
    if out is None:
        grad = probs.clone()
    else:
        grad = out if out is probs else _into(probs, out)
    if y.ndim == 1:
        # −1 at (i, y_i) in one kernel (docs/benchmarks.md, "Fast path: gradient at the logits")
        grad.scatter_add_(1, y.unsqueeze(1), grad.new_full((1, 1), -1.0).expand(n, 1))
    else:
        grad -= y
    grad /= n if n_total is None else n_total
    return grad
