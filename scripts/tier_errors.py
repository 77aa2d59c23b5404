"""Measure the largest relative error of each parity tier on one device and print a table.

    PYTHONPATH=. .venv/bin/python scripts/tier_errors.py --device cpu

The tests assert the tolerances (``twinmlp.tolerances``); this script reports how much
room each tier has left.
"""

from __future__ import annotations

import argparse

import numpy as np

from tests.helpers import helper_test_twins, random_architecture, random_problem
from tests.test_autograd_oracle import autograd_loss_and_grads
from tests.test_parity import WHOLE_RUN, train_twins
from twinmlp import numpy_impl, tolerances, torch_impl
from twinmlp.parity import RunDifference, chaos_floor, floor_verdict, relative_error
from twinmlp.shared.config import ACTIVATION_NAMES, TrainConfig
from twinmlp.shared.data import load_digits


def step_errors(dtype: str, device: str) -> float:
    worst = 0.0
    for depth in (1, 2, 3, 4):
        for activation in ACTIVATION_NAMES:
            for seed in (0, 1):
                sizes, batch = random_architecture(depth, seed=1000 + 10 * depth + seed)
                sizes = [s * 4 for s in sizes[:-1]] + [sizes[-1]]
                tol = tolerances.STEP[dtype]
                report = helper_test_twins(sizes, batch * 4, dtype, activation=activation,
                                           device=device, seed=seed, forward_tol=tol,
                                           grad_tol=tol)
                worst = max(worst, report.worst())
    return worst


def trajectory_error(device: str) -> float:
    worst = 0.0
    for activation in ACTIVATION_NAMES:
        sizes = [20, 16, 12, 5]
        X, y = random_problem(sizes, 256, seed=5)
        twins = [numpy_impl.MLP(sizes, activation=activation, alpha=0.1, seed=5,
                                dtype="float64"),
                 torch_impl.MLP(sizes, activation=activation, alpha=0.1, seed=5,
                                dtype="float64", device=device)]
        optimizers = numpy_impl.optim.SGD(0.05, 1e-3), torch_impl.optim.SGD(0.05, 1e-3)
        steps = tolerances.TRAJECTORY_STEPS
        for batch in np.random.default_rng(0).integers(0, 256, size=(steps, 32)):
            for model, optimizer in zip(twins, optimizers, strict=True):
                optimizer.step(model.params, model.loss_and_grads(X[batch], y[batch])[1])
        worst = max(worst, *(relative_error(twins[0].params[k], twins[1].params[k])
                             for k in twins[0].params))
    return worst


def oracle_error() -> float:
    worst = 0.0
    rng = np.random.default_rng(0)
    for case in range(40):
        depth = int(rng.integers(1, 5))
        sizes = [int(w) for w in rng.integers(1, 25, size=depth)] + [int(rng.integers(2, 13))]
        activation = ACTIVATION_NAMES[case % len(ACTIVATION_NAMES)]
        X, y = random_problem(sizes, int(rng.integers(1, 70)), case)
        model = numpy_impl.MLP(sizes, activation=activation, alpha=0.2, seed=case,
                               dtype="float64")
        _, oracle = autograd_loss_and_grads(model.state_dict(), X, y, activation, 0.2)
        for twin in (model, torch_impl.MLP(sizes, activation=activation, alpha=0.2,
                                           seed=case, dtype="float64")):
            grads = twin.loss_and_grads(X, y)[1]
            worst = max(worst, *(relative_error(grads[k], oracle[k]) for k in oracle))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    device = parser.parse_args().device
    digits = load_digits()
    step, trajectory = tolerances.STEP, tolerances.TRAJECTORY
    rows = [("tier 2: float64 forward/loss/grads/one step", step_errors("float64", device),
             f"{step['float64']:.0e}"),
            ("tier 3: float32 forward/loss/grads/one step", step_errors("float32", device),
             f"{step['float32']:.0e}"),
            (f"tier 2: float64 {tolerances.TRAJECTORY_STEPS:,}-step trajectories",
             trajectory_error(device), f"{trajectory['float64']:.0e}")]
    (a, ha, pa), (b, hb, pb) = train_twins(digits, "float64", device)
    final = max(relative_error(a.params[k], b.params[k]) for k in a.params)
    rows.append((f"tier 2: float64 digits run (stops {ha.epochs_run}/{hb.epochs_run}, "
                 f"agree {100 * np.mean(pa == pb):.1f} %)", final,
                 f"{trajectory['float64']:.0e}"))
    (a, ha, pa), (b, hb, pb) = train_twins(digits, "float32", device)
    twins = RunDifference.between(b.state_dict(), pb, a.state_dict(), pa, digits.y_test)
    floor = chaos_floor(a.config, TrainConfig.from_options(**WHOLE_RUN), digits,
                        a.state_dict(), pa, tolerances.FLOOR_COPIES)
    verdict = floor_verdict("float32", "numpy", twins, floor, len(digits.y_test))
    rows.append((f"tier 3: float32 digits run (agree {100 * twins.agreement:.1f} %)",
                 twins.distance, f"floor {verdict.limits().distance:.1e}"))
    if device == "cpu":
        rows.append(("tier 5: both twins vs torch.autograd, float64", oracle_error(),
                     f"{tolerances.AUTOGRAD:.0e}"))
    print(f"parity tiers on {device}")
    print(f"{'tier':<58} {'max rel. error':>15} {'tolerance':>12}")
    for name, error, tol in rows:
        print(f"{name:<58} {error:>15.2e} {tol:>12}")
    print(verdict.line())


if __name__ == "__main__":
    main()
