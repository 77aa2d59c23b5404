"""The memory layout of the training step: the shapes of the arrays it reuses, and which of
them (and which parameter) are column-major (MATH.md §1, §5).

Layout changes no value, only the memory order: the rule depends on the shapes alone, never
on the CPU. Why the output layer is column-major, with the measurements: docs/benchmarks.md,
"Fast path: output layer column-major".
"""

from __future__ import annotations


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
    for the step arrays of :func:`column_major_buffers`."""
    L = len(layer_sizes) - 1
    return frozenset({f"W{L}"} if layer_sizes[-1] < layer_sizes[-2] else ())


def column_major_buffers(layer_sizes: tuple[int, ...], n_rows: int) -> frozenset[str]:
    """The step arrays of the output layer kept column-major (Fortran order): the logits
    ``Z{L}`` and ``P`` (n, k) when ``k < n``, and ``dW{L}`` (d_{L-1}, k) when
    ``k < d_{L-1}`` — each with its longer side contiguous, like ``W{L}`` itself
    (:func:`column_major_params`). Row-major, only the k classes would be contiguous, and
    a BLAS product tiles its output along the contiguous side."""
    L = len(layer_sizes) - 1
    classes = layer_sizes[-1]
    names = {f"Z{L}", "P"} if classes < n_rows else set()
    names.update(f"d{name}" for name in column_major_params(layer_sizes))
    return frozenset(names)
