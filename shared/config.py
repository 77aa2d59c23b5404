"""Validated configuration for the model and for training.

Every bad value is rejected when the config is built, with one message that names the
field, the value given and what is allowed::

    ModelConfig.activation = 'relu6' is not allowed: expected one of leaky_relu, relu,
    tanh, sigmoid, gelu, silu
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinmlp.shared.errors import TwinMLPError

ACTIVATION_NAMES = ("leaky_relu", "relu", "tanh", "sigmoid", "gelu", "silu")
INIT_NAMES = ("he_normal", "glorot_uniform")
DTYPE_NAMES = ("float32", "float64")
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adam", "adamw")
SCHEDULE_NAMES = ("constant", "step", "cosine")
DROPOUT_RNG_NAMES = ("shared", "device")


def invalid(owner: str, name: str, value: Any, expected: str) -> TwinMLPError:
    """Build the one-line error used for every rejected setting."""
    return TwinMLPError(f"{owner}.{name} = {value!r} is not allowed: expected {expected}")


def _is_int(value: Any) -> bool:
    """An integer of any kind (``int``, ``np.int64``, …), never a boolean."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    """A finite real number of any kind (``float``, ``np.float32``, …), never a boolean."""
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and math.isfinite(value))


def plain_number(value: Any) -> Any:
    """A NumPy integer or float scalar as the Python ``int``/``float`` it equals (so the
    config stays JSON-ready and its messages show ``8``, not ``np.int64(8)``); anything
    else unchanged, to be judged by the checks."""
    if isinstance(value, np.generic) and _is_int(value):
        return int(value)
    if isinstance(value, np.generic) and isinstance(value, numbers.Real) \
            and not isinstance(value, np.bool_):
        return float(value)
    return value


def _plain_fields(config: Any) -> None:
    """Replace every NumPy scalar field of a frozen dataclass by its Python number."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = tuple(value.tolist())
        if isinstance(value, (list, tuple)):
            value = type(value)(plain_number(v) for v in value)
        object.__setattr__(config, field.name, plain_number(value))


