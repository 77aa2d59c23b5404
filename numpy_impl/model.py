"""The reference MLP on NumPy: hand-written forward and backward (MATH.md §1–§5).

Everything that is not arithmetic — the public API, validation, ``fit`` — is written once
in ``twinmlp.shared.model.TwinMLP``; this file is the array code.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

from twinmlp.numpy_impl import functional as F
from twinmlp.numpy_impl import optim
from twinmlp.shared.cache import ForwardCache
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.dropout import DropoutStep
from twinmlp.shared.init import param_names
from twinmlp.shared.layout import column_major_buffers, step_buffer_shapes
from twinmlp.shared.model import TwinMLP
from twinmlp.shared.validation import check_state

Array = np.ndarray


class MLP(TwinMLP):
    """A multilayer perceptron with softmax output, in NumPy.

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

    Attributes
    ----------
    backend : str
        ``"numpy"``: the name the trainer, the CLI and the bench report.
    params : dict of str to ndarray
        ``W1`` (d_0, d_1), ``b1`` (d_1,), …, ``WL``, ``bL``.
    """

    backend = "numpy"
    functional = F
    optim = optim

    def __init__(self, layer_sizes: Sequence[int], activation: str = "leaky_relu",
                 alpha: float = 0.01, init: str = "he_normal", seed: int = 0,
                 dtype: str = "float32") -> None:
        config = ModelConfig(tuple(layer_sizes), activation, alpha, init, dtype, seed)
        self.dtype = np.dtype(dtype)
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
                keep_G[f"G{l}"] = G.copy()
            # db first, while G_l is in the CPU cache (docs/benchmarks.md, "Fast path: db")
            grads[f"b{l}"] = np.add.reduce(G, axis=0, out=buffer(f"db{l}"))
            grads[f"W{l}"] = np.matmul(A[l - 1].T, G, out=buffer(f"dW{l}"))
            if l > 1:
                W = self.params[f"W{l}"]
                G = np.matmul(G, W.T, out=buffer(f"G{l - 1}"))
                G = phi_prime(Z[l - 1], Phi[l - 1], G, self.config.alpha)
                if D is not None:
                    G *= D[l - 1]
        return {name: grads[name] for name in param_names(L)}

    def train_step(self, data: tuple[Array, Array], batch: Array,
                   optimizer: optim.Optimizer,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One update on the rows ``batch``, with dropout when given (MATH.md §13);
        returns (summed loss, correct count)."""
        X, y = data
        buffers = self._buffers(len(batch))
        # one contiguous gather, mode="clip" (docs/benchmarks.md, "Fast path: gather")
        xb = np.take(X, batch, axis=0, out=buffers["x"], mode="clip")
        yb = np.take(y, batch, out=buffers["y"], mode="clip")
        cache = self.forward_pass(xb, self._dropout_masks(dropout, len(yb)), buffers, yb)
        loss_sum = cache.loss_sum
        correct = np.count_nonzero(cache.probs.argmax(axis=1) == yb)
        optimizer.step(self.params, self.backward_pass(cache, yb, buffers))
        return loss_sum, correct

    def prepare_order(self, order: np.ndarray) -> Array:
        """One epoch's permutation, as the index array steps slice."""
        return order

    def read_scalars(self, values: list[Array]) -> np.ndarray:
        """Step scalars as one float64 vector."""
        return np.array(values, dtype=np.float64)

    def all_finite(self) -> bool:
        """Whether every parameter is finite."""
        return all(bool(np.isfinite(value).all()) for value in self.params.values())

    def weight_norm_sq(self) -> float:
        """``Σ_l ‖W_l‖²`` (MATH.md §6)."""
        return float(sum(np.vdot(self.params[f"W{l}"], self.params[f"W{l}"])
                         for l in range(1, self.n_layers + 1)))

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays (loadable by either backend)."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters from ``state`` (from either backend), cast to this model's dtype."""
        for name, value in check_state(state, self._shapes()).items():
            self.params[name][...] = value

    def numerics(self) -> AbstractContextManager[Any]:
        """The context training runs in: nothing to set, NumPy's float products are
        always IEEE products."""
        return nullcontext()

    def _buffers(self, n_rows: int) -> dict[str, Array]:
        """The arrays the training step reuses for batches of ``n_rows``, made once."""
        if n_rows not in self._step_buffers:
            shapes = step_buffer_shapes(self.config.layer_sizes, n_rows)
            column_major = column_major_buffers(self.config.layer_sizes, n_rows)
            buffers = {name: np.empty(shape, self.dtype, order="F" if name in column_major
                                      else "C") for name, shape in shapes.items()}
            buffers["y"] = np.empty(n_rows, np.intp)
            self._step_buffers[n_rows] = buffers
        return self._step_buffers[n_rows]

    def _dropout_masks(self, dropout: DropoutStep | None, n_rows: int
                       ) -> list[Array | None] | None:
        """Scaled masks ``D_l = K_l / (1 − p)`` of one step, indexed by ``l`` (MATH.md §13)."""
        if dropout is None:
            return None
        widths = self.config.layer_sizes[1:-1]
        scale = 1 / (1 - dropout.rate)
        return [None] + [keep.astype(self.dtype) * scale
                         for keep in dropout.shared_masks(n_rows, widths)]

    def _to_backend(self, array: np.ndarray) -> Array:
        # A view when the dtype already matches: no copy of a large dataset.
        return array.astype(self.dtype, copy=False)

    def _labels_to_backend(self, labels: np.ndarray) -> Array:
        return labels.astype(np.intp)

    def _column_major(self, array: Array) -> Array:
        return np.asfortranarray(array)
