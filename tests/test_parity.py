"""Parity tiers 1–4: the two twins agree (docs/parity.md; tolerances from
``twinmlp.tolerances``).

Every test runs on the CPU and, where a GPU exists, on CUDA (``cuda``-marked, skipped
elsewhere). mine = numpy_impl (the reference), theirs = torch_impl.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import (
    assert_close,
    assert_identical,
    helper_test_twins,
    random_architecture,
    random_problem,
)
from twinmlp import numpy_impl, torch_impl
from twinmlp.arrays import to_numpy
from twinmlp.parity import RunDifference, chaos_floor, floor_verdict
from twinmlp.shared.config import ACTIVATION_NAMES, INIT_NAMES, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.tolerances import STEP, TRAJECTORY, TRAJECTORY_STEPS

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


# --- tier 1: initial parameters ---

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("init", INIT_NAMES)
def test_initial_parameters_are_bit_identical(init: str, dtype: str, device: str) -> None:
    sizes = [64, 48, 32, 10]
    mine = numpy_impl.MLP(sizes, init=init, seed=11, dtype=dtype)
    theirs = torch_impl.MLP(sizes, init=init, seed=11, dtype=dtype, device=device)
    for name in mine.params:
        assert_identical(name, mine.params[name], theirs.params[name])
        assert_identical(name, mine.state_dict()[name], theirs.state_dict()[name])


# --- tiers 2 and 3: one step ---

STEP_CASES = [(depth, activation, seed) for depth in (1, 2, 3, 4)
              for activation in ACTIVATION_NAMES for seed in (0, 1)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("depth", "activation", "seed"), STEP_CASES)
def test_float64_step_within_the_step_tier(depth: int, activation: str, seed: int,
                                           device: str) -> None:
    sizes, batch = random_architecture(depth, seed=200 + 10 * depth + seed)
    sizes = [s * 4 for s in sizes[:-1]] + [sizes[-1]]  # wider than the gradient-check nets
    helper_test_twins(sizes, batch * 4, "float64", activation=activation, device=device,
                      seed=seed, forward_tol=STEP["float64"], grad_tol=STEP["float64"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("depth", "activation", "seed"), STEP_CASES)
def test_float32_step_within_the_step_tier(depth: int, activation: str, seed: int,
                                           device: str) -> None:
    sizes, batch = random_architecture(depth, seed=300 + 10 * depth + seed)
    sizes = [s * 4 for s in sizes[:-1]] + [sizes[-1]]
    helper_test_twins(sizes, batch * 4, "float32", activation=activation, device=device,
                      seed=seed, forward_tol=STEP["float32"], grad_tol=STEP["float32"])


@pytest.mark.parametrize("device", DEVICES)
def test_one_hot_targets_and_digits_sized_step(device: str) -> None:
    tol = STEP["float64"]
    helper_test_twins([64, 32, 10], 64, "float64", device=device, one_hot=True,
                      forward_tol=tol, grad_tol=tol)
    helper_test_twins([784, 256, 10], 512, "float64", device=device, seed=3,
                      forward_tol=tol, grad_tol=tol)


# --- tier 2: 1,000-step trajectories ---

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_float64_trajectory_within_the_trajectory_tier(activation: str, device: str) -> None:
    sizes = [20, 16, 12, 5]
    X, y = random_problem(sizes, 256, seed=5)
    mine = numpy_impl.MLP(sizes, activation=activation, alpha=0.1, seed=5, dtype="float64")
    theirs = torch_impl.MLP(sizes, activation=activation, alpha=0.1, seed=5,
                            dtype="float64", device=device)
    optimizers = numpy_impl.optim.SGD(0.05, 1e-3), torch_impl.optim.SGD(0.05, 1e-3)
    rows = np.random.default_rng(0).integers(0, 256, size=(TRAJECTORY_STEPS, 32))
    for batch in rows:
        for model, optimizer in zip((mine, theirs), optimizers, strict=True):
            _, grads = model.loss_and_grads(X[batch], y[batch])
            optimizer.step(model.params, grads)
    for name in mine.params:
        assert_close(f"after {TRAJECTORY_STEPS} steps {name}", mine.params[name],
                     theirs.params[name], TRAJECTORY["float64"])


# --- tiers 2 and 3: whole digits runs through the shared loop ---

WHOLE_RUN = dict(epochs=300, batch_size=32, lr=0.05, weight_decay=1e-4, patience=5,
                 min_delta=1e-3)


def train_twins(digits: Dataset, dtype: str, device: str) -> tuple:
    runs = []
    for model in (numpy_impl.MLP([64, 32, 10], seed=2, dtype=dtype),
                  torch_impl.MLP([64, 32, 10], seed=2, dtype=dtype, device=device)):
        history = model.fit(digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                            verbose=False, **WHOLE_RUN)
        runs.append((model, history, to_numpy(model.predict(digits.X_test))))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_float64_digits_run_stops_at_the_same_epoch_with_identical_predictions(
        digits: Dataset, device: str) -> None:
    (mine, history_a, pred_a), (theirs, history_b, pred_b) = train_twins(digits, "float64",
                                                                         device)
    assert history_a.stopped_early, "the configuration must exercise early stopping"
    assert history_a.epochs_run == history_b.epochs_run
    assert history_a.best_epoch == history_b.best_epoch
    np.testing.assert_array_equal(pred_a, pred_b)
    for name in mine.params:
        assert_close(f"final {name}", mine.params[name], theirs.params[name],
                     TRAJECTORY["float64"])


def assert_within_chaos_floor(digits: Dataset, mine: object, pred_a: np.ndarray,
                              theirs: object, pred_b: np.ndarray, training: TrainConfig,
                              copies: int = 2) -> None:
    """The twins' whole-run difference within the floor of ``copies`` nudged numpy runs."""
    state_a = mine.state_dict()
    twins = RunDifference.between(theirs.state_dict(), pred_b, state_a, pred_a, digits.y_test)
    floor = chaos_floor(mine.config, training, digits, state_a, pred_a, copies)
    verdict = floor_verdict(mine.config.dtype, "numpy", twins, floor, len(digits.y_test))
    assert verdict.passed, verdict.line()


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_float32_digits_run_within_the_chaos_floor(digits: Dataset, device: str) -> None:
    (mine, _, pred_a), (theirs, _, pred_b) = train_twins(digits, "float32", device)
    assert_within_chaos_floor(digits, mine, pred_a, theirs, pred_b,
                              TrainConfig.from_options(**WHOLE_RUN))