def _require(ok: bool, owner: str, name: str, value: Any, expected: str) -> None:
    if not ok:
        raise invalid(owner, name, value, expected)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and initialisation of one MLP (MATH.md §1, §4, §8).

    Numbers may be Python's or NumPy's (``np.int64``, ``np.float32``; ``layer_sizes`` a
    list, tuple or 1-D array): they are stored as Python numbers. Booleans are refused.
    """

    layer_sizes: tuple[int, ...]
    activation: str = "leaky_relu"
    alpha: float = 0.01
    init: str = "he_normal"
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "ModelConfig"
        _plain_fields(self)
        sizes = self.layer_sizes
        ok = isinstance(sizes, (list, tuple)) and len(sizes) >= 2
        ok = ok and all(_is_int(s) and s > 0 for s in sizes)
        _require(ok, owner, "layer_sizes", sizes,
                 "at least two positive integers: inputs, hidden widths…, classes")
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in sizes))
        _require(self.layer_sizes[-1] >= 2, owner, "layer_sizes", sizes,
                 "at least 2 output classes")
        _require(self.activation in ACTIVATION_NAMES, owner, "activation", self.activation,
                 "one of " + ", ".join(ACTIVATION_NAMES))
        _require(_is_number(self.alpha) and 0 <= self.alpha < 1, owner, "alpha", self.alpha,
                 "a number in [0, 1)")
        _require(self.init in INIT_NAMES, owner, "init", self.init,
                 "one of " + ", ".join(INIT_NAMES))
        _require(self.dtype in DTYPE_NAMES, owner, "dtype", self.dtype,
                 "one of " + ", ".join(DTYPE_NAMES))
        _require(_is_int(self.seed) and self.seed >= 0, owner, "seed", self.seed,
                 "a non-negative integer")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        d = dataclasses.asdict(self)
        d["layer_sizes"] = list(self.layer_sizes)
        return d


@dataclass(frozen=True)
class TrainConfig:
    """Options of the shared training loop (MATH.md §6, §7, §9–§13).

    ``seed`` drives the batch order and the dropout masks; ``None`` means "the model's
    seed". ``patience=None`` switches early stopping off. ``momentum`` is used by the
    ``momentum`` and ``nesterov`` optimizers, ``beta1``/``beta2``/``eps`` by ``adam`` and
    ``adamw``; ``step_size``/``gamma`` by the ``step`` schedule and ``warmup_epochs``/
    ``min_lr`` by ``cosine``. ``dropout_rng="device"`` lets the torch twin draw dropout
    masks on its device (faster on a GPU, no parity with numpy_impl). NumPy integer and
    float scalars are accepted wherever a number is and stored as Python numbers.
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float = 0.01
    weight_decay: float = 0.0
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.1
    warmup_epochs: int = 0
    min_lr: float = 0.0
    dropout: float = 0.0
    dropout_rng: str = "shared"
    seed: int | None = None

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        _plain_fields(self)
        _require(_is_int(self.epochs) and self.epochs >= 1, owner, "epochs", self.epochs,
                 "an integer >= 1")
        _require(_is_int(self.batch_size) and self.batch_size >= 1, owner, "batch_size",
                 self.batch_size, "an integer >= 1")
        _require(_is_number(self.lr) and self.lr > 0, owner, "lr", self.lr,
                 "a finite number > 0")
        _require(_is_number(self.weight_decay) and self.weight_decay >= 0, owner,
                 "weight_decay", self.weight_decay, "a finite number >= 0")
        _require(self.patience is None or (_is_int(self.patience) and self.patience >= 1),
                 owner, "patience", self.patience, "None (no early stopping) or an integer >= 1")
        _require(_is_number(self.min_delta) and self.min_delta >= 0, owner, "min_delta",
                 self.min_delta, "a finite number >= 0")
        _require(isinstance(self.restore_best, bool), owner, "restore_best",
                 self.restore_best, "True or False")
        _require(self.optimizer in OPTIMIZER_NAMES, owner, "optimizer", self.optimizer,
                 "one of " + ", ".join(OPTIMIZER_NAMES))
        for name in ("momentum", "beta1", "beta2"):
            value = getattr(self, name)
            _require(_is_number(value) and 0 <= value < 1, owner, name, value,
                     "a number in [0, 1)")
        _require(_is_number(self.eps) and self.eps > 0, owner, "eps", self.eps,
                 "a finite number > 0")
        _require(self.schedule in SCHEDULE_NAMES, owner, "schedule", self.schedule,
                 "one of " + ", ".join(SCHEDULE_NAMES))
        _require(_is_int(self.step_size) and self.step_size >= 1, owner, "step_size",
                 self.step_size, "an integer >= 1")
        _require(_is_number(self.gamma) and 0 < self.gamma <= 1, owner, "gamma", self.gamma,
                 "a number in (0, 1]")
        _require(_is_int(self.warmup_epochs) and 0 <= self.warmup_epochs < self.epochs, owner,
                 "warmup_epochs", self.warmup_epochs, "an integer in [0, epochs)")
        _require(_is_number(self.min_lr) and 0 <= self.min_lr <= self.lr, owner, "min_lr",
                 self.min_lr, "a number in [0, lr]")
        _require(_is_number(self.dropout) and 0 <= self.dropout < 1, owner, "dropout",
                 self.dropout, "a number in [0, 1)")
        _require(self.dropout_rng in DROPOUT_RNG_NAMES, owner, "dropout_rng", self.dropout_rng,
                 "one of " + ", ".join(DROPOUT_RNG_NAMES))
        _require(self.seed is None or (_is_int(self.seed) and self.seed >= 0), owner, "seed",
                 self.seed, "None or a non-negative integer")

    @classmethod
    def from_options(cls, **options: Any) -> TrainConfig:
        """Build from keyword options, naming any unknown option in the error."""
        known = [f.name for f in dataclasses.fields(cls)]
        for name in options:
            if name not in known:
                raise TwinMLPError(f"unknown training option {name!r}: expected one of "
                                + ", ".join(known))
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)
