"""Measure the largest relative error of each parity tier on one device and print a table.

    PYTHONPATH=. python scripts/tier_errors.py --device cpu

The tests assert the tolerances; this script reports how much room each tier has left.
"""

from __future__ import annotations

import argparse

import numpy as np
from twinmlp.shared.config import ACTIVATION_NAMES
from twinmlp.shared.data import load_digits

from tests.helpers import random_architecture, random_problem
from tests.parity import helper_test_twins
from tests.test_autograd_oracle import autograd_loss_and_grads
from tests.test_parity import train_twins
from twinmlp import numpy_impl, torch_impl
from twinmlp.parity import relative_error


def step_errors(dtype: str, device: str) -> float:
    worst = 0.0
    for depth in (1, 2, 3, 4):
        for activation in ACTIVATION_NAMES:
            for seed in (0, 1):
                sizes, batch = random_architecture(depth, seed=1000 + 10 * depth + seed)
                sizes = [s * 4 for s in sizes[:-1]] + [sizes[-1]]
                tol = 1e-12 if dtype == "float64" else 1e-5
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
        for batch in np.random.default_rng(0).integers(0, 256, size=(1000, 32)):
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
    rows = [("tier 2: float64 forward/loss/grads/one step", step_errors("float64", device),
             "1e-12"),
            ("tier 3: float32 forward/loss/grads/one step", step_errors("float32", device),
             "1e-05"),
            ("tier 2: float64 1,000-step trajectories", trajectory_error(device), "1e-09")]
    (a, ha, pa), (b, hb, pb) = train_twins(digits, "float64", device)
    final = max(relative_error(a.params[k], b.params[k]) for k in a.params)
    rows.append((f"tier 2: float64 digits run (stops {ha.epochs_run}/{hb.epochs_run}, "
                 f"agree {100 * np.mean(pa == pb):.1f} %)", final, "1e-09"))
    (a, ha, pa), (b, hb, pb) = train_twins(digits, "float32", device)
    rows.append((f"tier 3: float32 digits run (agree {100 * np.mean(pa == pb):.1f} %)",
                 max(relative_error(a.params[k], b.params[k]) for k in a.params), "≥99 % agree"))
    if device == "cpu":
        rows.append(("tier 5: both twins vs torch.autograd, float64", oracle_error(), "1e-12"))
    print(f"parity tiers on {device}")
    print(f"{'tier':<58} {'max rel. error':>15} {'tolerance':>12}")
    for name, error, tol in rows:
        print(f"{name:<58} {error:>15.2e} {tol:>12}")


if __name__ == "__main__":
    main()
