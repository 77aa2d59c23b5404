"""What a forward pass keeps for the backward pass (MATH.md §1, §5, §13)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ForwardCache:
    """Arrays of one forward pass, in either backend, indexed by the layer number ``l``
    of MATH.md, so that the backward pass reads ``A[l-1]``, ``Z[l]``, ``D[l]`` as §5 and
    §13 write them.

    ``A[0]`` is the input ``X``; ``A[l]`` for ``l = 1 … L−1`` is the input of layer
    ``l+1`` (``Φ_l ⊙ D_l`` with dropout, else ``Φ_l`` itself); ``A[L]`` is ``P``.
    ``Z[l]`` for ``l = 1 … L`` is the pre-activation (``Z[L]`` the logits) and ``Phi[l]``
    is ``Φ_l = φ(Z_l)`` for the hidden layers. ``D[l]`` is the scaled dropout mask of
    hidden layer ``l``, and ``D`` is None without dropout. Index 0 of ``Z``, ``Phi`` and
    ``D`` holds None: layer 0 is the input. ``loss_sum`` is the summed cross-entropy when
    the pass was given labels (the training step's, MATH.md §3), else None.
    """

    A: list[Any]
    Z: list[Any]
    Phi: list[Any]
    D: list[Any] | None = None
    loss_sum: Any = None

    @property
    def logits(self) -> Any:
        """``Z_L`` (n, k)."""
        return self.Z[-1]

    @property
    def probs(self) -> Any:
        """``P = softmax(Z_L)`` (n, k)."""
        return self.A[-1]


def step_buffer_shapes(layer_sizes: tuple[int, ...], n_rows: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the arrays one training step reuses for batches of ``n_rows``: the batch
    ``x``, per hidden layer ``Z``, ``Phi`` and the back-propagated ``G``, the logits ``Z{L}``
    and ``P`` (which the backward pass overwrites with ``G_L = (P − Y)/n``), and one
    gradient ``dW``/``db`` per parameter (MATH.md §1, §5)."""
    L = len(layer_sizes) - 1
    shapes: dict[str, tuple[int, ...]] = {"x": (n_rows, layer_sizes[0]),
                                          f"Z{L}": (n_rows, layer_sizes[-1]),
                                          "P": (n_rows, layer_sizes[-1])}
    for layer in range(1, L):
        for kind in ("Z", "Phi", "G"):
            shapes[f"{kind}{layer}"] = (n_rows, layer_sizes[layer])
    for layer in range(1, L + 1):
        shapes[f"dW{layer}"] = (layer_sizes[layer - 1], layer_sizes[layer])
        shapes[f"db{layer}"] = (layer_sizes[layer],)
    return shapes


def column_major_params(layer_sizes: tuple[int, ...]) -> frozenset[str]:
    """The parameters kept column-major (Fortran order): the output layer's weights
    ``W{L}`` (d_{L-1}, k) when ``k < d_{L-1}``, so that their longer side is contiguous, as
    for the step arrays of :func:`column_major_buffers` (the reasons are there)."""
    L = len(layer_sizes) - 1
    return frozenset({f"W{L}"} if layer_sizes[-1] < layer_sizes[-2] else ())


def column_major_buffers(layer_sizes: tuple[int, ...], n_rows: int) -> frozenset[str]:
    """The step arrays of the output layer kept column-major (Fortran order): the logits
    ``Z{L}`` and ``P`` (n, k) when ``k < n``, and ``dW{L}`` (d_{L-1}, k) when
    ``k < d_{L-1}`` — each with its longer side contiguous, like ``W{L}`` itself
    (:func:`column_major_params`).

    Row-major, only the k classes would be contiguous. A BLAS product tiles its output
    along the contiguous side: on the AMD EPYC of docs/benchmarks.md, torch's MKL ran the
    output layer's forward and weight-gradient products 4× slower with 10 contiguous
    columns than with the batch's rows, and its three products (``Z_L``, ``dW_L``,
    ``G_{L-1}``) took 3–22 % less time again with ``W_L`` column-major; NumPy's epoch was
    unchanged (OpenBLAS's forward product is slower this way, the softmax's reductions down
    columns 3× faster). The rule depends on the shapes alone, never on the CPU; the values are the
    same, only the memory order differs."""
    L = len(layer_sizes) - 1
    classes = layer_sizes[-1]
    names = {f"Z{L}", "P"} if classes < n_rows else set()
    names.update(f"d{name}" for name in column_major_params(layer_sizes))
    return frozenset(names)
