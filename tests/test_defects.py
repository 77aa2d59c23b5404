"""The parity verdicts catch real defects: each test injects one into the torch twin.

For every defect two verdicts are asked:

* the **strict tiers**, float64: both twins driven step by step through the trainer's
  protocol (same batches, dropout masks, learning rates); the first step whose largest
  relative parameter difference exceeds the step tier and the trajectory tier;
* the **chaos floor**, float32: a whole digits run of each twin through ``fit``, judged
  against nudged copies of the numpy twin, as ``twinmlp train`` judges it.

``python -m tests.test_defects`` prints the table of docs/parity.md ("Defects it catches").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from twinmlp import numpy_impl, tolerances, torch_impl
from twinmlp.arrays import to_numpy
from twinmlp.parity import (
    FloorVerdict,
    RunDifference,
    chaos_floor,
    floor_verdict,
    relative_error,
)
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import TrainConfig
from twinmlp.shared.data import Dataset, load_digits
from twinmlp.shared.dropout import DropoutStep
from twinmlp.shared.schedules import learning_rate

LAYERS = [64, 32, 10]
SGD = dict(epochs=10, batch_size=32, lr=0.05, weight_decay=1.0)
ADAM = {**SGD, "optimizer": "adam", "lr": 0.005}
DROPOUT = {**SGD, "dropout": 0.3}
STRICT_STEPS = 100  # steps the strict check runs at most
FLOOR_COPIES = 2


# --- the defects, each applied to one torch twin ---

def derivative_off(model: Any, patch: pytest.MonkeyPatch) -> None:
    """φ' of leaky-ReLU 1e-6 too large (relative)."""
    original = torch_impl.functional.DERIVATIVES["leaky_relu"]

    def wrong(z: Any, a: Any, grad: Any, alpha: float = 0.01) -> Any:
        return original(z, a, grad, alpha).mul_(1 + 1e-6)

    patch.setitem(torch_impl.functional.DERIVATIVES, "leaky_relu", wrong)


def _wrap_optimizer(model: Any, patch: pytest.MonkeyPatch,
                    around: Callable[[Any, Callable, dict, dict], None]) -> None:
    make = model.make_optimizer

    def make_wrong(config: TrainConfig, n_train: int) -> Any:
        optimizer = make(config, n_train)
        step = optimizer.step
        optimizer.step = lambda params, grads: around(optimizer, step, params, grads)
        return optimizer

    patch.setattr(model, "make_optimizer", make_wrong)


def decay_on_biases(model: Any, patch: pytest.MonkeyPatch) -> None:
    """L2 decay (λ/N) b added to the bias gradients as well."""
    def around(optimizer: Any, step: Callable, params: dict, grads: dict) -> None:
        for name in params:
            if name.startswith("b"):
                grads[name] = grads[name] + optimizer.weight_decay * params[name]
        step(params, grads)

    _wrap_optimizer(model, patch, around)


def adam_correction_off_by_one(model: Any, patch: pytest.MonkeyPatch) -> None:
    """Adam's bias corrections use step t + 1 instead of t."""
    import torch

    def around(optimizer: Any, step: Callable, params: dict, grads: dict) -> None:
        t = int(optimizer.state.get("step", 0))
        optimizer.state["step"] = torch.tensor(t + 1)
        step(params, grads)
        optimizer.state["step"] = torch.tensor(t + 1)  # the true count after this step

    _wrap_optimizer(model, patch, around)


def dropout_unscaled(model: Any, patch: pytest.MonkeyPatch) -> None:
    """Dropout masks K instead of K/(1 − p)."""
    masks = model._dropout_masks

    def wrong(dropout: DropoutStep | None, n_rows: int) -> Any:
        scaled = masks(dropout, n_rows)
        if scaled is None:
            return None
        return [None if m is None else m * (1 - dropout.rate) for m in scaled]

    patch.setattr(model, "_dropout_masks", wrong)


def order_shifted(model: Any, patch: pytest.MonkeyPatch) -> None:
    """Every epoch's order rotated by one row."""
    prepare = model.prepare_order
    patch.setattr(model, "prepare_order", lambda order: prepare(np.roll(order, 1)))


def logits_grad_over_n_plus_1(model: Any, patch: pytest.MonkeyPatch) -> None:
    """∂ℓ/∂Z_L = (P − Y)/(n + 1)."""
    original = torch_impl.functional.cross_entropy_grad

    def wrong(probs: Any, y: Any, out: Any = None, n_total: int | None = None) -> Any:
        return original(probs, y, out=out, n_total=(n_total or probs.shape[0]) + 1)

    patch.setattr(torch_impl.functional, "cross_entropy_grad", wrong)


def no_defect(model: Any, patch: pytest.MonkeyPatch) -> None:
    """None (the control)."""


@dataclass(frozen=True)
class Defect:
    name: str
    inject: Callable[[Any, pytest.MonkeyPatch], None]
    options: dict[str, Any]
    below_float32_rounding: bool = False  # a float32 verdict cannot see it (docs/parity.md)


DEFECTS = [
    Defect("derivative off by 1e-6 relative", derivative_off, SGD, True),
    Defect("weight decay applied to biases", decay_on_biases, SGD),
    Defect("Adam's bias correction one step off", adam_correction_off_by_one, ADAM),
    Defect("dropout without its 1/(1−p) scale", dropout_unscaled, DROPOUT),
    Defect("batch order shifted by one row", order_shifted, SGD),
    Defect("gradient at the logits divided by n+1", logits_grad_over_n_plus_1, SGD),
]
CONTROL = Defect("none (control)", no_defect, SGD)


