"""What the engine asks of a target, whatever its protocol (docs/check.md, "What it accepts").

An :class:`Adapter` speaks NumPy float arrays in MATH.md's names and layout (``W_l``:
``(fan_in, fan_out)``, ``b_l``: ``(fan_out,)``) and translates to the target. The course
style (:mod:`~twinmlp.conformance.course`), the explicit protocol
(:mod:`~twinmlp.conformance.protocol`) and the built-in libraries
(:mod:`~twinmlp.conformance.builtin`) implement it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np

from twinmlp.conformance.errors import CannotCheckError
from twinmlp.conformance.settings import Conventions
from twinmlp.shared.init import param_names

#: Attribute names looked for, in this order (the first one the object has wins).
LEARNING_RATE_NAMES = ("learning_rate", "lr", "eta", "step_size")
WEIGHT_DECAY_NAMES = ("weight_decay", "l2", "l2_lambda", "reg_lambda", "lambda_", "lambd",
                      "lam", "lmbda", "reg", "l2_reg", "decay")
TRAIN_SIZE_NAMES = ("n_train", "N", "N_train", "n_samples", "num_train", "num_samples",
                    "train_size", "n_training", "dataset_size")


class Adapter:
    """A target seen through MATH.md: override what the protocol offers.

    ``notes`` says what was found and set (printed in the report); ``conventions`` is
    what the target declares about itself (built-ins), ``None`` for the user's choice.
    """

    description = "target"
    conventions: Conventions | None = None
    default_activation: str | None = None

    def __init__(self) -> None:
        self.notes: list[str] = []

    def native_dtype(self) -> str:
        """The dtype the target computes in when left alone."""
        return "float64"

    def load(self, params: dict[str, np.ndarray], dtype: str) -> None:
        """Put ``params`` (float64) into the target, cast to ``dtype``."""
        raise NotImplementedError

    def read(self) -> dict[str, np.ndarray]:
        """The target's parameters as float64 arrays."""
        raise NotImplementedError

    def forward(self, X: np.ndarray) -> np.ndarray:
        """``P`` for the rows of ``X`` (float64 copy)."""
        raise NotImplementedError

    def hidden(self) -> dict[str, np.ndarray]:
        """``Z_l``/``A_l`` of the last forward pass, where the target exposes them."""
        return {}

    def loss(self, X: np.ndarray, y: np.ndarray) -> float | None:
        """The target's mean cross-entropy without L2, or ``None`` where it has none."""
        return None

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray] | None:
        """Gradients without L2 where the target gives them directly, else ``None`` (the
        engine then recovers them from :meth:`update` at learning rate 1)."""
        return None

    def update(self, X: np.ndarray, y: np.ndarray, lr: float, weight_decay: float,
               n_train: int) -> None:
        """One SGD step with L2 on the batch, in place."""
        raise NotImplementedError

    def note(self, line: str) -> None:
        """Record ``line`` once."""
        if line not in self.notes:
            self.notes.append(line)


def expected_shapes(layer_sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """MATH.md's shapes: ``W_l`` ``(d_{l-1}, d_l)``, ``b_l`` ``(d_l,)``."""
    shapes = {}
    for name in param_names(len(layer_sizes) - 1):
        layer = int(name[1:])
        shapes[name] = ((layer_sizes[layer - 1], layer_sizes[layer]) if name[0] == "W"
                        else (layer_sizes[layer],))
    return shapes


def check_shapes(found: dict[str, tuple[int, ...]], layer_sizes: tuple[int, ...],
                 layout: str) -> None:
    """Raise :class:`CannotCheckError` naming the first parameter whose shape does not fit
    ``layer_sizes`` (biases may be ``(d,)`` or ``(1, d)``; weights ``(fan_in, fan_out)``,
    or ``(fan_out, fan_in)`` with ``layout="out-in"``)."""
    expected = expected_shapes(layer_sizes)
    for name, shape in expected.items():
        if name[0] == "W" and layout == "out-in":
            shape = shape[::-1]
        got = found[name]
        if name[0] == "b" and got in (shape, (1, *shape)):
            continue
        if got == shape:
            continue
        if name[0] == "W" and got == shape[::-1] and shape[0] != shape[1]:
            raise CannotCheckError(
                f"transposed weights: {name} has shape {got}, the transpose of {shape} "
                f"(fan_in, fan_out) that --layers {','.join(map(str, layer_sizes))} needs; "
                "if your layout is (fan_out, fan_in) on purpose, pass --layout out-in")
        what = "(fan_in, fan_out)" if name[0] == "W" else "(d,) or (1, d)"
        raise CannotCheckError(f"{name} has shape {got}, expected {shape} {what} for --layers "
                          f"{','.join(map(str, layer_sizes))}")


def find_attribute(obj: Any, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` that ``obj`` has as a number attribute, or that its class's
    source reads as ``self.<name>``."""
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return name
    source = class_source(obj)
    for name in names:
        if re.search(rf"self\.{re.escape(name)}\b", source):
            return name
    return None


def class_source(obj: Any) -> str:
    """The source of ``obj``'s class, or '' where Python cannot find it."""
    try:
        return inspect.getsource(type(obj))
    except (OSError, TypeError):
        return ""


def required_positional(function: Any) -> int:
    """How many positional parameters ``function`` requires (-1 where unknown)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return -1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds and p.default is p.empty)


def first_parameter(function: Any) -> str:
    """The name of ``function``'s first parameter ('' where unknown)."""
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ""
    return names[0] if names else ""
