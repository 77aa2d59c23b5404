"""The shared training loop: batch order, early stopping, determinism, digits accuracy."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

from twinmlp import numpy_impl
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.metrics import accuracy, confusion_matrix
from twinmlp.shared.trainer import train


def test_batch_bounds_keep_the_last_partial_batch() -> None:
    assert batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(8, 4) == [(0, 4), (4, 8)]
    assert batch_bounds(3, 64) == [(0, 3)]


def test_epoch_permutations_are_seeded_by_seed_and_epoch() -> None:
    first = epoch_permutation(7, 0, 50)
    assert sorted(first.tolist()) == list(range(50))
    np.testing.assert_array_equal(first, epoch_permutation(7, 0, 50))
    assert not np.array_equal(first, epoch_permutation(7, 1, 50))
    assert not np.array_equal(first, epoch_permutation(8, 0, 50))


class ScriptedModel:
    """A stand-in for a backend whose validation losses follow a script."""

    backend = "scripted"

    def numerics(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    def __init__(self, val_losses: list[float]) -> None:
        self.config = ModelConfig((2, 2))
        self.val_losses = iter(val_losses)
        self.epoch = 0
        self.batches: list[list[int]] = []
        self.loaded: dict[str, np.ndarray] | None = None

    def prepare_data(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")) -> Any:
        return X, y

    def prepare_order(self, order: np.ndarray) -> np.ndarray:
        self.epoch += 1
        return order

    def make_optimizer(self, config: TrainConfig, n_train: int) -> Any:
        return numpy_impl.optim.SGD(config.lr)

    def train_step(self, data: Any, batch: np.ndarray, optimizer: Any,
                   dropout: Any = None) -> tuple[float, int]:
        self.batches.append(batch.tolist())
        return 0.0, 0

    def evaluate(self, data: Any) -> tuple[float, float]:
        return next(self.val_losses), 0.5

    def read_scalars(self, values: list) -> np.ndarray:
        return np.array(values, dtype=np.float64)

    def all_finite(self) -> bool:
        return True

    def weight_norm_sq(self) -> float:
        return 0.0

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"epoch": np.array(self.epoch)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.loaded = state


def run_scripted(val_losses: list[float], **options: Any) -> tuple[ScriptedModel, Any]:
    model = ScriptedModel(val_losses)
    X, y = np.zeros((5, 2)), np.zeros(5, dtype=int)
    history = train(model, X, y, X, y, TrainConfig(**options), verbose=False)
    return model, history


def test_early_stopping_watches_validation_loss_and_restores_the_best() -> None:
    losses = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.9, 0.9]
    model, history = run_scripted(losses, epochs=10, patience=3)
    assert history.epochs_run == 8  # epochs 6, 7, 8 do not beat 0.7
    assert history.stopped_early and history.best_epoch == 5
    assert int(model.loaded["epoch"]) == 5


def test_min_delta_and_no_restore() -> None:
    losses = [1.0, 0.95, 0.9, 0.85, 0.8]
    model, history = run_scripted(losses, epochs=5, patience=2, min_delta=0.11,
                                  restore_best=False)
    assert history.epochs_run == 3 and history.best_epoch == 1
    assert model.loaded is None


def test_every_row_is_visited_once_per_epoch_in_the_shared_order() -> None:
    model, _ = run_scripted([1.0, 1.0], epochs=2, batch_size=2, seed=3)
    assert [len(b) for b in model.batches] == [2, 2, 1, 2, 2, 1]
    first_epoch = [i for batch in model.batches[:3] for i in batch]
    assert first_epoch == epoch_permutation(3, 0, 5).tolist()


def test_metrics() -> None:
    assert accuracy(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2])) == 0.75
    expected = [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    np.testing.assert_array_equal(
        confusion_matrix(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), 3), expected)


def test_digits_split_matches_the_notebook(digits: Dataset) -> None:
    assert (len(digits.y_train), len(digits.y_val), len(digits.y_test)) == (1149, 288, 360)
    np.testing.assert_allclose(digits.X_train.mean(axis=0), 0, atol=1e-12)
    # validation and test are scaled with the training statistics (the notebook's bug fixed)
    assert abs(digits.X_val.mean()) < 0.1 and abs(digits.X_val.std() - 1) < 0.15


def fit_digits(digits: Dataset, dtype: str, seed: int, epochs: int) -> numpy_impl.MLP:
    model = numpy_impl.MLP([64, 32, 10], seed=seed, dtype=dtype)
    model.fit(digits.X_train, digits.y_train, digits.X_val, digits.y_val, epochs=epochs,
              batch_size=64, lr=0.001, weight_decay=1e-4, patience=10, verbose=False)
    return model


def test_same_seed_gives_bit_identical_parameters(digits: Dataset) -> None:
    first = fit_digits(digits, "float32", seed=4, epochs=30).state_dict()
    second = fit_digits(digits, "float32", seed=4, epochs=30).state_dict()
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name
    other = fit_digits(digits, "float32", seed=5, epochs=30).state_dict()
    assert not np.array_equal(first["W1"], other["W1"])


@pytest.mark.slow
def test_notebook_configuration_reaches_96_percent_on_digits(digits: Dataset) -> None:
    model = fit_digits(digits, "float32", seed=0, epochs=2000)
    assert accuracy(digits.y_test, model.predict(digits.X_test)) >= 0.96