# --- the two verdicts ---

def strict_errors(defect: Defect, data: Dataset, patch: pytest.MonkeyPatch) -> np.ndarray:
    """Largest relative parameter difference after each of the first ``STRICT_STEPS``
    float64 steps, both twins driven through the trainer protocol in lock-step."""
    mine = numpy_impl.MLP(LAYERS, seed=1, dtype="float64")
    theirs = torch_impl.MLP(LAYERS, seed=1, dtype="float64")
    defect.inject(theirs, patch)
    config = TrainConfig.from_options(**defect.options)
    n = len(data.y_train)
    twins = (mine, theirs)
    prepared = [m.prepare_data(data.X_train, data.y_train) for m in twins]
    optimizers = [m.make_optimizer(config, n) for m in twins]
    bounds = batch_bounds(n, config.batch_size)
    errors: list[float] = []
    for epoch in itertools.count():
        orders = [m.prepare_order(epoch_permutation(1, epoch, n)) for m in twins]
        for optimizer in optimizers:
            optimizer.lr = learning_rate(config, epoch)
        for step, (start, stop) in enumerate(bounds):
            dropout = (DropoutStep(config.dropout, 1, epoch, step, config.dropout_rng)
                       if config.dropout > 0 else None)
            for model, batch_data, optimizer, order in zip(twins, prepared, optimizers,
                                                          orders, strict=True):
                model.train_step(batch_data, order[start:stop], optimizer, dropout)
            errors.append(max(relative_error(theirs.params[k], mine.params[k])
                              for k in mine.params))
            if len(errors) == STRICT_STEPS:
                return np.asarray(errors)
    raise AssertionError("unreachable")


def first_beyond(errors: np.ndarray, tol: float) -> int | None:
    """The first step (from 1) whose error exceeds ``tol``."""
    beyond = np.flatnonzero(errors > tol)
    return int(beyond[0]) + 1 if len(beyond) else None


def floor_run(defect: Defect, data: Dataset, patch: pytest.MonkeyPatch) -> FloorVerdict:
    """A whole float32 digits run of each twin, judged by the chaos floor."""
    mine = numpy_impl.MLP(LAYERS, seed=1, dtype="float32")
    theirs = torch_impl.MLP(LAYERS, seed=1, dtype="float32")
    defect.inject(theirs, patch)
    for model in (mine, theirs):
        model.fit(data.X_train, data.y_train, data.X_val, data.y_val, verbose=False,
                  **defect.options)
    pred_a, pred_b = to_numpy(mine.predict(data.X_test)), to_numpy(theirs.predict(data.X_test))
    twins = RunDifference.between(theirs.state_dict(), pred_b, mine.state_dict(), pred_a,
                                  data.y_test)
    patch.undo()  # the copies are numpy twins; nothing patched may reach them
    floor = chaos_floor(mine.config, TrainConfig.from_options(**defect.options), data,
                        mine.state_dict(), pred_a, FLOOR_COPIES)
    return floor_verdict("float32", "numpy", twins, floor, len(data.y_test))


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.inject.__name__)
def test_strict_tiers_catch_the_defect_within_two_steps(
        defect: Defect, digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    errors = strict_errors(defect, digits, monkeypatch)
    step = first_beyond(errors, tolerances.STEP["float64"])
    # Biases start at 0, so decay on them first shows after the second step.
    assert step is not None and step <= 2, f"{defect.name}: errors {errors[:3]}"
    assert first_beyond(errors, tolerances.TRAJECTORY["float64"]) is not None


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.inject.__name__)
def test_chaos_floor_catches_the_defect_on_a_whole_run(
        defect: Defect, digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    verdict = floor_run(defect, digits, monkeypatch)
    if defect.below_float32_rounding:
        # 1e-6 is about 8 float32 ulps: the float32 verdict must not call rounding a defect;
        # the float64 strict tiers catch it (test above).
        assert verdict.passed, verdict.line()
    else:
        assert not verdict.passed, verdict.line()


def test_control_passes_both_verdicts(digits: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    errors = strict_errors(CONTROL, digits, monkeypatch)
    assert first_beyond(errors, tolerances.TRAJECTORY["float64"]) is None
    verdict = floor_run(CONTROL, digits, monkeypatch)
    assert verdict.passed, verdict.line()


def table() -> str:
    """The markdown table of docs/parity.md."""
    data = load_digits()
    lines = ["| defect (torch twin) | first step beyond the step tier (1e-12) | first step "
             "beyond the trajectory tier (1e-9) | chaos floor, float32 digits run |",
             "|---|---|---|---|"]
    for defect in [CONTROL, *DEFECTS]:
        patch = pytest.MonkeyPatch()
        try:
            errors = strict_errors(defect, data, patch)
        finally:
            patch.undo()
        patch = pytest.MonkeyPatch()
        try:
            verdict = floor_run(defect, data, patch)
        finally:
            patch.undo()
        limit = verdict.limits()
        twins = verdict.twins
        word = "PASS" if verdict.passed else "**FAIL**"
        lines.append(
            f"| {defect.name} | {first_beyond(errors, tolerances.STEP['float64']) or '—'} | "
            f"{first_beyond(errors, tolerances.TRAJECTORY['float64']) or '—'} | {word}: "
            f"agree {100 * twins.agreement:.1f} % (≥ {100 * limit.agreement:.1f}), gap "
            f"{100 * twins.accuracy_gap:.1f} % (≤ {100 * limit.accuracy_gap:.1f}), distance "
            f"{twins.distance:.1e} (≤ {limit.distance:.1e}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
