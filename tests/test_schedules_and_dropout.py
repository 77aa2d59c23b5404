"""Learning-rate schedules (MATH.md §12) in closed form, and dropout (MATH.md §13):
shared masks, inverted scaling, its gradient, and evaluation without it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from tests.helpers import assert_close, central_differences, random_problem
from twinmlp import numpy_impl, torch_impl
from twinmlp.shared.config import ACTIVATION_NAMES, TrainConfig
from twinmlp.shared.dropout import DropoutStep, keep_masks
from twinmlp.shared.schedules import learning_rate
from twinmlp.tolerances import CENTRAL_DIFFERENCES, STEP


def test_constant_and_step_schedules() -> None:
    assert [learning_rate(TrainConfig(lr=0.1), e) for e in (0, 50)] == [0.1, 0.1]
    config = TrainConfig(lr=0.1, schedule="step", step_size=3, gamma=0.5)
    assert [learning_rate(config, e) for e in range(7)] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rel=1e-15)


def test_cosine_with_linear_warmup() -> None:
    config = TrainConfig(lr=1.0, epochs=12, schedule="cosine", warmup_epochs=2, min_lr=0.1)
    rates = [learning_rate(config, e) for e in range(12)]
    assert rates[:2] == pytest.approx([0.5, 1.0])
    assert rates[2] == pytest.approx(1.0)  # the cosine starts at the top
    assert rates[7] == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 5 / 10)))
    assert all(a > b for a, b in itertools.pairwise(rates[2:]))  # then falls monotonically
    assert rates[-1] > 0.1


def test_the_trainer_follows_the_schedule(digits) -> None:
    model = numpy_impl.MLP([64, 8, 10], dtype="float64")
    history = model.fit(digits.X_train[:100], digits.y_train[:100], epochs=4, lr=0.2,
                        schedule="step", step_size=2, gamma=0.1, verbose=False)
    assert history.lr == pytest.approx([0.2, 0.2, 0.02, 0.02])


def test_keep_masks_are_seeded_and_keep_the_right_share() -> None:
    first = keep_masks(3, 1, 5, 400, [50, 30], 0.25)
    again = keep_masks(3, 1, 5, 400, [50, 30], 0.25)
    assert [m.shape for m in first] == [(400, 50), (400, 30)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], keep_masks(3, 1, 6, 400, [50, 30], 0.25)[0])
    assert abs(first[0].mean() - 0.75) < 0.02


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_backward_with_dropout_matches_central_differences(activation: str) -> None:
    sizes = [5, 7, 6, 3]
    X, y = random_problem(sizes, 9, seed=4)
    model = numpy_impl.MLP(sizes, activation=activation, alpha=0.1, dtype="float64")
    masks = model._dropout_masks(DropoutStep(0.4, 0, 0, 0, "shared"), len(y))
    assert masks[0] is None  # indexed by layer: D_1 … D_{L-1}
    assert any((m == 0).any() for m in masks[1:]) and all(np.isin(m, [0, 1 / 0.6]).all()
                                                           for m in masks[1:])

    def loss() -> float:
        cache = model.forward_pass(X, masks)
        return float(numpy_impl.functional.cross_entropy(cache.logits, y))

    analytic = model.backward_pass(model.forward_pass(X, masks), y)
    numeric = central_differences(loss, model.params)
    for name in model.params:
        assert_close(f"{activation} grad {name}", analytic[name], numeric[name],
                     CENTRAL_DIFFERENCES)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dropout_steps_keep_parity(dtype: str) -> None:
    sizes = [12, 10, 8, 4]
    X, y = random_problem(sizes, 32, seed=6)
    tol = STEP[dtype]
    twins = (numpy_impl.MLP(sizes, seed=1, dtype=dtype),
             torch_impl.MLP(sizes, seed=1, dtype=dtype))
    optimizers = [twin.make_optimizer(TrainConfig(optimizer="adam", lr=0.01), 32)
                  for twin in twins]
    for step in range(5):
        dropout = DropoutStep(0.3, 1, 0, step, "shared")
        losses = []
        for twin, optimizer in zip(twins, optimizers, strict=True):
            data = twin.prepare_data(X, y)
            order = twin.prepare_order(np.arange(32))
            losses.append(twin.train_step(data, order, optimizer, dropout)[0])
        assert_close(f"loss at step {step}", losses[0], losses[1], tol)
    for name in twins[0].params:
        assert_close(name, twins[0].params[name], twins[1].params[name], tol)


def test_device_masks_are_drawn_by_torch_and_reproducible() -> None:
    model = torch_impl.MLP([6, 200, 3], dtype="float64")
    masks = model._dropout_masks(DropoutStep(0.5, 9, 0, 0, "device"), 100)
    shared = model._dropout_masks(DropoutStep(0.5, 9, 0, 0, "shared"), 100)
    assert not torch.equal(masks[1], shared[1])
    assert abs(float((masks[1] > 0).double().mean()) - 0.5) < 0.02
    other = torch_impl.MLP([6, 200, 3], dtype="float64")
    assert torch.equal(other._dropout_masks(DropoutStep(0.5, 9, 0, 0, "device"), 100)[1],
                       masks[1])


def test_evaluation_uses_no_dropout(digits) -> None:
    model = numpy_impl.MLP([64, 32, 10], dtype="float64")
    before = model.predict_proba(digits.X_test)
    model.fit(digits.X_train, digits.y_train, epochs=1, dropout=0.5, lr=1e-9, verbose=False)
    np.testing.assert_allclose(model.predict_proba(digits.X_test), before, rtol=1e-6)
    np.testing.assert_array_equal(model.predict_proba(digits.X_test),
                                  model.predict_proba(digits.X_test))
