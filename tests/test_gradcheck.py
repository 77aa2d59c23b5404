"""Tier 5 (independent oracle): float64 central differences against ``backward``.

Depths 1–4, every activation, widths and batch sizes drawn per case.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import central_differences, random_architecture, random_problem
from twinmlp import numpy_impl
from twinmlp.parity import relative_error
from twinmlp.shared.config import ACTIVATION_NAMES
from twinmlp.tolerances import CENTRAL_DIFFERENCES


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_backward_matches_central_differences(depth: int, activation: str, seed: int) -> None:
    sizes, n = random_architecture(depth, seed=100 * depth + seed)
    X, y = random_problem(sizes, n, seed=seed)
    model = numpy_impl.MLP(sizes, activation=activation, alpha=0.1, seed=seed,
                           dtype="float64")
    _, analytic = model.loss_and_grads(X, y)
    numeric = central_differences(lambda: float(model.loss_and_grads(X, y)[0]), model.params)
    for name in model.params:
        error = relative_error(analytic[name], numeric[name])
        assert error <= CENTRAL_DIFFERENCES, (f"{name}: relative error {error:.2e} "
                                              f"(sizes {sizes}, n {n})")


def test_one_hot_targets_give_the_same_gradients_as_labels() -> None:
    sizes = [5, 4, 3]
    X, y = random_problem(sizes, 7, seed=3)
    model = numpy_impl.MLP(sizes, dtype="float64")
    loss_labels, grads_labels = model.loss_and_grads(X, y)
    loss_onehot, grads_onehot = model.loss_and_grads(X, np.eye(3)[y])
    assert loss_onehot == pytest.approx(float(loss_labels), rel=1e-15)
    for name in grads_labels:
        np.testing.assert_allclose(grads_onehot[name], grads_labels[name], rtol=1e-14,
                                   atol=1e-17)
