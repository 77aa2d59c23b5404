"""Tier 5: an independent oracle. A float64 twin written here with ``torch.nn.functional``
and autograd; both hand-written backwards must match it within ``tolerances.AUTOGRAD``, for
random depths, widths, batch sizes and activations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import assert_close, random_problem
from twinmlp import numpy_impl, torch_impl
from twinmlp.shared.config import ACTIVATION_NAMES
from twinmlp.tolerances import AUTOGRAD

AUTOGRAD_ACTIVATIONS = {
    "leaky_relu": lambda z, alpha: TF.leaky_relu(z, alpha),
    "relu": lambda z, alpha: torch.relu(z),
    "tanh": lambda z, alpha: torch.tanh(z),
    "sigmoid": lambda z, alpha: torch.sigmoid(z),
    "gelu": lambda z, alpha: TF.gelu(z, approximate="tanh"),
    "silu": lambda z, alpha: TF.silu(z),
}


def autograd_loss_and_grads(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
                            activation: str, alpha: float) -> tuple[float, dict]:
    """The MLP of MATH.md §1–§3 in plain torch, differentiated by autograd."""
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in params.items()}
    n_layers = len(params) // 2
    A = torch.tensor(X, dtype=torch.float64)
    for layer in range(1, n_layers + 1):
        Z = A @ leaves[f"W{layer}"] + leaves[f"b{layer}"]
        A = AUTOGRAD_ACTIVATIONS[activation](Z, alpha) if layer < n_layers else Z
    loss = TF.cross_entropy(A, torch.tensor(y))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in leaves.items()}


@settings(max_examples=40, deadline=None)
@given(widths=st.lists(st.integers(1, 24), min_size=1, max_size=5),
       classes=st.integers(2, 12), batch=st.integers(1, 70),
       activation=st.sampled_from(ACTIVATION_NAMES), seed=st.integers(0, 2**16))
def test_both_backwards_match_autograd(widths: list[int], classes: int, batch: int,
                                       activation: str, seed: int) -> None:
    sizes = [*widths, classes]
    X, y = random_problem(sizes, batch, seed)
    reference = numpy_impl.MLP(sizes, activation=activation, alpha=0.2, seed=seed,
                               dtype="float64")
    loss, oracle = autograd_loss_and_grads(reference.state_dict(), X, y, activation, 0.2)
    for twin in (reference, torch_impl.MLP(sizes, activation=activation, alpha=0.2, seed=seed,
                                           dtype="float64")):
        twin_loss, grads = twin.loss_and_grads(X, y)
        assert float(twin_loss) == pytest.approx(loss, rel=AUTOGRAD)
        for name in oracle:
            assert_close(f"{type(twin).__module__} grad {name}", grads[name], oracle[name],
                         AUTOGRAD)
