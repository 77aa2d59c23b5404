"""Lock-step training of the twins, recording how far they drift apart after every step.

numpy_impl is the reference; each torch twin (CPU, and CUDA where present) takes the same
batch from the shared order (MATH.md §9), computes its gradients, and steps with the same
SGD (MATH.md §7). After every step the relative difference (DESIGN.md) of every gradient
and every parameter to the reference's is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from twinmlp import numpy_impl, torch_impl
from twinmlp.parity import AGREEMENT_REQUIRED, relative_error, to_numpy
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.data import Dataset
from twinmlp.twins import make_twin

#: Largest relative difference a lock-step run may reach, by dtype: the trajectory tier
#: for float64 (1e-9 over 1,000 steps) and the per-step tier for float32 (1e-5).
DRIFT_TOLERANCE = {"float64": 1e-9, "float32": 1e-5}


@dataclass
class DriftResult:
    """Per-step relative differences, keyed ``"torch-cpu grad W1"`` / ``"torch-cpu W1"``."""

    dtype: str
    steps: np.ndarray
    series: dict[str, np.ndarray]
    agreement: dict[str, float] = field(default_factory=dict)

    @property
    def tolerance(self) -> float:
        """The tolerance every series is held to."""
        return DRIFT_TOLERANCE[self.dtype]

    def rows(self) -> list[tuple[str, float, int, float, bool]]:
        """(tensor, max difference, step where it peaked, tolerance, passed) per series."""
        out = []
        for name, values in self.series.items():
            peak = int(np.argmax(values))
            out.append((name, float(values[peak]), int(self.steps[peak]), self.tolerance,
                        bool(values[peak] <= self.tolerance)))
        return out

    @property
    def passed(self) -> bool:
        """Every series within tolerance and every twin's predictions in agreement."""
        required = AGREEMENT_REQUIRED[self.dtype]
        return (all(row[-1] for row in self.rows())
                and all(a >= required for a in self.agreement.values()))


def lockstep(data: Dataset, config: ModelConfig, devices: Sequence[str], epochs: int,
             batch_size: int, lr: float, weight_decay: float, verbose: bool = True
             ) -> DriftResult:
    """Train numpy_impl and a torch twin per device in lock-step; see the module doc."""
    reference = make_twin("numpy", config)
    twins = {f"torch-{device.split(':')[0]}": make_twin("torch", config, device)
             for device in devices}
    n_train = len(data.y_train)
    decay = weight_decay / n_train
    optimizers: dict[str, Any] = {name: torch_impl.optim.SGD(lr, decay) for name in twins}
    reference_optimizer = numpy_impl.optim.SGD(lr, decay)
    bounds = batch_bounds(n_train, batch_size)
    records: dict[str, list[float]] = {}
    total = epochs * len(bounds)
    with tqdm(total=total, desc="lock-step", unit="step", disable=not verbose,
              leave=False) as bar:
        for epoch in range(epochs):
            order = epoch_permutation(config.seed, epoch, n_train)
            for start, stop in bounds:
                rows = order[start:stop]
                X, y = data.X_train[rows], data.y_train[rows]
                _, reference_grads = reference.loss_and_grads(X, y)
                reference_optimizer.step(reference.params, reference_grads)
                for name, twin in twins.items():
                    _, grads = twin.loss_and_grads(X, y)
                    optimizers[name].step(twin.params, grads)
                    for key in reference.params:
                        records.setdefault(f"{name} grad {key}", []).append(
                            relative_error(grads[key], reference_grads[key]))
                    for key in reference.params:
                        records.setdefault(f"{name} {key}", []).append(
                            relative_error(twin.params[key], reference.params[key]))
                bar.update()
    predictions = to_numpy(reference.predict(data.X_test))
    agreement = {name: float(np.mean(to_numpy(twin.predict(data.X_test)) == predictions))
                 for name, twin in twins.items()}
    return DriftResult(config.dtype, np.arange(1, total + 1),
                       {name: np.asarray(values) for name, values in records.items()},
                       agreement)
