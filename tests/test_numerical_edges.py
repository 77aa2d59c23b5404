"""Numerical edges and the scikit-learn wrapper: huge logits through every
softmax/cross-entropy path of both twins, input beyond the model's dtype refused in both
twins and the wrapper, divergence blamed on the input when it is the input; int
``hidden_layer_sizes``, ``partial_fit`` with other classes, learning rates that blow the
weights up."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from twinmlp import numpy_impl, torch_impl
from twinmlp.numpy_impl import functional as npf
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.trainer import DivergenceError, History, TrainState
from twinmlp.shared.validation import check_fits_dtype
from twinmlp.sklearn import TwinMLPClassifier
from twinmlp.torch_impl import functional as tf

F32_MAX = float(np.finfo(np.float32).max)


def as_numpy(value: object) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(
        value)


# --- huge logits through the softmax / cross-entropy paths ---

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("functional", [npf, tf], ids=["numpy", "torch"])
@pytest.mark.parametrize("fused_out", ["fresh", "in place"])
def test_huge_logits_stay_finite_and_exact(functional, dtype: str, fused_out: str) -> None:
    """Logits a quarter of the dtype's range apart by up to 2·big: every path subtracts
    the row maximum first (MATH.md §2), so nothing overflows and the values are exact."""
    big = float(np.finfo(dtype).max) / 4
    raw = np.array([[big, 0.0, -big], [-big, big, 0.0]], dtype=dtype)
    labels = np.array([1, 1])

    def tensor(array: np.ndarray):
        return torch.from_numpy(array.copy()) if functional is tf else array.copy()

    logits, y = tensor(raw), tensor(labels)
    expected_probs = np.array([[1, 0, 0], [0, 1, 0]], dtype=dtype)
    np.testing.assert_array_equal(as_numpy(functional.softmax(tensor(raw))), expected_probs)
    np.testing.assert_allclose(as_numpy(functional.log_softmax(logits)),
                               [[0, -big, -2 * big], [-2 * big, 0, -big]], rtol=1e-6)
    np.testing.assert_allclose(as_numpy(functional.cross_entropy(logits, y)), big / 2,
                               rtol=1e-6)
    one_hot = tensor(np.eye(3, dtype=dtype)[labels])
    np.testing.assert_allclose(as_numpy(functional.cross_entropy(logits, one_hot)), big / 2,
                               rtol=1e-6)
    buffer = tensor(raw) if fused_out == "in place" else None
    probs, loss_sum = functional.softmax_cross_entropy(buffer if buffer is not None
                                                       else tensor(raw), y, out=buffer)
    np.testing.assert_array_equal(as_numpy(probs), expected_probs)
    np.testing.assert_allclose(as_numpy(loss_sum), big, rtol=1e-6)
    grad = functional.cross_entropy_grad(probs, y, out=probs if fused_out == "in place"
                                         else None)
    np.testing.assert_array_equal(as_numpy(grad), np.array([[1, -1, 0], [0, 0, 0]]) / 2)


@pytest.mark.parametrize("model_cls", [numpy_impl.MLP, torch_impl.MLP])
def test_a_model_with_huge_logits_gives_finite_loss_gradients_and_epoch(model_cls) -> None:
    """The model paths (loss_and_grads; fit's fused step and evaluation) with the last
    layer scaled until the logits are ~1e30 in float32."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 4)), np.arange(12) % 3
    model = model_cls([4, 5, 3], dtype="float32", seed=0)
    state = model.state_dict()
    state["W2"] = state["W2"] * np.float32(1e30)
    model.load_state_dict(state)
    loss, grads = model.loss_and_grads(X, y)
    assert np.isfinite(as_numpy(loss)) and as_numpy(loss) > 1e28
    assert all(np.isfinite(as_numpy(g)).all() for g in grads.values())
    probs = as_numpy(model.predict_proba(X))
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1)
    history = model.fit(X, y, X, y, epochs=1, batch_size=4, lr=1e-45, verbose=False)
    assert np.isfinite(history.train_loss[0]) and np.isfinite(history.val_loss[0])


