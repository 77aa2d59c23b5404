"""The torch port of the MLP: the same hand-written forward and backward (MATH.md §1–§5),
on CPU or CUDA, with no autograd in the training path.

Everything that is not arithmetic — the public API, validation, ``fit`` — is written once
in ``twinmlp.shared.model.TwinMLP``; this file is the array code.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch

from twinmlp.shared.cache import ForwardCache
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.dropout import DROPOUT_STREAM, DropoutStep
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.init import param_names
from twinmlp.shared.layout import column_major_buffers, step_buffer_shapes
from twinmlp.shared.model import TwinMLP
from twinmlp.shared.validation import (
    check_features,
    check_float_dtype,
    check_magnitude,
    check_state,
)
from twinmlp.torch_impl import functional as F
from twinmlp.torch_impl import optim
from twinmlp.torch_impl.cuda import exact_cuda_numerics

Array = torch.Tensor


class MLP(TwinMLP):
    """A multilayer perceptron with softmax output, in torch.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[d_0, d_1, …, d_L]``: inputs, hidden widths, classes.
    activation : {ACTIVATION_NAMES}
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
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Constructing a model changes no
        process-wide setting: for IEEE float32 products and repeatable runs on CUDA, call
        ``twinmlp.torch_impl.cuda.exact_cuda_numerics()`` first (README: CUDA numerics).

    Attributes
    ----------
    backend : str
        ``"torch"``: the name the trainer, the CLI and the bench report.
    params : dict of str to Tensor
        ``W1`` (d_0, d_1), ``b1`` (d_1,), …, ``WL``, ``bL``, copied from the float64
        arrays that ``twinmlp.shared.init`` draws, never from torch's own generators.
    """

    backend = "torch"
    functional = F
    optim = optim

    def __init__(self, layer_sizes: Sequence[int], activation: str = "leaky_relu",
                 alpha: float = 0.01, init: str = "he_normal", seed: int = 0,
                 dtype: str = "float32", device: str = "cpu") -> None:
        config = ModelConfig(tuple(layer_sizes), activation, alpha, init, dtype, seed)
        self.dtype = getattr(torch, dtype)
        self.device = _resolve_device(device)
        self._device_generator: torch.Generator | None = None
        super().__init__(config)

    def forward_pass(self, X: Array, D: list[Array | None] | None = None,
                     buffers: dict[str, Array] | None = None, y: Array | None = None
                     ) -> ForwardCache:
        """The forward recursion of MATH.md §1 on a prepared input ``X`` (n, d_0).

        For ``l = 1 … L``: ``Z_l = A_{l-1} W_l + b_l``, then ``A_l = φ(Z_l)`` for the
        hidden layers, times the dropout mask ``D[l]`` when ``D`` is given (§13), and
        ``P = softmax(Z_L)``. ``buffers`` (the training step's) receive the arrays instead
        of new ones; labels ``y`` make the softmax pass also return the summed loss (§3).
        """
        buffer = (buffers or {}).get
        phi = F.ACTIVATIONS[self.config.activation]
        L = self.n_layers
        A, Z, Phi = [X], [None], [None]
        for l in range(1, L + 1):
            W, b = self.params[f"W{l}"], self.params[f"b{l}"]
            Z.append(F.linear(A[l - 1], W, b, out=buffer(f"Z{l}")))
            if l < L:
                Phi.append(phi(Z[l], self.config.alpha, out=buffer(f"Phi{l}")))
                A.append(Phi[l] if D is None else Phi[l] * D[l])
        if y is None:
            P, loss_sum = F.softmax(Z[L], out=buffer("P")), None
        else:
            P, loss_sum = F.softmax_cross_entropy(Z[L], y, out=buffer("P"))
        A.append(P)
        return ForwardCache(A, Z, Phi, D, loss_sum)

    def backward_pass(self, cache: ForwardCache, y: Array,
                      buffers: dict[str, Array] | None = None,
                      n_total: int | None = None,
                      keep_G: dict[str, Array] | None = None) -> dict[str, Array]:
        """The backward recursion of MATH.md §5 from a :meth:`forward_pass` cache.

        ``G_L = (P − Y)/n``; for ``l = L … 1``: ``db_l = Σ_i G_l``,
        ``dW_l = A_{l-1}ᵀ G_l``, and for ``l > 1``
        ``G_{l-1} = (G_l W_lᵀ) ⊙ φ'(Z_{l-1})`` (``⊙ D[l-1]`` with dropout, §13).
        With ``buffers`` ``G_L`` overwrites ``P``; ``n_total`` makes the gradients this
        shard's part of a global batch's (§14). ``keep_G``, when given, receives a copy of
        each ``G_l`` as ``keep_G[f"G{l}"]`` (``twinmlp parity --ops`` compares them).
        """
        buffer = (buffers or {}).get
        phi_prime = F.DERIVATIVES[self.config.activation]
        A, Z, Phi, D = cache.A, cache.Z, cache.Phi, cache.D
        L = self.n_layers
        grads: dict[str, Array] = {}
        G = F.cross_entropy_grad(cache.probs, y, out=buffer("P"), n_total=n_total)
        for l in range(L, 0, -1):
            if keep_G is not None:
                keep_G[f"G{l}"] = G.clone()
            # db first, while G_l is in the CPU cache (docs/benchmarks.md, "Fast path: db")
            grads[f"b{l}"] = torch.sum(G, dim=0, out=buffer(f"db{l}"))
            grads[f"W{l}"] = torch.matmul(A[l - 1].T, G, out=buffer(f"dW{l}"))
            if l > 1:
                W = self.params[f"W{l}"]
                G = torch.matmul(G, W.T, out=buffer(f"G{l - 1}"))
                G = phi_prime(Z[l - 1], Phi[l - 1], G, self.config.alpha)
                if D is not None:
                    G *= D[l - 1]
        return {name: grads[name] for name in param_names(L)}

    def train_step(self, data: tuple[Array, Array], batch: Array,
                   optimizer: optim.Optimizer,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One update on the rows ``batch``, with dropout when given (MATH.md §13);
        returns (summed loss, correct count) as device scalars, so nothing waits for the
        device here."""
        X, y = data
        buffers = self._buffers(len(batch))
        # one contiguous gather (docs/benchmarks.md, "Fast path: gather")
        xb = torch.index_select(X, 0, batch, out=buffers["x"])
        yb = torch.index_select(y, 0, batch, out=buffers["y"])
        cache = self.forward_pass(xb, self._dropout_masks(dropout, len(yb)), buffers, yb)
        loss_sum = cache.loss_sum
        # argmax as max(dim=1).indices (docs/benchmarks.md, "Fast path: correct count")
        correct = torch.count_nonzero(cache.probs.max(dim=1).indices == yb)
        optimizer.step(self.params, self.backward_pass(cache, yb, buffers))
        return loss_sum, correct

    def prepare_order(self, order: np.ndarray) -> Array:
        """One epoch's permutation, copied to the device once; steps slice it there."""
        return torch.from_numpy(order).to(self.device)

    def read_scalars(self, values: list[Array]) -> np.ndarray:
        """Step scalars as one float64 vector: one transfer, one device sync."""
        return torch.stack(values).to(torch.float64).cpu().numpy()

    def all_finite(self) -> bool:
        """Whether every parameter is finite (one device sync)."""
        return bool(torch.stack([torch.isfinite(v).all() for v in self.params.values()]).all())

    def weight_norm_sq(self) -> float:
        """``Σ_l ‖W_l‖²`` (MATH.md §6)."""
        return float(sum(torch.vdot(self.params[f"W{l}"].flatten(),
                                    self.params[f"W{l}"].flatten())
                         for l in range(1, self.n_layers + 1)))

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays (loadable by either backend)."""
        return {name: value.detach().cpu().numpy().copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters from ``state`` (from either backend), cast to this model's dtype."""
        for name, value in check_state(state, self._shapes()).items():
            self.params[name].copy_(self._to_backend(value))

    def numerics(self) -> AbstractContextManager[Any]:
        """The context training runs in: on CUDA ``exact_cuda_numerics()`` (IEEE float32
        products, deterministic algorithms; README: CUDA numerics), on the CPU nothing."""
        return exact_cuda_numerics() if self.device.type == "cuda" else nullcontext()

    def _buffers(self, n_rows: int) -> dict[str, Array]:
        """The arrays the training step reuses for batches of ``n_rows``, made once."""
        if n_rows not in self._step_buffers:
            shapes = step_buffer_shapes(self.config.layer_sizes, n_rows)
            column_major = column_major_buffers(self.config.layer_sizes, n_rows)
            buffers = {name: torch.empty(shape[::-1] if name in column_major else shape,
                                         dtype=self.dtype, device=self.device)
                       for name, shape in shapes.items()}
            for name in column_major:  # the transpose of a row-major array is column-major
                buffers[name] = buffers[name].T
            buffers["y"] = torch.empty(n_rows, dtype=torch.int64, device=self.device)
            self._step_buffers[n_rows] = buffers
        return self._step_buffers[n_rows]

    def _dropout_masks(self, dropout: DropoutStep | None, n_rows: int
                       ) -> list[Array | None] | None:
        """Scaled masks ``D_l = K_l / (1 − p)`` of one step, indexed by ``l`` (MATH.md §13):
        the shared masks copied to the device, or with ``dropout_rng="device"`` drawn there
        by torch."""
        if dropout is None:
            return None
        widths = self.config.layer_sizes[1:-1]
        scale = 1 / (1 - dropout.rate)
        if dropout.rng == "device":
            if self._device_generator is None:
                self._device_generator = torch.Generator(self.device)
            # Seeded by (seed, epoch, step) like the shared masks, not one stream per fit:
            # a resumed run draws the same masks without replaying the stream.
            self._device_generator.manual_seed(_device_dropout_seed(dropout))
            return [None] + [(torch.rand((n_rows, width), generator=self._device_generator,
                                         device=self.device, dtype=self.dtype) >= dropout.rate
                              ).to(self.dtype) * scale for width in widths]
        return [None] + [self._to_backend(keep) * scale
                         for keep in dropout.shared_masks(n_rows, widths)]

    def _to_backend(self, array: np.ndarray) -> Array:
        # Cast on the CPU (as NumPy's astype does), then move: the bits match numpy_impl.
        # (A read-only array is copied: torch tensors are always writable.)
        contiguous = np.require(array, requirements=("C", "W"))
        return torch.from_numpy(contiguous).to(self.dtype).to(self.device)

    def _labels_to_backend(self, labels: np.ndarray) -> Array:
        return torch.from_numpy(labels.astype(np.int64)).to(self.device)

    def _column_major(self, array: Array) -> Array:
        return array.T.contiguous().T  # the transpose of a row-major copy is column-major

    def _as_input(self, X: Any, name: str = "X") -> Array:
        # A tensor is checked where it lives and converted there; anything else as usual.
        if not isinstance(X, torch.Tensor):
            return super()._as_input(X, name)
        kind = "f" if X.is_floating_point() else ("b" if X.dtype == torch.bool else "i")
        check_float_dtype(kind, X.dtype, name)
        finite = kind != "f" or bool(torch.isfinite(X).all())
        check_features(tuple(X.shape), self.config.layer_sizes[0], finite, name)
        if kind == "f" and torch.finfo(X.dtype).max > torch.finfo(self.dtype).max:
            check_magnitude(float(X.detach().abs().max()), self.config.dtype, name)
        return X.detach().to(device=self.device, dtype=self.dtype)

    def _as_targets(self, y: Any, n_rows: int, name: str = "y") -> Array:
        if isinstance(y, torch.Tensor):
            y = y.detach().cpu().numpy()
        return super()._as_targets(y, n_rows, name)


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
    return torch.device("cuda", index)


def _device_dropout_seed(dropout: DropoutStep) -> int:
    """The device generator's seed for one step's masks, from (seed, epoch, step)."""
    words = np.random.SeedSequence([dropout.seed, dropout.epoch, dropout.step,
                                    DROPOUT_STREAM]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])
