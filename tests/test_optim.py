"""Optimizers (MATH.md §7, §11) against ``torch.optim``, step for step, and the two
deliberate differences in closed form; state round-trips across backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import assert_close
from twinmlp import numpy_impl, torch_impl
from twinmlp.shared.config import OPTIMIZER_NAMES, TrainConfig
from twinmlp.tolerances import AUTOGRAD

SHAPES = {"W1": (6, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
OPTIMIZERS = list(OPTIMIZER_NAMES)  # the config's list: a new name needs its reference
MOMENTUM, BETAS, EPS, LR, DECAY = 0.9, (0.85, 0.995), 1e-7, 0.01, 0.05


def reference_optimizer(name: str, weights: list, biases: list) -> torch.optim.Optimizer:
    """``torch.optim``'s twin: weights decayed, biases not (two parameter groups)."""
    groups = [{"params": weights, "weight_decay": DECAY}, {"params": biases, "weight_decay": 0}]
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else MOMENTUM
        return torch.optim.SGD(groups, lr=LR, momentum=momentum, nesterov=name == "nesterov")
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(groups, lr=LR, betas=BETAS, eps=EPS)
    raise KeyError(f"optimizer {name!r} has no torch.optim reference here yet")


def gradient_stream(steps: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(shape) for k, shape in SHAPES.items()}
            for _ in range(steps)]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_100_steps_equal_torch_optim(name: str, backend: str) -> None:
    rng = np.random.default_rng(1)
    start = {k: rng.standard_normal(shape) for k, shape in SHAPES.items()}
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    reference = reference_optimizer(name, [leaves["W1"], leaves["W2"]],
                                    [leaves["b1"], leaves["b2"]])
    module = numpy_impl if backend == "numpy" else torch_impl
    mine = module.optim.make_optimizer(name, LR, DECAY, MOMENTUM, BETAS, EPS)
    params = {k: (v.copy() if backend == "numpy" else torch.tensor(v)) for k, v in start.items()}
    for grads in gradient_stream(100):
        for k, leaf in leaves.items():
            leaf.grad = torch.tensor(grads[k])
        reference.step()
        mine.step(params, grads if backend == "numpy"
                  else {k: torch.tensor(v) for k, v in grads.items()})
    for k in SHAPES:
        assert_close(f"{name} {k} after 100 steps", params[k], leaves[k].detach(), AUTOGRAD)


#: W after one step from W = 2 with a zero gradient, η = 0.1, δ = 0.5: only the decay acts.
#: SGD, momentum (v = g = δW = 1) and AdamW shrink W to W (1 − η δ) = 1.9; Nesterov steps
#: η (g + μ v) = 0.1 · 1.9; Adam's coupled decay is normalised away (m / sqrt(v) = 1).
DECAY_ONLY_STEP = {"sgd": 1.9, "momentum": 1.9, "adamw": 1.9, "nesterov": 2.0 - 0.19,
                   "adam": 2.0 - 0.1}


@pytest.mark.parametrize("module", [numpy_impl, torch_impl])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_decay_in_closed_form_and_biases_never_decayed(module, name: str) -> None:
    def as_array(values: list) -> object:
        return np.array(values) if module is numpy_impl else torch.tensor(values,
                                                                          dtype=torch.float64)

    params = {"W1": as_array([[2.0]]), "b1": as_array([3.0])}
    optimizer = module.optim.make_optimizer(name, 0.1, 0.5, momentum=0.9)
    optimizer.step(params, {"W1": as_array([[0.0]]), "b1": as_array([0.0])})
    assert float(params["b1"][0]) == 3.0
    assert float(params["W1"][0, 0]) == pytest.approx(DECAY_ONLY_STEP[name], rel=1e-7)


@pytest.mark.parametrize("model_cls", [numpy_impl.MLP, torch_impl.MLP])
def test_decay_coefficient_is_lambda_over_n(model_cls) -> None:
    """``--weight-decay λ`` means δ = λ/N for every optimizer (MATH.md §6, §11)."""
    model = model_cls([3, 2], dtype="float64")
    for name in OPTIMIZERS:
        config = TrainConfig(optimizer=name, lr=0.2, weight_decay=0.3)
        optimizer = model.make_optimizer(config, n_train=150)
        assert optimizer.weight_decay == pytest.approx(0.3 / 150, rel=1e-15)
        assert optimizer.lr == 0.2


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trips_across_backends(name: str) -> None:
    """Stop a numpy run after 30 steps, carry params and optimizer state to torch, go on:
    the result equals 60 uninterrupted numpy steps."""
    rng = np.random.default_rng(2)
    start = {k: rng.standard_normal(shape) for k, shape in SHAPES.items()}
    stream = gradient_stream(60, seed=3)
    whole = {k: v.copy() for k, v in start.items()}
    optimizer = numpy_impl.optim.make_optimizer(name, LR, DECAY, MOMENTUM, BETAS, EPS)
    for grads in stream:
        optimizer.step(whole, grads)

    first = {k: v.copy() for k, v in start.items()}
    numpy_opt = numpy_impl.optim.make_optimizer(name, LR, DECAY, MOMENTUM, BETAS, EPS)
    for grads in stream[:30]:
        numpy_opt.step(first, grads)
    second = {k: torch.tensor(v) for k, v in first.items()}
    torch_opt = torch_impl.optim.make_optimizer(name, LR, DECAY, MOMENTUM, BETAS, EPS)
    torch_opt.load_state_dict(numpy_opt.state_dict())
    for grads in stream[30:]:
        torch_opt.step(second, {k: torch.tensor(v) for k, v in grads.items()})
    for k in SHAPES:
        assert_close(f"{name} {k}", second[k], whole[k], 1e-13)
    assert set(torch_opt.state_dict()) == set(numpy_opt.state_dict())


@pytest.mark.parametrize("module", [numpy_impl.optim, torch_impl.optim],
                         ids=["numpy", "torch"])
def test_the_coupled_gradient_keeps_its_own_work_array(module) -> None:
    """``g + δ W`` is formed in ``"W.coupled"`` and nothing else writes there: after an SGD
    step it still holds exactly ``g + δ W_before`` (the step ``η·g`` has its own array)."""
    rng = np.random.default_rng(4)
    as_array = np.asarray if module is numpy_impl.optim else torch.tensor
    before = {k: rng.standard_normal(shape) for k, shape in SHAPES.items()}
    params = {k: as_array(v.copy()) for k, v in before.items()}
    grads = {k: as_array(rng.standard_normal(shape)) for k, shape in SHAPES.items()}
    optimizer = module.make_optimizer("sgd", LR, DECAY)
    optimizer.step(params, grads)
    for name in ("W1", "W2"):
        expected = DECAY * before[name] + np.asarray(grads[name])
        np.testing.assert_array_equal(np.asarray(optimizer._scratch[f"{name}.coupled"]),
                                      expected)
        np.testing.assert_allclose(np.asarray(params[name]), before[name] - LR * expected,
                                   rtol=1e-14)
    assert not any(key in optimizer._scratch for key in SHAPES)  # no bare, shared key
