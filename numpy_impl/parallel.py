"""Data-parallel training, simulated in one process (MATH.md §14).

What ``torch_impl.parallel`` computes across processes with an all-reduce, this computes
in a loop over the ranks' shards, so the arithmetic can be read (and tested) in one place:
each shard's gradient of its part of the global mean, then their sum, then one update.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinmlp.numpy_impl.model import MLP
from twinmlp.shared.dropout import DropoutStep, mask_rows
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.parallel import shard_bounds

Array = np.ndarray


class DataParallelMLP:
    """``model`` trained as ``world_size`` data-parallel ranks would train it.

    It speaks the shared trainer's protocol (so ``fit`` is the shared loop) and hands
    every other call to ``model``. ``world_size`` defaults to 2 simulated ranks.
    """

    def __init__(self, model: MLP, world_size: int | None = None) -> None:
        world_size = 2 if world_size is None else world_size  # the smallest that reduces
        if world_size < 1:
            raise TwinMLPError(f"world_size = {world_size} is not allowed: expected >= 1")
        self.model = model
        self.world_size = world_size
        self.config = model.config

    # ``MLP.fit`` itself: the shared loop, driving this class's data-parallel train_step.
    fit = MLP.fit

    def train_step(self, data: tuple[Array, Array], batch: Array, optimizer: Any,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One data-parallel update: every rank's gradient of its shard's part of the
        global mean (MATH.md §14), summed as the all-reduce would, then one step."""
        X, y = data
        n = len(batch)
        masks = self.model._dropout_masks(dropout, n)  # drawn for the global batch
        total: dict[str, Array] = {k: np.zeros_like(v) for k, v in self.model.params.items()}
        loss_sum, correct = self.model.dtype.type(0), 0
        for rank in range(self.world_size):
            start, stop = shard_bounds(n, self.world_size, rank)
            rows = batch[start:stop]
            if len(rows) == 0:
                continue  # an empty shard adds zeros to the sum
            shard_masks = None if masks is None else mask_rows(masks, start, stop)
            cache = self.model.forward_pass(X[rows], shard_masks, y=y[rows])
            loss_sum += cache.loss_sum
            correct += np.count_nonzero(cache.probs.argmax(axis=1) == y[rows])
            for name, grad in self.model.backward_pass(cache, y[rows], n_total=n).items():
                total[name] += grad  # the all-reduce: a sum over ranks
        optimizer.step(self.model.params, total)
        return loss_sum, correct

    def __getattr__(self, name: str) -> Any:
        # Everything else (prepare_data, evaluate, predict, state_dict, …) is the model's.
        return getattr(self.model, name)
