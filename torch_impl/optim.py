"""Optimizers that update torch parameters in place (MATH.md §6, §7)."""

from __future__ import annotations

import numpy as np
import torch

Array = torch.Tensor


class SGD:
    """Plain stochastic gradient descent with the L2 term of MATH.md §6 (MATH.md §7).

    ``weight_decay`` is the coefficient on ``W`` in the gradient, i.e. ``λ/N``; it is
    applied to the weights (keys ``W…``) and never to the biases.
    """

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = weight_decay

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """``θ ← θ − η (g + (λ/N) θ)`` for weights, ``θ ← θ − η g`` for biases."""
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay and name.startswith("W"):
                grad = grad + param * self.weight_decay
            param -= grad * self.lr

    def state_dict(self) -> dict[str, np.ndarray]:
        """Optimizer state as NumPy arrays (plain SGD has none)."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore the state written by :meth:`state_dict`."""


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0) -> SGD:
    """The optimizer called ``name`` (validated by ``TrainConfig``)."""
    if name != "sgd":
        raise ValueError(f"optimizer = {name!r} is not allowed: expected one of sgd")
    return SGD(lr, weight_decay)
