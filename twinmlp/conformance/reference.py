"""The reference side of a check: the numpy twin's plain functions (MATH.md §1–§7).

:class:`Problem` fixes everything both sides see: the network, the He-initialised
parameters (MATH.md §8, float64), the *probe* parameters used from the forward pass on
(the same weights, every other bias set non-zero so that bias mistakes show, the rest
exactly 0 so that a zero input row puts ``Z = 0`` exactly where φ'(0) matters), the
batches, and a copy of the probe with the output layer scaled until the logits reach
:data:`LARGE_LOGIT` (where an unshifted softmax overflows and a clipped log differs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinmlp.conformance.settings import CheckSettings, Conventions
from twinmlp.numpy_impl import plain
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.init import init_params

Params = dict[str, np.ndarray]

#: The largest logit of the large-logit probe: exp of it overflows float32 and float64.
LARGE_LOGIT = 1000.0
#: Rows of the one-step batch (the notebook's batch size), and of the central-difference batch.
BATCH = 64
GRADCHECK_BATCH = 16
#: Lock-step steps of the short trajectory.
TRAJECTORY_LENGTH = 10


@dataclass(frozen=True)
class Problem:
    """The inputs of every comparison, in float64."""

    config: ModelConfig
    data: Dataset
    init: Params
    probe: Params
    large: Params
    X: np.ndarray
    y: np.ndarray
    batches: tuple[tuple[np.ndarray, np.ndarray], ...]
    X_grad: np.ndarray
    y_grad: np.ndarray

    @property
    def n_train(self) -> int:
        """N of MATH.md §6."""
        return int(self.data.X_train.shape[0])

    @property
    def n_layers(self) -> int:
        """L, the number of weight matrices."""
        return len(self.config.layer_sizes) - 1


def make_problem(settings: CheckSettings, data: Dataset) -> Problem:
    """The problem of ``settings`` on ``data``."""
    config = settings.model_config(data.n_features, data.n_classes)
    sizes = config.layer_sizes
    if (sizes[0], sizes[-1]) != (data.n_features, data.n_classes):
        raise TwinMLPError(f"--layers {','.join(map(str, sizes))} does not fit {data.name}: "
                           f"it has {data.n_features} features and {data.n_classes} classes")
    init = init_params(config)
    rng = np.random.default_rng([settings.seed, 0xC4EC])
    probe = {}
    for name, value in init.items():
        if name.startswith("b"):
            value = np.where(np.arange(value.size) % 2 == 1,
                             0.1 * rng.standard_normal(value.size), 0.0)
        probe[name] = value.copy()
    X_train, y_train = data.X_train, data.y_train
    X = X_train[:BATCH].copy()
    X[-1] = 0.0  # Z_1 = b_1 exactly on this row: the derivative at 0 counts
    y = y_train[:BATCH].copy()
    order = epoch_permutation(settings.seed, 0, len(X_train))
    batches = tuple((X_train[order[a:b]], y_train[order[a:b]])
                    for a, b in batch_bounds(len(X_train), BATCH)[:TRAJECTORY_LENGTH])
    rows = slice(BATCH, BATCH + GRADCHECK_BATCH)
    return Problem(config, data, init, probe, scaled_output(probe, X, config), X, y,
                   batches, X_train[rows].copy(), y_train[rows].copy())


def scaled_output(params: Params, X: np.ndarray, config: ModelConfig) -> Params:
    """``params`` with the output layer scaled so that the largest logit on ``X`` is
    :data:`LARGE_LOGIT`."""
    _, Z = plain.forward(params, X, config.activation, config.alpha)
    scale = LARGE_LOGIT / float(np.abs(Z[-1]).max())
    L = len(params) // 2
    return {**params, f"W{L}": params[f"W{L}"] * scale, f"b{L}": params[f"b{L}"] * scale}


def cast(params: Params, dtype: str) -> Params:
    """``params`` in ``dtype``."""
    return {name: value.astype(dtype) for name, value in params.items()}


def forward(problem: Problem, params: Params, X: np.ndarray
            ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """``A = [X, A_1, …, P]`` and ``Z = [None, Z_1, …, Z_L]`` (MATH.md §1), in X's dtype."""
    return plain.forward(params, X, problem.config.activation, problem.config.alpha)


def loss(problem: Problem, params: Params, X: np.ndarray, y: np.ndarray,
         conventions: Conventions) -> float:
    """Mean cross-entropy (MATH.md §3) through log-softmax, or through the clipped log a
    declared convention names."""
    A, Z = forward(problem, params, X)
    if conventions.log_eps is None:
        return float(plain.cross_entropy(Z[-1], y))
    P = A[-1]
    eps = conventions.log_eps or float(np.finfo(P.dtype).eps)
    picked = P[np.arange(len(y)), y]
    return float(-np.log(clipped_log_argument(picked, eps, conventions.log_clip)).mean())


def clipped_log_argument(P: np.ndarray, eps: float, form: str) -> np.ndarray:
    """What a clipped log takes the log of (settings.LOG_FORMS)."""
    if form == "clip":
        return np.clip(P, eps, 1 - eps)
    return P + eps if form == "add" else np.maximum(P, eps)


def gradients(problem: Problem, params: Params, X: np.ndarray, y: np.ndarray) -> Params:
    """Gradients of the mean cross-entropy without L2 (MATH.md §3, §5)."""
    A, Z = forward(problem, params, X)
    return plain.backward(params, A, Z, y, problem.config.activation, problem.config.alpha)


def l2_divisor(problem: Problem, conventions: Conventions, batch_rows: int) -> int:
    """What λ is divided by: N (MATH.md §6), or the batch size under that convention."""
    return batch_rows if conventions.l2_by == "batch" else problem.n_train


def step(problem: Problem, params: Params, X: np.ndarray, y: np.ndarray, lr: float,
         weight_decay: float, conventions: Conventions) -> Params:
    """The parameters after one SGD step with L2 (MATH.md §6, §7)."""
    grads = gradients(problem, params, X, y)
    return plain.sgd_step(params, grads, lr, weight_decay,
                          l2_divisor(problem, conventions, len(X)))


def recovered(before: Params, after: Params) -> Params:
    """``before − after``: the gradient a step at learning rate 1 applied."""
    return {name: before[name] - after[name] for name in before}


def train(problem: Problem, params: Params, batches: list[tuple[np.ndarray, np.ndarray]],
          lr: float, weight_decay: float, conventions: Conventions) -> Params:
    """The parameters after one SGD step per batch."""
    for X, y in batches:
        params = step(problem, params, X, y, lr, weight_decay, conventions)
    return params


def run_batches(problem: Problem, epochs: int, seed: int, dtype: str
                ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The batches of ``epochs`` epochs in the shared order (MATH.md §9), in ``dtype``."""
    X, y = problem.data.X_train.astype(dtype), problem.data.y_train
    batches = []
    for epoch in range(epochs):
        order = epoch_permutation(seed, epoch, len(X))
        batches += [(X[order[a:b]], y[order[a:b]]) for a, b in batch_bounds(len(X), BATCH)]
    return batches


def predict(problem: Problem, params: Params, X: np.ndarray) -> np.ndarray:
    """Predicted classes."""
    return forward(problem, params, X)[0][-1].argmax(axis=1)