# --- tier 4: CUDA arithmetic is IEEE float32, not TF32 ---

@pytest.mark.cuda
def test_tf32_is_switched_off_on_cuda() -> None:
    """CUDA tests run inside ``exact_cuda_numerics`` (conftest), as the CLI and the
    trainer run CUDA work: these are the settings every CUDA tier was measured under."""
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False
    assert torch.are_deterministic_algorithms_enabled()


def test_cuda_request_without_a_gpu_is_one_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match=r"device = 'cuda' is not available: torch finds no "
                                         r"CUDA GPU"):
        torch_impl.MLP([4, 3], device="cuda")


# --- tiers 2 and 3 for every optimizer, schedule, activation and dropout ---

FEATURE_CASES = [
    ("sgd", "constant", "leaky_relu", 0.0), ("momentum", "step", "relu", 0.2),
    ("nesterov", "cosine", "tanh", 0.0), ("adam", "cosine", "gelu", 0.3),
    ("adamw", "step", "sigmoid", 0.1), ("adam", "constant", "leaky_relu", 0.5),
    ("adamw", "cosine", "gelu", 0.0), ("momentum", "constant", "sigmoid", 0.0),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("optimizer", "schedule", "activation", "dropout"), FEATURE_CASES)
def test_training_features_keep_parity(digits: Dataset, optimizer: str, schedule: str,
                                       activation: str, dropout: float, dtype: str,
                                       device: str) -> None:
    options = dict(epochs=6, batch_size=64, lr=0.01 if optimizer.startswith("adam") else 0.05,
                   weight_decay=1e-3, optimizer=optimizer, schedule=schedule, step_size=2,
                   warmup_epochs=2, dropout=dropout)
    mine = numpy_impl.MLP([64, 48, 32, 10], activation=activation, seed=3, dtype=dtype)
    theirs = torch_impl.MLP([64, 48, 32, 10], activation=activation, seed=3, dtype=dtype,
                            device=device)
    history_a = mine.fit(digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                         verbose=False, **options)
    history_b = theirs.fit(digits.X_train, digits.y_train, digits.X_val, digits.y_val,
                           verbose=False, **options)
    assert history_a.lr == history_b.lr
    pred_a, pred_b = mine.predict(digits.X_test), to_numpy(theirs.predict(digits.X_test))
    if dtype == "float64":
        for name in mine.params:
            assert_close(f"final {name}", mine.params[name], theirs.params[name],
                         TRAJECTORY["float64"])
        np.testing.assert_array_equal(pred_a, pred_b)
        for key, value in history_a.optimizer_state.items():
            assert_close(f"optimizer {key}", value, history_b.optimizer_state[key],
                         TRAJECTORY["float64"])
    else:
        assert_within_chaos_floor(digits, mine, pred_a, theirs, to_numpy(pred_b),
                                  TrainConfig.from_options(**options))
