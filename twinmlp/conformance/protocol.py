"""The explicit protocol: ``get_params()``/``set_params(params)`` in MATH.md's names and
layout (``--layout out-in`` for ``(fan_out, fan_in)`` weights such as torch.nn.Linear's),
``forward(X)`` returning ``P``, and ``gradients(X, y)`` (no L2) and/or ``step(X, y)`` (one
SGD step with L2 from the object's learning-rate and weight-decay attributes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from twinmlp.conformance import arrays
from twinmlp.conformance.adapters import (
    LEARNING_RATE_NAMES,
    TRAIN_SIZE_NAMES,
    WEIGHT_DECAY_NAMES,
    find_attribute,
)
from twinmlp.conformance.course import CourseAdapter
from twinmlp.conformance.errors import CannotCheckError, user_call
from twinmlp.numpy_impl import plain


class ProtocolAdapter(CourseAdapter):
    """An object of the explicit protocol (see the module docstring)."""

    def _raw(self) -> dict[str, Any]:
        params = user_call("get_params()", self.model.get_params)
        if not isinstance(params, dict):
            raise CannotCheckError(f"get_params() returned {type(params).__name__}, expected "
                                   f"a dict with keys {', '.join(self.names)}")
        missing = [n for n in self.names if n not in params]
        if missing:
            raise CannotCheckError(f"get_params() has no {missing[0]}: expected the keys "
                                   f"{', '.join(self.names)}")
        return {name: params[name] for name in self.names}

    def load(self, params: dict[str, np.ndarray], dtype: str) -> None:
        self._pending: dict[str, Any] = {}
        super().load(params, dtype)
        user_call("set_params(params)", self.model.set_params, self._pending)

    def _store(self, name: str, value: Any) -> None:
        self._pending[name] = value

    def _find_methods(self) -> None:
        if not callable(getattr(self.model, "forward", None)):
            raise CannotCheckError("the model has no method forward(X)")
        self.has_gradients = callable(getattr(self.model, "gradients", None))
        self.has_step = callable(getattr(self.model, "step", None))
        if not (self.has_gradients or self.has_step):
            raise CannotCheckError("the model has neither gradients(X, y) nor step(X, y)")
        self.rate_argument = False
        self.lr_name = find_attribute(self.model, LEARNING_RATE_NAMES)
        self.decay_name = find_attribute(self.model, WEIGHT_DECAY_NAMES)
        self.size_name = find_attribute(self.model, TRAIN_SIZE_NAMES)
        if self.has_step and not self.lr_name:
            raise CannotCheckError("step(X, y) but no learning-rate attribute (looked for "
                                   f"{', '.join(LEARNING_RATE_NAMES)})")
        self.note("protocol: get_params/set_params, forward"
                  + (", gradients" if self.has_gradients else "")
                  + (", step" if self.has_step else "") + f"; layout {self.layout}")
        if not self.has_step:
            self.note("step: none; the update is the reference's SGD on your gradients")

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray] | None:
        if not self.has_gradients:
            return None
        form = self.labels or "integers"
        grads = user_call("gradients(X, y)", self.model.gradients, self._inputs(X),
                          self._labels(y, form))
        if not isinstance(grads, dict) or any(n not in grads for n in self.names):
            raise CannotCheckError(f"gradients(X, y) must return a dict with keys "
                                   f"{', '.join(self.names)}")
        out = {}
        for name in self.names:
            value = arrays.read(grads[name])
            out[name] = (value.T if name[0] == "W" and self.layout == "out-in" else value)
            out[name] = out[name].reshape(-1) if name[0] == "b" else out[name]
        return out

    def update(self, X: np.ndarray, y: np.ndarray, lr: float, weight_decay: float,
               n_train: int) -> None:
        if self.has_step:
            super().update(X, y, lr, weight_decay, n_train)
            return
        grads = self.gradients(X, y)
        assert grads is not None
        self.load(plain.sgd_step(self.read(), grads, lr, weight_decay, n_train), self.dtype)

    def _backward(self, X: np.ndarray, y: np.ndarray, lr: float, form: str) -> None:
        user_call("step(X, y)", self.model.step, self._inputs(X), self._labels(y, form))
