"""Seeded parameter initialisation shared by both backends (MATH.md §8).

The arrays are drawn once, in float64, from one ``numpy.random.Generator``; each backend
casts and copies them. Seeding the backends separately would break parity, because NumPy,
torch-CPU and torch-CUDA random streams all differ.
"""

from __future__ import annotations

import itertools

import numpy as np

from twinmlp.shared.config import ModelConfig


def param_names(n_layers: int) -> list[str]:
    """Parameter keys in their canonical order: ``W1, b1, W2, b2, …``."""
    return [f"{kind}{layer}" for layer in range(1, n_layers + 1) for kind in ("W", "b")]


def init_params(config: ModelConfig) -> dict[str, np.ndarray]:
    """Draw the initial parameters of ``config`` as float64 arrays.

    Returns a dict ``{"W1": (d0, d1), "b1": (d1,), …}`` in the order of
    :func:`param_names`. Weights follow ``config.init``; biases are zero.
    """
    rng = np.random.default_rng(config.seed)
    params: dict[str, np.ndarray] = {}
    sizes = config.layer_sizes
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        if config.init == "he_normal":
            weights = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        else:  # glorot_uniform
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weights = rng.uniform(-limit, limit, size=(fan_in, fan_out))
        params[f"W{layer}"] = weights
        params[f"b{layer}"] = np.zeros(fan_out)
    return params
