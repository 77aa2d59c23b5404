"""Optimizers that update torch parameters in place (MATH.md §6, §7, §11).

``weight_decay`` is always the coefficient ``δ = λ/N`` of MATH.md §6, applied to the
weights (keys ``W…``) and never to the biases. The bookkeeping (learning rate, decay,
state dict, the coupled L2 term) is ``twinmlp.shared.optim.OptimizerBase``; here are the
updates and the conversions of the state, which round-trips through ``state_dict``.
"""

from __future__ import annotations

import numpy as np
import torch

from twinmlp.shared.optim import OptimizerBase, build, is_weight

Array = torch.Tensor


class Optimizer(OptimizerBase):
    """The twin's state conversions over the shared bookkeeping."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the optimizer state as NumPy arrays (loadable by either backend)."""
        return {key: value.detach().cpu().numpy().copy() for key, value in self.state.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore the state written by :meth:`state_dict` (of either backend)."""
        self.state = {key: torch.as_tensor(np.array(value, copy=True)) for key, value in
                      state.items()}

    def _on(self, param: Array, key: str) -> Array:
        """State ``key`` on ``param``'s device and dtype (zeros when new); loaded state
        arrives on the CPU and moves once."""
        value = self.state.get(key)
        if value is None:
            value = torch.zeros_like(param)
        elif value.device != param.device or value.dtype != param.dtype:
            value = value.to(device=param.device, dtype=param.dtype)
        self.state[key] = value
        return value

    def _scaled(self, key: str, value: Array, factor: float) -> Array:
        """``value · factor`` in the work array ``key``: no temporary per step. The array is
        overwritten, so each key has one use (``"W1.coupled"``, ``"W1.step"``)."""
        scratch = self._scratch.get(key)
        if (scratch is None or scratch.shape != value.shape or scratch.dtype != value.dtype
                or scratch.device != value.device):
            scratch = self._scratch[key] = torch.empty_like(value)
        return torch.mul(value, factor, out=scratch)


class SGD(Optimizer):
    """SGD, optionally with momentum or Nesterov momentum (MATH.md §7, §11)."""

    OPTIONS = ("momentum", "nesterov")

    def __init__(self, lr: float, weight_decay: float = 0.0, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(lr, weight_decay)
        self.momentum = momentum
        self.nesterov = nesterov

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """``v ← μ v + g`` (``v = g`` at first), ``θ ← θ − η v`` (or ``η (g + μ v)``)."""
        for name, param in params.items():
            grad = self._coupled(name, param, grads[name])
            if self.momentum:
                key = f"{name}.momentum_buffer"
                if key not in self.state:
                    self.state[key] = grad.clone()
                else:
                    buffer = self._on(param, key)
                    buffer *= self.momentum
                    buffer += grad
                buffer = self.state[key]
                grad = grad + buffer * self.momentum if self.nesterov else buffer
            param.sub_(grad, alpha=self.lr)  # θ − η·g in one kernel


class Adam(Optimizer):
    """Adam with the L2 term coupled into the gradient (MATH.md §11)."""

    OPTIONS = ("betas", "eps")

    decoupled = False

    def __init__(self, lr: float, weight_decay: float = 0.0, betas: tuple[float, float] = (
            0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(lr, weight_decay)
        self.betas = betas
        self.eps = eps

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """``m ← m + (1 − β₁)(g − m)``, ``v ← β₂ v + (1 − β₂) g²``, then the bias-corrected
        update ``θ ← θ − η/(1 − β₁ᵗ) · m / (sqrt(v)/sqrt(1 − β₂ᵗ) + ε)``."""
        beta1, beta2 = self.betas
        t = int(self.state.get("step", 0)) + 1
        self.state["step"] = torch.tensor(t, dtype=torch.int64)
        step_size = self.lr / (1 - beta1 ** t)
        correction2_sqrt = (1 - beta2 ** t) ** 0.5
        for name, param in params.items():
            if self.decoupled:
                grad = grads[name]
                if self.weight_decay and is_weight(name):
                    param *= 1 - self.lr * self.weight_decay
            else:
                grad = self._coupled(name, param, grads[name])
            m = self._on(param, f"{name}.exp_avg")
            v = self._on(param, f"{name}.exp_avg_sq")
            m += (grad - m) * (1 - beta1)
            v *= beta2
            v += grad * grad * (1 - beta2)
            denominator = torch.sqrt(v) / correction2_sqrt + self.eps
            param -= m / denominator * step_size


class AdamW(Adam):
    """Adam with decoupled weight decay ``W ← W (1 − η δ)`` (MATH.md §11)."""

    decoupled = True


#: Each optimizer name of the config: its class and the options the name fixes.
OPTIMIZERS: dict[str, tuple[type[Optimizer], dict]] = {
    "sgd": (SGD, {"momentum": 0.0}),
    "momentum": (SGD, {"nesterov": False}),
    "nesterov": (SGD, {"nesterov": True}),
    "adam": (Adam, {}),
    "adamw": (AdamW, {}),
}


def make_optimizer(name: str, lr: float, weight_decay: float = 0.0, momentum: float = 0.9,
                   betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> Optimizer:
    """The optimizer called ``name`` in :data:`OPTIMIZERS`, with the options it reads."""
    return build(OPTIMIZERS, name, lr, weight_decay, momentum=momentum, betas=betas, eps=eps)