# --- input beyond the model's dtype ---

def test_check_fits_dtype_draws_the_line_at_the_dtype_maximum() -> None:
    check_fits_dtype(np.array([[F32_MAX, -F32_MAX]]), "float32")  # the largest finite
    check_fits_dtype(np.array([[1e39]]), "float64")
    check_fits_dtype(np.array([[7]], dtype=np.int64), "float32")
    beyond = np.nextafter(F32_MAX, np.inf)
    with pytest.raises(TwinMLPError, match=r"X_val holds values up to 3\.4e\+38, beyond the "
                                           r"range of the model's float32"):
        check_fits_dtype(np.array([[0.0, -beyond]]), "float32", "X_val")


@pytest.mark.parametrize("model_cls", [numpy_impl.MLP, torch_impl.MLP])
def test_the_twins_refuse_input_that_overflows_float32(model_cls) -> None:
    """Bug 4: predict_proba(np.full((1, 4), 1e39)) gave [[nan, nan]] and predict 0."""
    model = model_cls([4, 3, 2], dtype="float32")
    message = r"X holds values up to 1e\+39, beyond the range of the model's float32"
    with pytest.raises(TwinMLPError, match=message):
        model.predict_proba(np.full((1, 4), 1e39))
    with pytest.raises(TwinMLPError, match=message):
        model.predict(np.full((1, 4), 1e39))
    with pytest.raises(TwinMLPError, match=message):
        model.fit(np.full((4, 4), 1e39), np.array([0, 1, 0, 1]), epochs=1, verbose=False)
    wide = model_cls([4, 3, 2], dtype="float64")
    assert np.isfinite(as_numpy(wide.predict_proba(np.full((1, 4), 1e39)))).all()
    wider = model_cls([4, 16, 2], dtype="float32")
    edge = np.full((1, 4), F32_MAX)  # representable, passes, but X·W1 overflows inside
    with pytest.raises(TwinMLPError, match="the model's float32 arithmetic overflowed on X "
                                           r"\(its outputs are not finite\)"):
        wider.predict(edge)
    near = np.full((1, 4), 1e30)  # near the limit, yet the network's sums stay finite
    assert np.allclose(as_numpy(wider.predict_proba(near)).sum(), 1)


def test_the_torch_twin_checks_a_float64_tensor_too() -> None:
    model = torch_impl.MLP([4, 3, 2], dtype="float32")
    with pytest.raises(TwinMLPError, match=r"X holds values up to 1e\+39"):
        model.predict(torch.full((1, 4), 1e39, dtype=torch.float64))
    assert model.predict(torch.full((1, 4), 3.0, dtype=torch.float64)).shape == (1,)


# --- the scikit-learn wrapper ---

@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    return rng.standard_normal((60, 4)) + 3 * np.eye(4)[y], y


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_wrapper_refuses_overflowing_input(backend: str, blobs) -> None:
    X, y = blobs
    model = TwinMLPClassifier(backend=backend, dtype="float32", epochs=2).fit(X, y)
    with pytest.raises(TwinMLPError, match="beyond the range of the model's float32"):
        model.predict_proba(np.full((1, 4), 1e39))
    with pytest.raises(TwinMLPError, match="beyond the range of the model's float32"):
        TwinMLPClassifier(backend=backend, dtype="float32").fit(X * 1e38, y)


