"""A network small enough to work out by hand: forward, loss, gradients, one SGD step,
checked against both twins.

Network 2-2-2, leaky-ReLU with α = 0.1, two samples, float64::

    X = [[1,  2],      y = [0, 1]
         [0, -1]]
    W1 = [[1, -1],     b1 = [0, 0.5]
          [1,  0]]
    W2 = [[0.5, -0.5], b2 = [0, 0]
          [2,    0  ]]

Forward (MATH.md §1):
    Z1 = X W1 + b1 = [[3, -1] + [0, .5], [-1, 0] + [0, .5]] = [[3, -0.5], [-1, 0.5]]
    A1 = leaky(Z1)                                       = [[3, -0.05], [-0.1, 0.5]]
    Z2 = A1 W2      = [[1.5 - 0.1, -1.5], [-0.05 + 1, 0.05]] = [[1.4, -1.5], [0.95, 0.05]]
With two classes the softmax is a sigmoid of the logit gap: row 1 gap 2.9, row 2 gap 0.9,
    P = [[s1, 1 − s1], [s2, 1 − s2]],   s1 = σ(2.9), s2 = σ(0.9)
Loss (MATH.md §3): ℓ = −(log s1 + log(1 − s2)) / 2.
Backward (MATH.md §5), with u = (1 − s1)/2 and v = s2/2:
    G2 = (P − Y)/2 = [[−u, u], [v, −v]]
    dW2 = A1ᵀ G2 = [[−3u − 0.1v, 3u + 0.1v], [0.05u + 0.5v, −0.05u − 0.5v]]
    db2 = [v − u, u − v]
    G2 W2ᵀ = [[−u, −2u], [v, 2v]];  φ'(Z1) = [[1, 0.1], [0.1, 1]]
    G1 = [[−u, −0.2u], [0.1v, 2v]]
    dW1 = Xᵀ G1 = [[−u, −0.2u], [−2u − 0.1v, −0.4u − 2v]]
    db1 = [0.1v − u, 2v − 0.2u]
One SGD step (MATH.md §7) with η = 0.5 and λ/N = 0.1 (λ = 0.2, N = 2):
    W ← W − 0.5 (dW + 0.1 W),  b ← b − 0.5 db
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinmlp import numpy_impl, torch_impl

TWINS = {"numpy": numpy_impl, "torch": torch_impl}

X = np.array([[1.0, 2.0], [0.0, -1.0]])
Y = np.array([0, 1])
PARAMS = {
    "W1": np.array([[1.0, -1.0], [1.0, 0.0]]), "b1": np.array([0.0, 0.5]),
    "W2": np.array([[0.5, -0.5], [2.0, 0.0]]), "b2": np.array([0.0, 0.0]),
}
S1 = 1 / (1 + math.exp(-2.9))
S2 = 1 / (1 + math.exp(-0.9))
U, V = (1 - S1) / 2, S2 / 2
EXPECTED_GRADS = {
    "W1": [[-U, -0.2 * U], [-2 * U - 0.1 * V, -0.4 * U - 2 * V]],
    "b1": [0.1 * V - U, 2 * V - 0.2 * U],
    "W2": [[-3 * U - 0.1 * V, 3 * U + 0.1 * V], [0.05 * U + 0.5 * V, -0.05 * U - 0.5 * V]],
    "b2": [V - U, U - V],
}


def host(value: object) -> np.ndarray:
    """A twin's array as a NumPy array."""
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


@pytest.fixture(params=list(TWINS))
def model(request: pytest.FixtureRequest) -> numpy_impl.MLP | torch_impl.MLP:
    net = TWINS[request.param].MLP([2, 2, 2], activation="leaky_relu", alpha=0.1,
                                   dtype="float64")
    net.load_state_dict(PARAMS)
    return net


def test_forward(model: numpy_impl.MLP | torch_impl.MLP) -> None:
    probs, cache = model.forward(X)
    np.testing.assert_allclose(host(cache.Z[1]), [[3, -0.5], [-1, 0.5]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(host(cache.A[1]), [[3, -0.05], [-0.1, 0.5]], rtol=0,
                               atol=1e-15)
    np.testing.assert_allclose(host(cache.Z[2]), [[1.4, -1.5], [0.95, 0.05]], rtol=0,
                               atol=1e-15)
    np.testing.assert_allclose(host(probs), [[S1, 1 - S1], [S2, 1 - S2]], rtol=1e-14)


def test_loss_and_gradients(model: numpy_impl.MLP | torch_impl.MLP) -> None:
    loss, grads = model.loss_and_grads(X, Y)
    assert float(loss) == pytest.approx(-(math.log(S1) + math.log(1 - S2)) / 2, rel=1e-14)
    for name, expected in EXPECTED_GRADS.items():
        np.testing.assert_allclose(host(grads[name]), expected, rtol=1e-13, atol=1e-16,
                                   err_msg=name)


def test_one_sgd_step_with_l2(model: numpy_impl.MLP | torch_impl.MLP) -> None:
    _, grads = model.loss_and_grads(X, Y)
    model.optim.SGD(lr=0.5, weight_decay=0.2 / 2).step(model.params, grads)
    for name, value in PARAMS.items():
        decay = 0.1 * value if name.startswith("W") else 0.0
        expected = value - 0.5 * (np.array(EXPECTED_GRADS[name]) + decay)
        np.testing.assert_allclose(host(model.params[name]), expected, rtol=1e-14,
                                   atol=1e-16, err_msg=name)
