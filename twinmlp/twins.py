"""Building a twin from a ``ModelConfig``: the one place that knows both constructors."""

from __future__ import annotations

from typing import Any

from twinmlp.shared.config import ModelConfig
from twinmlp.shared.errors import TwinMLPError


def make_twin(backend: str, config: ModelConfig, device: str = "cpu") -> Any:
    """A fresh ``numpy_impl.MLP`` or ``torch_impl.MLP`` (on ``device``) built from
    ``config``; ``device`` is ignored by numpy."""
    options = dict(activation=config.activation, alpha=config.alpha, init=config.init,
                   seed=config.seed, dtype=config.dtype)
    if backend == "numpy":
        from twinmlp import numpy_impl
        return numpy_impl.MLP(config.layer_sizes, **options)
    if backend == "torch":
        from twinmlp import torch_impl
        return torch_impl.MLP(config.layer_sizes, device=device, **options)
    raise TwinMLPError(f"backend = {backend!r} is not allowed: expected 'numpy' or 'torch'")


def backend_device(backend: str, device: str) -> str:
    """The device a twin runs on: numpy always on the CPU, torch on ``device``."""
    return "cpu" if backend == "numpy" else device
