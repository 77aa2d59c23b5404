"""The comparison helper every twin test goes through (modelled on tinygrad's
``helper_test_op``).

One call builds a problem from a shape, a dtype and a seed (shape → dtype → values), runs
both twins on it and compares every named tensor, with separate tolerances for the forward
pass and for gradients. On failure the message names the tensor, its relative error, the
max abs and max relative difference, the worst entry with both values, and how many
entries exceed the tolerance (mine = numpy_impl, theirs = torch_impl).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.helpers import random_problem
from twinmlp import numpy_impl, torch_impl
from twinmlp.arrays import to_numpy
from twinmlp.parity import difference, relative_error


def assert_close(name: str, mine: Any, theirs: Any, tol: float) -> float:
    """Relative error of ``mine`` against ``theirs``; raise with
    :meth:`twinmlp.parity.Difference.message` if it exceeds ``tol``."""
    a, b = to_numpy(mine), to_numpy(theirs)
    error = relative_error(a, b)
    if not error <= tol:
        raise AssertionError(difference(name, a, b, tol).message(tol))
    return error


def assert_identical(name: str, mine: Any, theirs: Any) -> None:
    """Bit-identical values (same bytes after moving to NumPy)."""
    a, b = to_numpy(mine), to_numpy(theirs)
    if a.dtype != b.dtype or a.shape != b.shape:
        raise AssertionError(f"{name}: not bit-identical ({a.dtype}{a.shape} vs "
                             f"{b.dtype}{b.shape})")
    if a.tobytes() != b.tobytes():
        d = difference(name, a, b)
        raise AssertionError(
            f"{name}: not bit-identical; max abs difference {d.max_abs:.3e}, max relative "
            f"{d.max_rel:.3e}; worst entry at {d.index}: mine {d.mine_value!r} vs theirs "
            f"{d.theirs_value!r}; {int(np.count_nonzero(a != b))} of {a.size} entries differ")


@dataclass
class TwinReport:
    """Largest relative error seen per tensor name by one helper call."""

    errors: dict[str, float] = field(default_factory=dict)

    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)


def helper_test_twins(layer_sizes: list[int], batch: int, dtype: str, *,
                      activation: str = "leaky_relu", device: str = "cpu", seed: int = 0,
                      forward_tol: float, grad_tol: float, lr: float = 0.1,
                      weight_decay: float = 0.05, one_hot: bool = False) -> TwinReport:
    """Compare the twins on one problem: initial parameters (bit-identical), forward
    probabilities and loss (``forward_tol``), gradients and one SGD step (``grad_tol``)."""
    X, y = random_problem(layer_sizes, batch, seed)
    targets = np.eye(layer_sizes[-1])[y] if one_hot else y
    options = dict(activation=activation, alpha=0.1, seed=seed, dtype=dtype)
    mine = numpy_impl.MLP(layer_sizes, **options)
    theirs = torch_impl.MLP(layer_sizes, device=device, **options)
    report = TwinReport()
    for name in mine.params:
        assert_identical(f"initial {name}", mine.params[name], theirs.params[name])

    probs_a, _ = mine.forward(X)
    probs_b, _ = theirs.forward(X)
    report.errors["probs"] = assert_close("probs", probs_a, probs_b, forward_tol)
    loss_a, grads_a = mine.loss_and_grads(X, targets)
    loss_b, grads_b = theirs.loss_and_grads(X, targets)
    report.errors["loss"] = assert_close("loss", loss_a, loss_b, forward_tol)
    for name in grads_a:
        report.errors[f"grad {name}"] = assert_close(f"grad {name}", grads_a[name],
                                                     grads_b[name], grad_tol)

    numpy_impl.optim.SGD(lr, weight_decay).step(mine.params, grads_a)
    torch_impl.optim.SGD(lr, weight_decay).step(theirs.params, grads_b)
    for name in mine.params:
        report.errors[f"step {name}"] = assert_close(f"after one step {name}",
                                                     mine.params[name], theirs.params[name],
                                                     grad_tol)
    return report