@pytest.mark.parametrize("make", [
    lambda: TwinMLPClassifier(dtype="float32", optimizer="sgd", lr=1e-3, epochs=5),
    lambda: numpy_impl.MLP([3, 8, 2], dtype="float32"),
    lambda: torch_impl.MLP([3, 8, 2], dtype="float32"),
], ids=["wrapper", "numpy", "torch"])
def test_divergence_blames_the_input_not_the_learning_rate(make) -> None:
    """Weak spot: input overflow was reported as divergence, "try a smaller learning
    rate"; far-from-standardised input is now named instead."""
    rng = np.random.default_rng(1)
    y = np.arange(40) % 2
    X = rng.standard_normal((40, 3)) * 1e36
    model = make()
    fit = (lambda: model.fit(X, y)) if isinstance(model, TwinMLPClassifier) else (
        lambda: model.fit(X, y, epochs=5, lr=1e-3, verbose=False))
    with pytest.raises(DivergenceError, match=r"training diverged in epoch \d+, .*; X holds "
                                              r"values up to \d\.\d+e\+36, far from "
                                              r"standardised: scale the input \(StandardScaler"
                                              r"\) first") as caught:
        fit()
    assert "try a smaller learning rate" not in str(caught.value)
    assert caught.value.last_good.epoch >= 0  # still the trainer's error, with its state
    assert caught.value.advice.startswith("X holds values up to ")
    assert caught.value.cause.startswith("the loss became ")
    # standardised input that diverges keeps the learning-rate advice
    with pytest.raises(DivergenceError, match="try a smaller learning rate"):
        TwinMLPClassifier(dtype="float32", optimizer="sgd", lr=1e30, epochs=5).fit(X / 1e36, y)


def test_int_hidden_layer_sizes_works_as_in_scikit_learn(blobs) -> None:
    X, y = blobs
    as_int = TwinMLPClassifier(hidden_layer_sizes=16, epochs=3).fit(X, y)
    as_tuple = TwinMLPClassifier(hidden_layer_sizes=(16,), epochs=3).fit(X, y)
    assert as_int.model_.config.layer_sizes == (4, 16, 3)
    np.testing.assert_array_equal(as_int.predict_proba(X), as_tuple.predict_proba(X))


def test_partial_fit_refuses_other_classes(blobs) -> None:
    X, y = blobs
    model = TwinMLPClassifier(epochs=1).partial_fit(X, y, classes=[0, 1, 2])
    model.partial_fit(X, y, classes=[2, 1, 0])  # the same set, in any order
    with pytest.raises(TwinMLPError, match=r"classes=\[0, 1, 2, 3\] differs from the first "
                                           r"partial_fit call's \[0, 1, 2\]"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_a_learning_rate_that_blows_the_weights_up_is_reported(blobs) -> None:
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match=r"training loss rose from .* the largest "
                                                r"weight is .*: lr=1000000.0 is too large"):
        TwinMLPClassifier(lr=1e6, epochs=20).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        TwinMLPClassifier(lr=1e-2, epochs=20).fit(X, y)


def test_a_divergence_carries_its_facts_and_builds_its_message_from_them() -> None:
    history = History(epoch=[1, 2], train_loss=[0.5, 0.4])
    last_good = TrainState(2, {}, {}, history)
    error = DivergenceError(3, 7, 18, "the loss became nan", last_good)
    assert (error.epoch, error.step, error.n_steps) == (3, 7, 18)
    assert str(error) == ("training diverged in epoch 3, step 7 of 18: the loss became nan; "
                          "the parameters of epoch 2 were put back; try a smaller learning "
                          "rate")
    assert error.history.epoch == [1, 2] and error.history is not history
    unscaled = error.with_advice("scale the input")
    assert str(unscaled) == str(error).replace("try a smaller learning rate",
                                               "scale the input")
    assert (unscaled.epoch, unscaled.step, unscaled.cause) == (3, 7, error.cause)
    copy = pickle.loads(pickle.dumps(unscaled))
    assert str(copy) == str(unscaled) and copy.advice == "scale the input"
    at_start = DivergenceError(1, None, 18, "a parameter became non-finite",
                               TrainState(0, {}, {}, History()))
    assert str(at_start).startswith("training diverged in epoch 1, its last steps: a "
                                    "parameter became non-finite; the parameters of epoch "
                                    "0 (the initial ones) were put back")
