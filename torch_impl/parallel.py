"""Data-parallel training on ``torch.distributed`` (MATH.md §14).

Launch one process per rank with ``torchrun`` (``twinmlp train --nproc N`` does it): gloo
on the CPU, NCCL on CUDA. Every rank holds the whole dataset and follows the shared batch
order; it takes its shard of each global batch, computes the hand-written gradients of its
part of the global mean, and one all-reduce (a sum) of all gradients, the loss and the
correct count gives every rank the same update — single-process training, up to the
order of additions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from twinmlp.shared.dropout import DropoutStep, mask_rows
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.parallel import shard_bounds
from twinmlp.torch_impl.model import MLP

Array = torch.Tensor


class DataParallelMLP:
    """``model`` trained as ``world_size`` data-parallel ranks would train it.

    It speaks the shared trainer's protocol (so ``fit`` is the shared loop) and hands
    every other call to ``model``. ``world_size`` and ``rank`` default to the initialised
    process group's.
    """

    def __init__(self, model: MLP, world_size: int | None = None,
                 rank: int | None = None) -> None:
        if not dist.is_initialized():
            raise TwinMLPError("torch.distributed is not initialised: launch with torchrun "
                               "(twinmlp train --nproc N) and call init_process_group first")
        self.model = model
        self.world_size = dist.get_world_size() if world_size is None else world_size
        self.rank = dist.get_rank() if rank is None else rank
        self.config = model.config

    # ``MLP.fit`` itself: the shared loop, driving this class's data-parallel train_step.
    fit = MLP.fit

    def train_step(self, data: tuple[Array, Array], batch: Array, optimizer: Any,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One data-parallel update: this rank's gradient of its shard's part of the
        global mean (MATH.md §14), summed over ranks by one all-reduce, then one step."""
        X, y = data
        n = len(batch)
        masks = self.model._dropout_masks(dropout, n)  # drawn for the global batch
        start, stop = shard_bounds(n, self.world_size, self.rank)
        rows = batch[start:stop]
        params = self.model.params
        if len(rows) == 0:  # an empty shard adds zeros to the sum
            grads = {k: torch.zeros_like(v) for k, v in params.items()}
            loss_sum = correct = torch.zeros((), dtype=self.model.dtype, device=X.device)
        else:
            shard_masks = None if masks is None else mask_rows(masks, start, stop)
            yb = y.index_select(0, rows)
            cache = self.model.forward_pass(X.index_select(0, rows), shard_masks, y=yb)
            loss_sum = cache.loss_sum
            correct = torch.count_nonzero(cache.probs.argmax(dim=1) == yb).to(loss_sum.dtype)
            grads = self.model.backward_pass(cache, yb, n_total=n)
        # One all-reduce for everything: the gradients, the loss and the correct count.
        flat = torch.cat([g.reshape(-1) for g in grads.values()]
                         + [loss_sum.reshape(1), correct.reshape(1)])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for name, value in params.items():
            grads[name] = flat[offset:offset + value.numel()].view_as(value)
            offset += value.numel()
        optimizer.step(params, grads)
        return flat[-2], flat[-1]

    def __getattr__(self, name: str) -> Any:
        # Everything else (prepare_data, evaluate, predict, state_dict, …) is the model's.
        return getattr(self.model, name)
