"""The built-in targets, so anyone can watch the check on real libraries:

* ``torch-nn``: a ``torch.nn.Sequential`` of ``Linear`` and activation layers, gradients by
  autograd, steps by ``torch.optim.SGD`` (L2 as its ``weight_decay = λ/N`` on the weights
  only: the biases sit in a parameter group without decay);
* ``sklearn``: scikit-learn's ``MLPClassifier`` through its public API — ``partial_fit`` on
  one full batch with ``solver='sgd'``, no momentum, no shuffling — its update read back
  (its L2 term is ``alpha/n_batch``: ``alpha`` is set to ``λ·n_batch/N``; its loss clips
  ``P`` to ``[ε, 1 − ε]``, ε the dtype's machine epsilon: both conventions mapped);
* ``numpy-twin``: this project's numpy twin, the control.

Each is a small object of the explicit protocol (:mod:`~twinmlp.conformance.protocol`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from twinmlp.conformance.adapters import Adapter
from twinmlp.conformance.errors import CannotCheckError
from twinmlp.conformance.protocol import ProtocolAdapter
from twinmlp.conformance.settings import CheckSettings, Conventions

#: scikit-learn has no leaky ReLU: its check defaults to ReLU.
DEFAULT_ACTIVATION = {"sklearn": "relu"}
SKLEARN_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}


class TorchNN:
    """``torch.nn.Sequential`` + ``torch.optim.SGD`` in the explicit protocol."""

    def __init__(self, layer_sizes: tuple[int, ...], activation: str, alpha: float) -> None:
        import torch

        layers: list[Any] = []
        for i in range(len(layer_sizes) - 1):
            layers.append(torch.nn.Linear(layer_sizes[i], layer_sizes[i + 1]))
            if i < len(layer_sizes) - 2:
                layers.append(_torch_activation(activation, alpha))
        self.net = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        self.lr, self.weight_decay, self.n_train = 0.01, 0.0, 1
        # made once (a new torch.optim.SGD costs ~10 ms); lr and decay are set each step,
        # and with no momentum it keeps no state. The parameters stay the same objects
        # when set_params changes their dtype (Module.to converts them in place).
        self.optimizer = torch.optim.SGD([
            {"params": [m.weight for m in self.linears], "weight_decay": 0.0},
            {"params": [m.bias for m in self.linears], "weight_decay": 0.0}], lr=self.lr)

    def get_params(self) -> dict[str, Any]:
        return {f"{kind}{i}": getattr(m, "weight" if kind == "W" else "bias").detach()
                for i, m in enumerate(self.linears, 1) for kind in ("W", "b")}

    def set_params(self, params: dict[str, Any]) -> None:
        import torch

        self.net.to(params["W1"].dtype)
        with torch.no_grad():
            for i, m in enumerate(self.linears, 1):
                m.weight.copy_(params[f"W{i}"])
                m.bias.copy_(params[f"b{i}"])

    def forward(self, X: Any) -> Any:
        import torch

        with torch.no_grad():
            return torch.softmax(self.net(X), dim=1)

    def loss(self, X: Any, y: Any) -> float:
        import torch

        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(self.net(X), y))

    def gradients(self, X: Any, y: Any) -> dict[str, Any]:
        import torch

        self.net.zero_grad()
        torch.nn.functional.cross_entropy(self.net(X), y).backward()
        return {f"{kind}{i}": getattr(m, "weight" if kind == "W" else "bias").grad
                for i, m in enumerate(self.linears, 1) for kind in ("W", "b")}

    def step(self, X: Any, y: Any) -> None:
        import torch

        weights, biases = self.optimizer.param_groups
        for group in (weights, biases):
            group["lr"] = self.lr
        weights["weight_decay"] = self.weight_decay / self.n_train
        self.optimizer.zero_grad()
        torch.nn.functional.cross_entropy(self.net(X), y).backward()
        self.optimizer.step()


def _torch_activation(name: str, alpha: float) -> Any:
    import torch

    return {"leaky_relu": lambda: torch.nn.LeakyReLU(alpha), "relu": torch.nn.ReLU,
            "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
            "gelu": lambda: torch.nn.GELU(approximate="tanh"), "silu": torch.nn.SiLU}[name]()


class Sklearn:
    """``MLPClassifier`` in the explicit protocol (``step`` through ``partial_fit``)."""

    def __init__(self, layer_sizes: tuple[int, ...], activation: str) -> None:
        self.sizes, self.activation = layer_sizes, SKLEARN_ACTIVATIONS[activation]
        self.lr, self.weight_decay, self.n_train = 0.01, 0.0, 1
        self.models: dict[float, Any] = {}
        self.coefs: list[np.ndarray] = []
        self.intercepts: list[np.ndarray] = []
        self._model(self.lr)

    def _model(self, lr: float) -> Any:
        """One classifier per learning rate: its optimizer reads ``learning_rate_init``
        once, and with no momentum it keeps nothing else."""
        if lr not in self.models:
            from sklearn.neural_network import MLPClassifier

            model = MLPClassifier(
                hidden_layer_sizes=self.sizes[1:-1], activation=self.activation,
                solver="sgd", learning_rate="constant", learning_rate_init=lr, momentum=0.0,
                nesterovs_momentum=False, shuffle=False, batch_size=1 << 30, alpha=0.0,
                random_state=0)
            k = self.sizes[-1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.partial_fit(np.zeros((k, self.sizes[0])), np.arange(k),
                                  classes=np.arange(k))
            self.models[lr] = model
            if not self.coefs:
                self.coefs, self.intercepts = model.coefs_, model.intercepts_
        return self.models[lr]

    def get_params(self) -> dict[str, np.ndarray]:
        out = {}
        for i, (W, b) in enumerate(zip(self.coefs, self.intercepts, strict=True), 1):
            out[f"W{i}"], out[f"b{i}"] = W, b
        return out

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        L = len(self.sizes) - 1
        self.coefs = [np.array(params[f"W{i}"]) for i in range(1, L + 1)]
        self.intercepts = [np.array(params[f"b{i}"]) for i in range(1, L + 1)]

    def _ready(self, lr: float) -> Any:
        model = self._model(lr)
        model.coefs_, model.intercepts_ = self.coefs, self.intercepts
        return model

    def forward(self, X: np.ndarray) -> np.ndarray:
        return self._ready(self.lr).predict_proba(X)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """``loss_`` of a ``partial_fit`` without L2 (computed before its update), the
        parameters restored afterwards."""
        saved = [a.copy() for a in self.coefs], [a.copy() for a in self.intercepts]
        model = self._ready(self.lr)
        model.set_params(alpha=0.0)
        self._fit(model, X, y)
        self.coefs, self.intercepts = saved
        return float(model.loss_)

    def step(self, X: np.ndarray, y: np.ndarray) -> None:
        model = self._ready(self.lr)
        # scikit-learn's L2 gradient is alpha·W/n_batch; the reference's λ·W/N
        model.set_params(alpha=self.weight_decay * len(X) / self.n_train)
        self._fit(model, X, y)
        self.coefs, self.intercepts = model.coefs_, model.intercepts_

    def _fit(self, model: Any, X: np.ndarray, y: np.ndarray) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y)


class NumpyTwin:
    """The project's numpy twin in the explicit protocol: the control."""

    def __init__(self, layer_sizes: tuple[int, ...], activation: str, alpha: float) -> None:
        from twinmlp import numpy_impl

        self.options = dict(activation=activation, alpha=alpha)
        self.sizes = layer_sizes
        self.model = numpy_impl.MLP(layer_sizes, dtype="float64", **self.options)
        self.lr, self.weight_decay, self.n_train = 0.01, 0.0, 1

    def get_params(self) -> dict[str, np.ndarray]:
        return self.model.state_dict()

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        from twinmlp import numpy_impl

        dtype = str(params["W1"].dtype)
        if dtype != str(self.model.state_dict()["W1"].dtype):
            self.model = numpy_impl.MLP(self.sizes, dtype=dtype, **self.options)
        self.model.load_state_dict(params)

    def forward(self, X: np.ndarray) -> np.ndarray:
        return self.model.forward(X)[0]

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(self.model.loss_and_grads(X, y)[0])

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        return self.model.loss_and_grads(X, y)[1]

    def step(self, X: np.ndarray, y: np.ndarray) -> None:
        from twinmlp.numpy_impl.optim import make_optimizer

        grads = self.gradients(X, y)
        make_optimizer("sgd", self.lr, self.weight_decay / self.n_train).step(
            self.model.params, grads)


