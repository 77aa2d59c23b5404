"""The output layer's weights and the training step's output-layer arrays are column-major
where the classes are the shorter side (shared/layout.py), in both twins, and the step
computes the same values either way."""

from __future__ import annotations

import numpy as np
import pytest

from twinmlp import numpy_impl, torch_impl
from twinmlp.shared import model as shared_model
from twinmlp.shared.config import TrainConfig
from twinmlp.shared.layout import column_major_buffers, column_major_params, step_buffer_shapes


def test_the_rule_keeps_each_output_array_longer_side_contiguous() -> None:
    assert column_major_buffers((784, 256, 10), 64) == {"Z2", "P", "dW2"}
    assert column_major_buffers((784, 256, 10), 8) == {"dW2"}  # a batch narrower than k
    assert column_major_buffers((6, 4, 10), 64) == {"Z2", "P"}  # d_{L-1} ≤ k
    assert column_major_buffers((6, 3), 2) == {"dW1"}  # no hidden layer: L = 1
    for name in column_major_buffers((784, 32, 16, 10), 128):
        assert name in step_buffer_shapes((784, 32, 16, 10), 128)
    assert column_major_params((784, 256, 10)) == {"W2"}  # as its gradient dW2
    assert column_major_params((6, 4, 10)) == set()  # d_{L-1} ≤ k
    assert column_major_params((6, 3)) == {"W1"}


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_output_weights_follow_the_rule_and_keep_it(backend: str) -> None:
    twin = numpy_impl if backend == "numpy" else torch_impl
    model = twin.MLP([12, 16, 10], seed=0)
    for name, value in model.params.items():
        contiguous = "F_CONTIGUOUS" if name == "W2" else "C_CONTIGUOUS"
        assert np.asarray(value).flags[contiguous], (backend, name)
    state = model.state_dict()  # plain row-major copies, for checkpoints and the other twin
    assert all(value.flags["C_CONTIGUOUS"] for value in state.values())
    other = (torch_impl if backend == "numpy" else numpy_impl).MLP([12, 16, 10], seed=5)
    model.load_state_dict(other.state_dict())  # in place: the layout stays
    assert np.asarray(model.params["W2"]).flags["F_CONTIGUOUS"]
    assert np.array_equal(np.asarray(model.params["W2"]), other.state_dict()["W2"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_step_buffers_follow_the_rule(backend: str) -> None:
    twin = numpy_impl if backend == "numpy" else torch_impl
    model = twin.MLP([12, 16, 10], seed=0)
    buffers = model._buffers(32)
    column_major = column_major_buffers((12, 16, 10), 32)
    assert column_major == {"Z2", "P", "dW2"}
    for name, shape in step_buffer_shapes((12, 16, 10), 32).items():
        array = np.asarray(buffers[name])  # a CPU tensor shares its memory
        assert array.shape == shape
        contiguous = "F_CONTIGUOUS" if name in column_major else "C_CONTIGUOUS"
        assert array.flags[contiguous], (backend, name)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_layout_changes_no_value(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two float64 steps, one with the column-major buffers and one with all row-major: the
    # same arithmetic in another memory order agrees to rounding.
    twin = numpy_impl if backend == "numpy" else torch_impl
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 12)), rng.integers(0, 10, 40)
    results = []
    for layout in ("column-major", "row-major"):
        if layout == "row-major":
            monkeypatch.setattr(twin.model, "column_major_buffers", lambda *a: frozenset())
            monkeypatch.setattr(shared_model, "column_major_params", lambda *a: frozenset())
        model = twin.MLP([12, 16, 10], seed=1, dtype="float64")
        data = model.prepare_data(X, y)
        optimizer = model.make_optimizer(TrainConfig(lr=0.1, weight_decay=0.5), len(y))
        order = model.prepare_order(np.arange(40))
        losses = [float(model.train_step(data, order[:32], optimizer)[0]) for _ in range(2)]
        results.append((losses, model.state_dict()))
    (losses_c, state_c), (losses_r, state_r) = results
    assert np.allclose(losses_c, losses_r, rtol=1e-13, atol=0)
    for name in state_c:
        assert np.allclose(state_c[name], state_r[name], rtol=1e-13, atol=1e-15), name
    assert np.asarray(model._buffers(32)["P"]).flags["C_CONTIGUOUS"]  # the patches took
    assert np.asarray(model.params["W2"]).flags["C_CONTIGUOUS"]
