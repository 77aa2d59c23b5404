"""The course-notebook style: ``W1, b1, …`` attributes, ``forward(X)``, ``backward(X, y)``.

``backward`` applies one SGD step with L2 in place from the object's own learning-rate and
weight-decay attributes (found by name, :data:`~adapters.LEARNING_RATE_NAMES`, …), or takes
the rate as a third argument. Such classes cache their activations, so every update runs
``forward`` on the batch first. Labels are tried as integers, then as one-hot rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinmlp.conformance import arrays
from twinmlp.conformance.adapters import (
    LEARNING_RATE_NAMES,
    TRAIN_SIZE_NAMES,
    WEIGHT_DECAY_NAMES,
    Adapter,
    check_shapes,
    find_attribute,
    first_parameter,
    required_positional,
)
from twinmlp.conformance.errors import CannotCheckError, UserCodeError, user_call
from twinmlp.shared.init import param_names

LOSS_METHOD_NAMES = ("loss", "compute_loss", "cross_entropy", "cross_entropy_loss")
#: First-parameter names that say a loss method takes the inputs, or the labels, first.
INPUT_FIRST = ("X", "x", "inputs", "features")
LABELS_FIRST = ("y", "Y", "y_true", "labels", "targets", "target", "t")


class CourseAdapter(Adapter):
    """A course-style object (see the module docstring)."""

    def __init__(self, model: Any, description: str, layer_sizes: tuple[int, ...],
                 layout: str = "in-out") -> None:
        super().__init__()
        self.model = model
        self.description = description
        self.layer_sizes = layer_sizes
        self.layout = layout
        self.names = param_names(len(layer_sizes) - 1)
        self.labels: str | None = None  # "integers" or "one-hot", once one worked
        #: the dtype the target computes in when left alone (a built-in may set it)
        self.native = self.dtype = self._current_dtype()
        self._loaded: dict[str, np.ndarray] = {}
        #: what ``backward`` returns, where it returns something (said when nothing moved)
        self.returned = ""
        self._find_methods()

    # --- parameters ---

    def _raw(self) -> dict[str, Any]:
        """The target's own parameter objects by name."""
        missing = [n for n in self.names if not hasattr(self.model, n)]
        if missing:
            raise CannotCheckError(
                f"the model has no attribute {missing[0]}: a course-style model keeps "
                f"{', '.join(self.names)} as attributes; a model that keeps them elsewhere "
                "(a list of layers) can give get_params() and set_params() instead "
                "(docs/check.md, explicit protocol)")
        return {name: getattr(self.model, name) for name in self.names}

    def _store(self, name: str, value: Any) -> None:
        setattr(self.model, name, value)

    def native_dtype(self) -> str:
        return self.native

    def _current_dtype(self) -> str:
        first = self._raw()[self.names[0]]
        if not hasattr(first, "dtype") or not hasattr(first, "shape"):
            raise CannotCheckError(f"{self.names[0]} is a {type(first).__name__}, expected a NumPy "
                              "array or a torch tensor")
        return arrays.dtype_name(first)

    @property
    def kind(self) -> str:
        """``"numpy"`` or ``"torch"``: the kind of the target's arrays."""
        return arrays.kind_of(self._raw()[self.names[0]])

    def load(self, params: dict[str, np.ndarray], dtype: str) -> None:
        raw = self._raw()
        check_shapes({n: tuple(getattr(v, "shape", ())) for n, v in raw.items()},
                     self.layer_sizes, self.layout)
        for name, value in params.items():
            if name[0] == "W" and self.layout == "out-in":
                value = value.T
            self._store(name, arrays.assign(raw[name], value, dtype))
        self.dtype = dtype
        self._loaded = params

    def read(self) -> dict[str, np.ndarray]:
        values = {}
        for name, value in self._raw().items():
            array = arrays.read(value)
            if name[0] == "W" and self.layout == "out-in":
                array = array.T
            values[name] = array.reshape(-1) if name[0] == "b" else array
        return values

    # --- methods ---

    def _find_methods(self) -> None:
        for method in ("forward", "backward"):
            if not callable(getattr(self.model, method, None)):
                raise CannotCheckError(f"the model has no method {method}(): a course-style model "
                                  "has forward(X) and backward(X, y)")
        arguments = required_positional(self.model.backward)
        self.rate_argument = arguments >= 3
        self.lr_name = find_attribute(self.model, LEARNING_RATE_NAMES)
        self.decay_name = find_attribute(self.model, WEIGHT_DECAY_NAMES)
        self.size_name = find_attribute(self.model, TRAIN_SIZE_NAMES)
        if self.rate_argument:
            self.note("learning rate: passed as backward's third argument")
        elif self.lr_name:
            self.note(f"learning rate: attribute {self.lr_name}")
        else:
            raise CannotCheckError("found no learning-rate attribute (looked for "
                              f"{', '.join(LEARNING_RATE_NAMES)}) and backward takes no rate "
                              "argument: the check sets the rate to recover the gradient")
        self.note(f"weight decay: attribute {self.decay_name}" if self.decay_name else
                  "weight decay: no attribute found (looked for "
                  f"{', '.join(WEIGHT_DECAY_NAMES[:4])}, …)")

    def _inputs(self, X: np.ndarray) -> Any:
        return arrays.make(self.kind, X, self.dtype)

    def _labels(self, y: np.ndarray, form: str) -> Any:
        if form == "integers":
            return arrays.make(self.kind, y, "int64")
        return arrays.make(self.kind, np.eye(self.layer_sizes[-1])[y], self.dtype)

    def forward(self, X: np.ndarray) -> np.ndarray:
        out = user_call("forward(X)", self.model.forward, self._inputs(X))
        return self._probabilities(out, X.shape[0], "forward(X)")

    def _probabilities(self, out: Any, n: int, what: str) -> np.ndarray:
        expected = (n, self.layer_sizes[-1])
        if isinstance(out, (tuple, list)) and out and hasattr(out[0], "shape"):
            self.note(f"{what} returns a {type(out).__name__}: its first item is taken as P")
            out = out[0]
        if not hasattr(out, "shape"):
            raise CannotCheckError(f"{what} returned {type(out).__name__}, expected the "
                              f"probabilities P, an array of shape {expected}")
        if tuple(out.shape) != expected:
            raise CannotCheckError(f"{what} returned shape {tuple(out.shape)}, expected the "
                              f"probabilities P of shape {expected}")
        return arrays.read(out)

    def hidden(self) -> dict[str, np.ndarray]:
        found = {}
        L = len(self.names) // 2
        for layer in range(1, L + 1):
            for symbol, candidates in (("Z", ("Z", "z")), ("A", ("A", "a", "H", "h"))):
                if symbol == "A" and layer == L:
                    continue
                for prefix in candidates:
                    value = getattr(self.model, f"{prefix}{layer}", None)
                    if hasattr(value, "shape") and hasattr(value, "dtype"):
                        found[f"{symbol}{layer}"] = arrays.read(value)
                        break
        return found

    def loss(self, X: np.ndarray, y: np.ndarray) -> float | None:
        if self.decay_name:  # compared without L2: a loss that adds the term adds 0
            setattr(self.model, self.decay_name, 0.0)
        for name in LOSS_METHOD_NAMES:
            method = getattr(self.model, name, None)
            if callable(method):
                return self._call_loss(name, method, X, y)
        return None

    def _call_loss(self, name: str, method: Any, X: np.ndarray, y: np.ndarray
                   ) -> float | None:
        first = first_parameter(method)
        labels = self._labels(y, self.labels or "integers")
        if first in INPUT_FIRST:
            call, args = f"{name}(X, y)", (self._inputs(X), labels)
        else:
            P = user_call("forward(X)", self.model.forward, self._inputs(X))
            P = P[0] if isinstance(P, (tuple, list)) else P
            call, args = ((f"{name}(y, P)", (labels, P)) if first in LABELS_FIRST
                          else (f"{name}(P, y)", (P, labels)))
        try:
            value = float(arrays.read(user_call(call, method, *args)))
        except (UserCodeError, TypeError, ValueError) as error:
            self.note(f"loss: {call} not compared ({error})")
            return None
        self.note(f"loss: {call}")
        return value

    def update(self, X: np.ndarray, y: np.ndarray, lr: float, weight_decay: float,
               n_train: int) -> None:
        self._set_hyperparameters(lr, weight_decay, n_train)
        forms = [self.labels] if self.labels else ["integers", "one-hot"]
        failure: UserCodeError | None = None
        for form in forms:
            try:
                self._backward(X, y, lr, form)
            except UserCodeError as error:
                failure = failure or error
                if self._loaded:
                    self.load(self._loaded, self.dtype)  # undo a half-done step
                continue
            if self.labels is None:
                self.labels = form
                tried = " (integers raised an exception)" if form == "one-hot" else ""
                self.note(f"labels: {form}{tried}")
            return
        assert failure is not None
        raise failure

    def _set_hyperparameters(self, lr: float, weight_decay: float, n_train: int) -> None:
        if self.lr_name and not self.rate_argument:
            setattr(self.model, self.lr_name, lr)
        if self.decay_name:
            setattr(self.model, self.decay_name, weight_decay)
        if self.size_name:
            setattr(self.model, self.size_name, n_train)
            self.note(f"training-set size: set {self.size_name} = {n_train} (L2 is λ/N)")

    def _backward(self, X: np.ndarray, y: np.ndarray, lr: float, form: str) -> None:
        inputs = self._inputs(X)
        user_call("forward(X)", self.model.forward, inputs)
        args = (inputs, self._labels(y, form)) + ((lr,) if self.rate_argument else ())
        call = "backward(X, y, lr)" if self.rate_argument else "backward(X, y)"
        returned = user_call(call, self.model.backward, *args)
        if returned is not None:
            self.returned = f"{call} returns a {type(returned).__name__}"
