"""The plain twins (``numpy_impl/plain.py``, ``torch_impl/plain.py``) compute what the fast
path that training runs computes: the forward pass, the loss, the backward pass and one SGD
step with the L2 term, within the step tolerance of ``twinmlp.tolerances``, for every
activation, in float64 and float32, in both twins. The network has two hidden layers and
fewer classes than its last hidden width, so the output layer's weights are column-major
(``shared/layout.py``) and a hidden layer's ``G_l`` goes through the recursion twice."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import assert_close, random_problem
from twinmlp import numpy_impl, torch_impl
from twinmlp.shared.config import ACTIVATION_NAMES, TrainConfig
from twinmlp.shared.layout import column_major_params
from twinmlp.tolerances import STEP

SIZES = (12, 16, 14, 5)  # L = 3; k = 5 < d_2 = 14: W3 is column-major
N_ROWS, ALPHA, LR, WEIGHT_DECAY = 24, 0.1, 0.5, 3.0
TWINS = {"numpy": numpy_impl, "torch": torch_impl}



def every_case(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` for each twin, dtype and activation."""
    for mark in (pytest.mark.parametrize("activation", ACTIVATION_NAMES),
                 pytest.mark.parametrize("dtype", ["float64", "float32"]),
                 pytest.mark.parametrize("backend", list(TWINS))):
        test = mark(test)
    return test


def _setup(backend: str, dtype: str, activation: str) -> tuple[ModuleType, object, tuple]:
    """The twin package, a model, and the problem converted by the model."""
    twin = TWINS[backend]
    model = twin.MLP(SIZES, activation=activation, alpha=ALPHA, seed=3, dtype=dtype)
    X, y = random_problem(list(SIZES), N_ROWS, seed=5)
    return twin, model, model.prepare_data(X, y)


def test_the_network_has_the_shapes_this_file_claims() -> None:
    assert len(SIZES) - 1 >= 3 and column_major_params(SIZES) == {"W3"}


@every_case
def test_plain_forward_and_loss_equal_the_fast_path(backend: str, dtype: str,
                                                     activation: str) -> None:
    twin, model, (X, y) = _setup(backend, dtype, activation)
    A, Z = twin.plain.forward(model.params, X, activation, ALPHA)
    cache = model.forward_pass(X, y=y)  # the training step's pass: loss fused in
    L = len(SIZES) - 1
    assert len(A) == len(Z) == L + 1 and Z[0] is None
    for l in range(1, L + 1):
        assert_close(f"Z{l}", Z[l], cache.Z[l], STEP[dtype])
        assert_close(f"A{l}", A[l], cache.A[l], STEP[dtype])
    assert_close("P", twin.plain.softmax(Z[L]), cache.probs, STEP[dtype])
    loss = twin.plain.cross_entropy(Z[L], y)
    assert_close("loss (fused)", loss * N_ROWS, cache.loss_sum, STEP[dtype])
    assert_close("loss", loss, model.functional.cross_entropy(cache.logits, y), STEP[dtype])


@every_case
def test_plain_backward_equals_the_fast_path(backend: str, dtype: str,
                                             activation: str) -> None:
    twin, model, (X, y) = _setup(backend, dtype, activation)
    A, Z = twin.plain.forward(model.params, X, activation, ALPHA)
    plain_grads = twin.plain.backward(model.params, A, Z, y, activation, ALPHA)
    fast_grads = model.backward_pass(model.forward_pass(X), y)
    assert list(plain_grads) == list(fast_grads) == list(model.params)
    for name in model.params:
        assert_close(f"d{name}", plain_grads[name], fast_grads[name], STEP[dtype])
    # one-hot rows give the same gradients as the labels they encode
    Y = twin.plain.one_hot(y, SIZES[-1], A[0].dtype)
    for name, grad in twin.plain.backward(model.params, A, Z, Y, activation, ALPHA).items():
        assert_close(f"d{name} (one-hot)", grad, plain_grads[name], STEP[dtype])


@every_case
def test_plain_sgd_step_equals_one_training_step(backend: str, dtype: str,
                                                 activation: str) -> None:
    twin, model, data = _setup(backend, dtype, activation)
    _, start, _ = _setup(backend, dtype, activation)  # the same seed: the same parameters
    rows = np.random.default_rng(7).permutation(N_ROWS)[:16]
    optimizer = model.make_optimizer(TrainConfig.from_options(lr=LR, weight_decay=WEIGHT_DECAY),
                                     N_ROWS)
    loss_sum, _ = model.train_step(data, model.prepare_order(rows), optimizer)

    X, y = start.prepare_data(*random_problem(list(SIZES), N_ROWS, seed=5))
    Xb, yb = X[rows], y[rows]
    A, Z = twin.plain.forward(start.params, Xb, activation, ALPHA)
    grads = twin.plain.backward(start.params, A, Z, yb, activation, ALPHA)
    new = twin.plain.sgd_step(start.params, grads, LR, WEIGHT_DECAY, N_ROWS)
    assert_close("loss", twin.plain.cross_entropy(Z[-1], yb) * len(rows), loss_sum, STEP[dtype])
    for name in model.params:
        assert_close(f"new {name}", new[name], model.params[name], STEP[dtype])
    # the L2 term moved the weights: without it the step lands elsewhere
    no_decay = twin.plain.sgd_step(start.params, grads, LR, 0.0, N_ROWS)
    with pytest.raises(AssertionError):
        assert_close("new W1", no_decay["W1"], model.params["W1"], STEP[dtype])