def make_builtin(name: str, settings: CheckSettings, layer_sizes: tuple[int, ...]) -> Adapter:
    """The adapter of the built-in target ``name``."""
    activation = settings.activation or DEFAULT_ACTIVATION.get(name, "leaky_relu")
    if name == "torch-nn":
        model: Any = TorchNN(layer_sizes, activation, settings.alpha)
        adapter = ProtocolAdapter(model, "torch.nn.Sequential + torch.optim.SGD",
                                  layer_sizes, "out-in")
        adapter.note("L2 mapped: torch.optim.SGD weight_decay = λ/N on the weights; the "
                     "biases in a parameter group without decay")
        adapter.native = "float32"
    elif name == "sklearn":
        if activation not in SKLEARN_ACTIVATIONS:
            raise CannotCheckError(f"scikit-learn's MLPClassifier has no {activation}: use "
                                   "--activation relu, tanh or sigmoid")
        model = Sklearn(layer_sizes, activation)
        adapter = ProtocolAdapter(model, "sklearn.neural_network.MLPClassifier (partial_fit, "
                                  "solver='sgd', momentum=0)", layer_sizes, "in-out")
        adapter.conventions = Conventions("train", 0.0, "clip")
        adapter.note("L2 mapped: scikit-learn divides alpha by the batch size; alpha is set "
                     "to λ·n_batch/N")
        adapter.native = "float32"
    else:
        model = NumpyTwin(layer_sizes, activation, settings.alpha)
        adapter = ProtocolAdapter(model, "twinmlp.numpy_impl.MLP (the control)",
                                  layer_sizes, "in-out")
        adapter.native = "float32"
    adapter.notes.insert(0, f"built-in target {name}: {adapter.description}")
    return adapter
