"""Learning-rate schedules, set once per epoch (MATH.md §12)."""

from __future__ import annotations

import math

from twinmlp.shared.config import TrainConfig


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (counted from 0) under ``config.schedule``."""
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "step":
        return config.lr * config.gamma ** (epoch // config.step_size)
    warmup = config.warmup_epochs
    if epoch < warmup:
        return config.lr * (epoch + 1) / warmup
    progress = (epoch - warmup) / max(1, config.epochs - warmup)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * progress))
