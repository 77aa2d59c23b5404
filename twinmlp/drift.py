"""Lock-step training of the twins, recording how far they drift apart after every step.

numpy_impl is the reference; each torch twin (CPU, and CUDA where present) takes the same
batch from the shared order (MATH.md §9), computes its gradients, and steps with the same
SGD (MATH.md §7). After every step the relative difference (docs/parity.md) of every
gradient and every parameter to the reference's is recorded.

Two optional companions run in the same loop:

* a **float64 shadow** (float32 runs): a float64 numpy twin from the same starting
  parameters and the same (float32-rounded) batches; after every step each float32 twin's
  largest relative parameter difference to it is recorded, which says which twin is
  closer to the float64 trajectory;
* the **chaos floor**: copies of the reference whose initial weights are nudged by one
  ulp (:func:`twinmlp.parity.nudge_state`); at the end the twins' difference is judged
  against theirs, for runs beyond the strict tiers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from twinmlp import numpy_impl, tolerances, torch_impl
from twinmlp.arrays import to_numpy
from twinmlp.parity import (
    FloorVerdict,
    RunDifference,
    floor_verdict,
    nudge_state,
    relative_error,
)
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.threads import choose_threads, thread_limit
from twinmlp.twins import make_twin

#: The reference's name in the shadow columns.
REFERENCE = "numpy"


@dataclass
class DriftResult:
    """Per-step relative differences, keyed ``"torch-cpu grad W1"`` / ``"torch-cpu W1"``;
    ``shadow`` keyed ``"numpy"`` / ``"torch-cpu"`` (distance to the float64 shadow);
    ``floors`` the chaos-floor verdict per torch twin (empty for runs the strict tiers
    cover, or without copies)."""

    dtype: str
    steps: np.ndarray
    series: dict[str, np.ndarray]
    agreement: dict[str, float] = field(default_factory=dict)
    shadow: dict[str, np.ndarray] = field(default_factory=dict)
    floors: dict[str, FloorVerdict] = field(default_factory=dict)

    @property
    def tolerance(self) -> float:
        """The tolerance every series is held to, over the strict horizon."""
        return tolerances.TRAJECTORY[self.dtype]

    @property
    def strict_only(self) -> bool:
        """Whether the whole run lies within the strict tiers (float64, ≤ 1,000 steps)."""
        return self.dtype == "float64" and len(self.steps) <= tolerances.TRAJECTORY_STEPS

    def rows(self) -> list[tuple[str, float, int, float, bool]]:
        """(tensor, max difference, step where it peaked, tolerance, passed) per series,
        over the steps of the strict horizon (``tolerances.TRAJECTORY_STEPS``)."""
        horizon = self.steps <= tolerances.TRAJECTORY_STEPS
        out = []
        for name, values in self.series.items():
            judged = values[horizon]
            peak = int(np.argmax(judged))
            out.append((name, float(judged[peak]), int(self.steps[peak]), self.tolerance,
                        bool(judged[peak] <= self.tolerance)))
        return out

    @property
    def passed(self) -> bool:
        """Every series within tolerance over the strict horizon, and the whole run by its
        tier: every prediction identical (strict), or within the chaos floor."""
        if not all(row[-1] for row in self.rows()):
            return False
        if self.strict_only:
            return all(a >= tolerances.STRICT_AGREEMENT for a in self.agreement.values())
        return all(verdict.passed for verdict in self.floors.values())

    def csv(self) -> str:
        """``drift.csv``: one row per step, one column per tensor; with the float64 shadow
        one more column per twin (``shadow numpy``, ``shadow torch-cpu``: its largest
        relative parameter difference to the shadow)."""
        columns = {**self.series,
                   **{f"shadow {name}": values for name, values in self.shadow.items()}}
        names = list(columns)
        lines = [",".join(["step", *names])]
        for i, step in enumerate(self.steps):
            lines.append(",".join([str(step), *(f"{columns[n][i]:.6e}" for n in names)]))
        return "\n".join(lines) + "\n"

    def shadow_summary(self) -> str:
        """Which twin ended closer to the float64 shadow, and on how many steps it led."""
        final = {name: float(values[-1]) for name, values in self.shadow.items()}
        closest = min(final, key=final.get)
        stacked = np.vstack(list(self.shadow.values()))
        leads = np.mean(np.argmin(stacked, axis=0) == list(self.shadow).index(closest))
        figures = ", ".join(f"{name} {value:.2e}" for name, value in final.items())
        return (f"float64 shadow: {closest} ends closer to float64 (final max relative "
                f"parameter difference: {figures}); closer on {100 * leads:.0f} % of steps")


def lockstep(data: Dataset, config: ModelConfig, devices: Sequence[str], epochs: int,
             batch_size: int, lr: float, weight_decay: float, verbose: bool = True,
             shadow: bool = False, floor_copies: int = 0) -> DriftResult:
    """Train numpy_impl and a torch twin per device in lock-step; see the module doc.
    ``shadow`` adds the float64 shadow (float32 runs only); ``floor_copies`` nudged
    copies of the reference measure the chaos floor (not made for runs the strict tiers
    cover)."""
    reference = make_twin("numpy", config)
    twins = {f"torch-{device.split(':')[0]}": make_twin("torch", config, device)
             for device in devices}
    n_train = len(data.y_train)
    bounds = batch_bounds(n_train, batch_size)
    total = epochs * len(bounds)
    strict_only = config.dtype == "float64" and total <= tolerances.TRAJECTORY_STEPS
    copies = []
    for copy in range(1, 0 if strict_only else floor_copies + 1):
        model = make_twin("numpy", config)
        model.load_state_dict(nudge_state(model.state_dict(), copy))
        copies.append(model)
    shadow_model = None
    if shadow and config.dtype != "float64":
        shadow_model = make_twin("numpy", dataclasses.replace(config, dtype="float64"))
        shadow_model.load_state_dict(reference.state_dict())  # the float32 start, exactly
    decay = weight_decay / n_train
    optimizers: dict[str, Any] = {name: torch_impl.optim.SGD(lr, decay) for name in twins}
    numpy_optimizers = [numpy_impl.optim.SGD(lr, decay) for _ in range(len(copies) + 2)]
    records: dict[str, list[float]] = {}
    shadow_records: dict[str, list[float]] = {}
    # The products' size sets the threads (twinmlp.shared.threads), as in fit.
    with tqdm(total=total, desc="lock-step", unit="step", disable=not verbose, leave=False
              ) as bar, thread_limit(choose_threads(config.layer_sizes, batch_size)):
        for epoch in range(epochs):
            order = epoch_permutation(config.seed, epoch, n_train)
            for start, stop in bounds:
                rows = order[start:stop]
                X, y = data.X_train[rows].astype(config.dtype), data.y_train[rows]
                _, reference_grads = reference.loss_and_grads(X, y)
                numpy_optimizers[0].step(reference.params, reference_grads)
                for model, optimizer in zip(copies, numpy_optimizers[2:], strict=True):
                    optimizer.step(model.params, model.loss_and_grads(X, y)[1])
                for name, twin in twins.items():
                    _, grads = twin.loss_and_grads(X, y)
                    optimizers[name].step(twin.params, grads)
                    for key in reference.params:
                        records.setdefault(f"{name} grad {key}", []).append(
                            relative_error(grads[key], reference_grads[key]))
                    for key in reference.params:
                        records.setdefault(f"{name} {key}", []).append(
                            relative_error(twin.params[key], reference.params[key]))
                if shadow_model is not None:
                    shadow_grads = shadow_model.loss_and_grads(X.astype(np.float64), y)[1]
                    numpy_optimizers[1].step(shadow_model.params, shadow_grads)
                    for name, model in {REFERENCE: reference, **twins}.items():
                        shadow_records.setdefault(name, []).append(max(
                            relative_error(model.params[key], shadow_model.params[key])
                            for key in shadow_model.params))
                bar.update()
    predictions = to_numpy(reference.predict(data.X_test))
    agreement = {name: float(np.mean(to_numpy(twin.predict(data.X_test)) == predictions))
                 for name, twin in twins.items()}
    result = DriftResult(config.dtype, np.arange(1, total + 1),
                         {name: np.asarray(values) for name, values in records.items()},
                         agreement,
                         {name: np.asarray(values) for name, values in shadow_records.items()})
    if copies and not result.strict_only:
        state = reference.state_dict()
        floor = [RunDifference.between(model.state_dict(), model.predict(data.X_test), state,
                                       predictions, data.y_test) for model in copies]
        for name, twin in twins.items():
            difference = RunDifference.between(twin.state_dict(), twin.predict(data.X_test),
                                               state, predictions, data.y_test)
            result.floors[name] = floor_verdict(config.dtype, REFERENCE, difference, floor,
                                                len(data.y_test))
    return result
