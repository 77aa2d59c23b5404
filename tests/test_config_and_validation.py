"""Bad configuration values and bad inputs meet one clear message."""

from __future__ import annotations

import numpy as np
import pytest

from twinmlp import numpy_impl
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.errors import TwinMLPError


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"layer_sizes": (64,)}, r"ModelConfig.layer_sizes = \(64,\) is not allowed: expected at "
                             r"least two positive integers"),
    ({"layer_sizes": (64, 0, 10)}, r"layer_sizes = \(64, 0, 10\) is not allowed"),
    ({"layer_sizes": (64, 32, 1)}, r"expected at least 2 output classes"),
    ({"layer_sizes": (64, 2.5, 10)}, r"layer_sizes = \(64, 2.5, 10\)"),
    ({"activation": "relu6"}, r"ModelConfig.activation = 'relu6' is not allowed: expected one "
                              r"of leaky_relu, relu, tanh, sigmoid"),
    ({"alpha": -0.1}, r"ModelConfig.alpha = -0.1 is not allowed: expected a number in \[0, 1\)"),
    ({"alpha": float("nan")}, r"ModelConfig.alpha = nan"),
    ({"init": "xavier"}, r"ModelConfig.init = 'xavier' is not allowed: expected one of "
                         r"he_normal, glorot_uniform"),
    ({"dtype": "float16"}, r"ModelConfig.dtype = 'float16' is not allowed"),
    ({"seed": -1}, r"ModelConfig.seed = -1 is not allowed: expected a non-negative integer"),
])
def test_bad_model_config(kwargs: dict, message: str) -> None:
    config = {"layer_sizes": (64, 32, 10), **kwargs}
    with pytest.raises(ValueError, match=message):
        ModelConfig(**config)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": 0}, r"TrainConfig.epochs = 0 is not allowed: expected an integer >= 1"),
    ({"batch_size": 0}, r"TrainConfig.batch_size = 0 is not allowed"),
    ({"lr": 0.0}, r"TrainConfig.lr = 0.0 is not allowed: expected a finite number > 0"),
    ({"lr": float("inf")}, r"TrainConfig.lr = inf is not allowed"),
    ({"weight_decay": -1e-4}, r"TrainConfig.weight_decay = -0.0001 is not allowed"),
    ({"patience": 0}, r"TrainConfig.patience = 0 is not allowed: expected None"),
    ({"min_delta": -1.0}, r"TrainConfig.min_delta = -1.0 is not allowed"),
    ({"restore_best": "yes"}, r"TrainConfig.restore_best = 'yes' is not allowed"),
    ({"optimizer": "lbfgs"}, r"TrainConfig.optimizer = 'lbfgs' is not allowed"),
])
def test_bad_train_config(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_unknown_training_option_is_named() -> None:
    model = numpy_impl.MLP([4, 3])
    with pytest.raises(TwinMLPError, match=r"unknown training option 'momentun'"):
        model.fit(np.zeros((2, 4)), np.array([0, 1]), momentun=0.9, verbose=False)


@pytest.fixture
def model() -> numpy_impl.MLP:
    return numpy_impl.MLP([4, 3, 3], dtype="float64")


@pytest.mark.parametrize(("X", "message"), [
    (np.zeros(4), r"X must be a 2-D array of shape \(n_samples, 4\), got shape \(4,\)"),
    (np.zeros((0, 4)), r"X is empty"),
    (np.zeros((2, 5)), r"X has 5 features per row but the model expects 4"),
    (np.array([[0.0, np.nan, 0.0, 0.0]]), r"X contains NaN or infinity"),
    (np.array([[0.0, np.inf, 0.0, 0.0]]), r"X contains NaN or infinity"),
])
def test_bad_inputs(model: numpy_impl.MLP, X: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.predict(X)


def test_non_numeric_input(model: numpy_impl.MLP) -> None:
    with pytest.raises(TwinMLPError, match=r"X must hold numbers, got dtype <U1"):
        model.predict(np.array([["a", "b", "c", "d"]]))


@pytest.mark.parametrize(("y", "error", "message"), [
    (np.array([0, 3]), ValueError, r"labels in \[0, 3\] but the model has 3 classes"),
    (np.array([0, -1]), ValueError, r"labels in \[-1, 0\]"),
    (np.array([0]), ValueError, r"y has 1 labels but X has 2 rows"),
    (np.array([0.5, 1.0]), TwinMLPError, r"y must hold integer class labels, got dtype float64"),
    (np.zeros((2, 4)), ValueError, r"one-hot y must have shape \(2, 3\), got \(2, 4\)"),
    (np.zeros((2, 3, 1)), ValueError, r"y must be labels of shape \(2,\)"),
])
def test_bad_targets(model: numpy_impl.MLP, y: np.ndarray, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        model.loss_and_grads(np.zeros((2, 4)), y)


def test_bad_state_dict(model: numpy_impl.MLP) -> None:
    state = model.state_dict()
    with pytest.raises(ValueError, match=r"state dict must have keys"):
        model.load_state_dict({"W1": state["W1"]})
    state["W2"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"entry 'W2' has shape \(4, 4\), expected \(3, 3\)"):
        model.load_state_dict(state)


def test_patience_without_validation_data(model: numpy_impl.MLP) -> None:
    with pytest.raises(ValueError, match=r"early stopping \(patience\) watches the validation "
                                         r"loss: pass X_val and y_val"):
        model.fit(np.zeros((2, 4)), np.array([0, 1]), patience=3, verbose=False)


# --- NumPy scalars, and the API gaps of fit and load_state_dict ---

def test_numpy_scalars_are_numbers_and_stored_as_python_numbers() -> None:
    config = TrainConfig(epochs=np.int64(3), batch_size=np.int32(8), lr=np.float32(0.5),
                         patience=np.int64(2), seed=np.uint8(4), dropout=np.float64(0.1))
    assert (config.epochs, config.batch_size, config.lr, config.seed) == (3, 8, 0.5, 4)
    assert all(type(v) in (int, float) for v in (config.epochs, config.lr, config.patience))
    model = ModelConfig(np.array([4, 8, 3]), alpha=np.float32(0.25), seed=np.int64(1))
    assert model.layer_sizes == (4, 8, 3) and type(model.layer_sizes[1]) is int
    assert ModelConfig((np.int64(4), np.int64(8), 3)).to_dict()["layer_sizes"] == [4, 8, 3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": True}, r"TrainConfig\.epochs = True is not allowed: expected an integer"),
    ({"batch_size": np.bool_(True)}, r"TrainConfig\.batch_size = np\.True_ is not allowed"),
    ({"lr": np.float32("nan")}, r"TrainConfig\.lr = nan is not allowed"),
    ({"epochs": np.float64(2.0)}, r"TrainConfig\.epochs = 2\.0 is not allowed"),
])
def test_booleans_and_non_integers_stay_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_a_numpy_size_is_named_plainly_in_a_refusal() -> None:
    with pytest.raises(ValueError, match=r"layer_sizes = \(64, 0, 10\) is not allowed"):
        ModelConfig((np.int64(64), np.int64(0), 10))


def test_mlp_fit_takes_numpy_epochs() -> None:
    model = numpy_impl.MLP([4, 3], dtype="float64")
    history = model.fit(np.zeros((6, 4)), np.arange(6) % 3, epochs=np.int64(2),
                        batch_size=np.int64(3), lr=np.float32(0.1), verbose=False)
    assert history.epochs_run == 2


@pytest.mark.parametrize("given", ["X_val", "y_val"])
def test_validation_needs_both_halves(given: str) -> None:
    model = numpy_impl.MLP([4, 3], dtype="float64")
    X, y = np.zeros((6, 4)), np.arange(6) % 3
    split = {given: X if given == "X_val" else y}
    missing = "y_val" if given == "X_val" else "X_val"
    with pytest.raises(TwinMLPError, match=rf"{given} was given without {missing}: a "
                                           r"validation split needs both X_val and y_val"):
        model.fit(X, y, **split, epochs=1, verbose=False)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_load_state_dict_takes_tensors_that_require_grad(backend: str) -> None:
    import torch

    from twinmlp import torch_impl

    source = torch_impl.MLP([4, 3, 3], dtype="float64", seed=5)
    state = {name: torch.tensor(value, requires_grad=True)
             for name, value in source.state_dict().items()}
    target = (numpy_impl if backend == "numpy" else torch_impl).MLP([4, 3, 3], dtype="float64")
    target.load_state_dict(state)
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(np.asarray(target.state_dict()[name]), value)
