"""Dropout keep-masks from the shared seeded generator (MATH.md §13).

Both backends read the same masks, so a run with dropout keeps parity; the torch twin
copies them to its device (or, with ``dropout_rng="device"``, draws its own there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Keeps the dropout stream apart from the batch-order stream of the same (seed, epoch).
DROPOUT_STREAM = 7


def keep_masks(seed: int, epoch: int, step: int, n_rows: int, widths: Sequence[int],
               rate: float) -> list[np.ndarray]:
    """Boolean keep-masks ``(n_rows, width)`` for each hidden layer of one step."""
    rng = np.random.default_rng([seed, epoch, step, DROPOUT_STREAM])
    return [rng.random((n_rows, width)) >= rate for width in widths]


class DropoutStep:
    """What one training step needs to know to draw its dropout masks."""

    __slots__ = ("epoch", "rate", "rng", "seed", "step")

    def __init__(self, rate: float, seed: int, epoch: int, step: int, rng: str) -> None:
        self.rate, self.seed, self.epoch, self.step, self.rng = rate, seed, epoch, step, rng

    def shared_masks(self, n_rows: int, widths: Sequence[int]) -> list[np.ndarray]:
        """The shared keep-masks of this step (MATH.md §13)."""
        return keep_masks(self.seed, self.epoch, self.step, n_rows, widths, self.rate)


def mask_rows(masks: list[Any], start: int, stop: int) -> list[Any]:
    """The rows ``start:stop`` of each mask ``D_l`` of a list indexed by ``l`` (its entry 0,
    the input layer's, is None): one data-parallel rank's share (MATH.md §14)."""
    return [None if mask is None else mask[start:stop] for mask in masks]
