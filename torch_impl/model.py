"""The torch port of the MLP: the same hand-written forward and backward (MATH.md §1–§5),
on CPU or CUDA, with no autograd in the training path."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from twinmlp.shared.cache import ForwardCache, step_buffer_shapes
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.dropout import DropoutStep
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.init import init_params, param_names
from twinmlp.shared.trainer import History, TrainState, train
from twinmlp.shared.validation import (
    as_array,
    check_features,
    check_float_dtype,
    check_state,
    check_targets,
)
from twinmlp.torch_impl import functional as F
from twinmlp.torch_impl import optim

Array = torch.Tensor


class MLP:
    """A multilayer perceptron with softmax output, in torch.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[d_0, d_1, …, d_L]``: inputs, hidden widths, classes.
    activation : {"leaky_relu", "relu", "tanh", "sigmoid"}
        Hidden activation φ (MATH.md §4).
    alpha : float
        Negative slope of ``leaky_relu``.
    init : {"he_normal", "glorot_uniform"}
        Weight initialisation (MATH.md §8).
    seed : int
        Seeds the initial parameters and, by default, the batch order.
    dtype : {"float32", "float64"}
        Dtype of parameters and computation.
    device : str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. On CUDA, TF32 is switched off so float32
        matrix products are IEEE products, as on the CPU.

    Attributes
    ----------
    backend : str
        ``"torch"``: the name the trainer, the CLI and the bench report.
    params : dict of str to Tensor
        ``W1`` (d_0, d_1), ``b1`` (d_1,), …, ``WL``, ``bL``, copied from the float64
        arrays that ``shared.init`` draws, never from torch's own generators.
    """

    backend = "torch"

    def __init__(self, layer_sizes: Sequence[int], activation: str = "leaky_relu",
                 alpha: float = 0.01, init: str = "he_normal", seed: int = 0,
                 dtype: str = "float32", device: str = "cpu") -> None:
        self.config = ModelConfig(tuple(layer_sizes), activation, alpha, init, dtype, seed)
        self.dtype = getattr(torch, dtype)
        self.device = _resolve_device(device)
        self.params: dict[str, Array] = {
            name: self._to_tensor(value) for name, value in init_params(self.config).items()
        }
        self._step_buffers: dict[int, dict[str, Array]] = {}
        self._device_generator: torch.Generator | None = None

    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.config.layer_sizes) - 1

    def forward(self, X: Any) -> tuple[Array, ForwardCache]:
        """Class probabilities ``P`` (n, k) and the cache for :meth:`backward` (MATH.md §1)."""
        cache = self._forward(self._as_input(X))
        return cache.probs, cache

    def backward(self, cache: ForwardCache, y: Any) -> dict[str, Array]:
        """Gradients of the mean cross-entropy, keyed like :attr:`params` (MATH.md §5).

        ``y`` holds integer labels (n,) or one-hot rows (n, k).
        """
        return self._backward(cache, self._as_targets(y, cache.probs.shape[0]))

    def loss_and_grads(self, X: Any, y: Any) -> tuple[Array, dict[str, Array]]:
        """Mean cross-entropy (MATH.md §3, no L2 term) and its gradients."""
        cache = self._forward(self._as_input(X))
        targets = self._as_targets(y, cache.probs.shape[0])
        return F.cross_entropy(cache.logits, targets), self._backward(cache, targets)

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (n, k)."""
        return self._forward(self._as_input(X)).probs

    def predict(self, X: Any) -> Array:
        """Most probable class of each row (n,)."""
        return self.predict_proba(X).argmax(dim=1)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays (loadable by either backend)."""
        return {name: value.detach().cpu().numpy().copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters from ``state`` (from either backend), cast to this model's dtype."""
        for name, value in check_state(state, self._shapes()).items():
            self.params[name].copy_(self._to_tensor(value))

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None, epochs: int = 100,
            batch_size: int = 64, lr: float = 0.01, weight_decay: float = 0.0,
            patience: int | None = None, verbose: bool = True,
            resume: TrainState | None = None,
            on_epoch_end: Callable[[TrainState], None] | None = None, **options: Any) -> History:
        """Train in place with the shared loop (``shared.trainer.train``) and return the
        history. ``options`` are further ``TrainConfig`` fields (``optimizer``, ``dropout``,
        …); ``resume`` continues from a saved ``TrainState`` and ``on_epoch_end`` receives
        one after every epoch."""
        config = TrainConfig.from_options(epochs=epochs, batch_size=batch_size, lr=lr,
                                          weight_decay=weight_decay, patience=patience,
                                          **options)
        return train(self, X, y, X_val, y_val, config, verbose=verbose, resume=resume,
                     on_epoch_end=on_epoch_end)

    # --- the shared trainer's protocol (shared.trainer.Trainable) ---

    def prepare_data(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")
                     ) -> tuple[Array, Array]:
        """Validate one split and move it to the device once, as ``(features, labels)``."""
        features = self._as_input(X, names[0])
        labels = self._as_targets(y, features.shape[0], names[1])
        if labels.ndim != 1:
            raise TwinMLPError(f"{names[1]} must hold integer class labels of shape (n,) for "
                             f"training, got shape {tuple(labels.shape)}")
        return features, labels

    def prepare_order(self, order: np.ndarray) -> Array:
        """One epoch's permutation, copied to the device once; steps slice it there."""
        return torch.from_numpy(order).to(self.device)

    def make_optimizer(self, config: TrainConfig, n_train: int) -> optim.Optimizer:
        """``config``'s optimizer with the decay coefficient ``λ/N`` (MATH.md §6, §11)."""
        return optim.make_optimizer(config.optimizer, config.lr, config.weight_decay / n_train,
                                    config.momentum, (config.beta1, config.beta2), config.eps)

    def train_step(self, data: tuple[Array, Array], batch: Array,
                   optimizer: optim.Optimizer,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One update on the rows ``batch``, with dropout when given (MATH.md §13);
        returns (summed loss, correct count) as device scalars, so nothing waits for the
        device here."""
        X, y = data
        buffers = self._buffers(len(batch))
        xb = torch.index_select(X, 0, batch, out=buffers["x"])  # one contiguous gather
        yb = torch.index_select(y, 0, batch, out=buffers["y"])
        cache = self._forward(xb, self._dropout_masks(dropout, len(yb)), buffers, yb)
        loss_sum = cache.loss_sum
        correct = torch.count_nonzero(cache.probs.argmax(dim=1) == yb)
        optimizer.step(self.params, self._backward(cache, yb, buffers))
        return loss_sum, correct

    def evaluate(self, data: tuple[Array, Array]) -> tuple[float, float]:
        """Mean loss (no L2 term) and accuracy on a prepared split."""
        X, y = data
        cache = self._forward(X)
        accuracy = (cache.probs.argmax(dim=1) == y).to(torch.float64).mean()
        return float(F.cross_entropy(cache.logits, y)), float(accuracy)

    def read_scalars(self, values: list[Array]) -> np.ndarray:
        """Step scalars as one float64 vector: one transfer, one device sync."""
        return torch.stack(values).to(torch.float64).cpu().numpy()

    def all_finite(self) -> bool:
        """Whether every parameter is finite (one device sync)."""
        return bool(torch.stack([torch.isfinite(v).all() for v in self.params.values()]).all())

    def weight_norm_sq(self) -> float:
        """``Σ_l ‖W_l‖²`` (MATH.md §6)."""
        return float(sum(torch.vdot(self.params[f"W{layer}"].flatten(),
                                    self.params[f"W{layer}"].flatten())
                         for layer in range(1, self.n_layers + 1)))

    # --- internals: no validation, the arithmetic of MATH.md ---

    def _forward(self, X: Array, masks: list[Array] | None = None,
                 buffers: dict[str, Array] | None = None, y: Array | None = None
                 ) -> ForwardCache:
        # With ``buffers`` (the training step's) every array is written into a reused one;
        # with labels ``y`` the summed loss comes out of the softmax pass (cache.loss_sum).
        buffer = (buffers or {}).get
        activate = F.ACTIVATIONS[self.config.activation]
        activations, pre_activations, outputs = [X], [], []
        A = X
        for layer in range(1, self.n_layers):
            Z = F.linear(A, self.params[f"W{layer}"], self.params[f"b{layer}"],
                         out=buffer(f"Z{layer}"))
            A = activate(Z, self.config.alpha, out=buffer(f"A{layer}"))
            pre_activations.append(Z)
            outputs.append(A)
            if masks is not None:
                A = A * masks[layer - 1]
            activations.append(A)
        logits = F.linear(A, self.params[f"W{self.n_layers}"], self.params[f"b{self.n_layers}"],
                          out=buffer("logits"))
        if y is None:
            probs, loss_sum = F.softmax(logits, out=buffer("probs")), None
        else:
            probs, loss_sum = F.softmax_cross_entropy(logits, y, out=buffer("probs"))
        return ForwardCache(activations, pre_activations, outputs, logits, probs, masks,
                            loss_sum)

    def _backward(self, cache: ForwardCache, y: Array, buffers: dict[str, Array] | None = None,
                  n_total: int | None = None) -> dict[str, Array]:
        # With ``buffers`` the gradient at the logits overwrites ``cache.probs``; with
        # ``n_total`` the gradients are this shard's part of a global batch's (MATH.md §14).
        buffer = (buffers or {}).get
        derivative = F.DERIVATIVES[self.config.activation]
        grads: dict[str, Array] = {}
        G = F.cross_entropy_grad(cache.probs, y, out=buffer("probs"), n_total=n_total)
        for layer in range(self.n_layers, 0, -1):
            grads[f"W{layer}"] = torch.matmul(cache.activations[layer - 1].T, G,
                                              out=buffer(f"dW{layer}"))
            grads[f"b{layer}"] = torch.sum(G, dim=0, out=buffer(f"db{layer}"))
            if layer > 1:
                G = torch.matmul(G, self.params[f"W{layer}"].T, out=buffer(f"G{layer - 1}"))
                Z, A = cache.pre_activations[layer - 2], cache.outputs[layer - 2]
                G = derivative(Z, A, G, self.config.alpha)
                if cache.masks is not None:
                    G *= cache.masks[layer - 2]
        return {name: grads[name] for name in param_names(self.n_layers)}

    def _buffers(self, n_rows: int) -> dict[str, Array]:
        """The arrays the training step reuses for batches of ``n_rows``, made once."""
        if n_rows not in self._step_buffers:
            shapes = step_buffer_shapes(self.config.layer_sizes, n_rows)
            buffers = {name: torch.empty(shape, dtype=self.dtype, device=self.device)
                       for name, shape in shapes.items()}
            buffers["y"] = torch.empty(n_rows, dtype=torch.int64, device=self.device)
            self._step_buffers[n_rows] = buffers
        return self._step_buffers[n_rows]

    def _dropout_masks(self, dropout: DropoutStep | None, n_rows: int) -> list[Array] | None:
        """Scaled masks ``D_l = K_l / (1 − p)`` of one step (MATH.md §13): the shared masks
        copied to the device, or with ``dropout_rng="device"`` drawn there by torch."""
        if dropout is None:
            return None
        widths = self.config.layer_sizes[1:-1]
        scale = 1 / (1 - dropout.rate)
        if dropout.rng == "device":
            if self._device_generator is None:
                self._device_generator = torch.Generator(self.device)
                self._device_generator.manual_seed(dropout.seed)
            return [(torch.rand((n_rows, width), generator=self._device_generator,
                                device=self.device, dtype=self.dtype) >= dropout.rate
                     ).to(self.dtype) * scale for width in widths]
        return [self._to_tensor(keep) * scale
                for keep in dropout.shared_masks(n_rows, widths)]

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(value.shape) for name, value in self.params.items()}

    def _to_tensor(self, array: np.ndarray) -> Array:
        # Cast on the CPU (as NumPy's astype does), then move: the bits match numpy_impl.
        # (A read-only array is copied: torch tensors are always writable.)
        contiguous = np.require(array, requirements=("C", "W"))
        return torch.from_numpy(contiguous).to(self.dtype).to(self.device)

    def _as_input(self, X: Any, name: str = "X") -> Array:
        if isinstance(X, torch.Tensor):
            kind = "f" if X.is_floating_point() else ("b" if X.dtype == torch.bool else "i")
            check_float_dtype(kind, X.dtype, name)
            finite = kind != "f" or bool(torch.isfinite(X).all())
            check_features(tuple(X.shape), self.config.layer_sizes[0], finite, name)
            return X.detach().to(device=self.device, dtype=self.dtype)
        X = as_array(X, name)
        check_float_dtype(X.dtype.kind, X.dtype, name)
        finite = X.dtype.kind != "f" or bool(np.isfinite(X).all())
        check_features(X.shape, self.config.layer_sizes[0], finite, name)
        return self._to_tensor(X)

    def _as_targets(self, y: Any, n_rows: int, name: str = "y") -> Array:
        y_host = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else as_array(y, name)
        check_targets(y_host, n_rows, self.config.layer_sizes[-1], name)
        if y_host.ndim == 1:
            return torch.from_numpy(y_host.astype(np.int64)).to(self.device)
        return self._to_tensor(y_host)


def _resolve_device(device: str) -> torch.device:
    """``device`` as a ``torch.device``, with one clear error where it does not exist."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise TwinMLPError(f"device = {device!r} is not allowed: expected 'cpu', 'cuda' "
                         f"or 'cuda:N'") from None
    if resolved.type == "cpu":
        return resolved
    if resolved.type != "cuda":
        raise TwinMLPError(f"device = {device!r} is not allowed: expected 'cpu', 'cuda' "
                           f"or 'cuda:N'")
    if not torch.cuda.is_available():
        raise TwinMLPError(f"device = {device!r} is not available: torch finds no CUDA GPU "
                         f"(use device='cpu')")
    index = 0 if resolved.index is None else resolved.index
    if index >= torch.cuda.device_count():
        raise TwinMLPError(f"device = {device!r} is not available: torch sees "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    # Parity tier 4: float32 products on CUDA must be IEEE, not TF32. And one seed must
    # give one bit-identical run: deterministic algorithms (cuBLAS needs its workspace
    # setting before its first use).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.device("cuda", index)
