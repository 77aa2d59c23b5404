"""The batch order both backends follow (MATH.md §9)."""

from __future__ import annotations

import numpy as np


def epoch_permutation(seed: int, epoch: int, n_samples: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``n_samples`` rows, as int64 indices.

    Seeded by the pair ``(seed, epoch)``, so any epoch can be reproduced on its own
    (for resuming) without replaying the earlier ones.
    """
    return np.random.default_rng([seed, epoch]).permutation(n_samples)


def batch_bounds(n_samples: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch; the last, partial batch is kept."""
    return [(start, min(start + batch_size, n_samples))
            for start in range(0, n_samples, batch_size)]
