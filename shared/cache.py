"""What a forward pass keeps for the backward pass (MATH.md §1, §5, §13)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ForwardCache:
    """Arrays of one forward pass, in either backend.

    For the hidden layers ``l = 1 … L−1``: ``pre_activations[l-1]`` is ``Z_l``,
    ``outputs[l-1]`` is ``φ(Z_l)`` and ``masks[l-1]`` the scaled dropout mask ``D_l``
    (``masks`` is None without dropout). ``activations[l]`` is ``A_l``, the input of layer
    ``l+1`` (``A_0 = X``; ``A_l = φ(Z_l) ⊙ D_l`` with dropout, else ``φ(Z_l)`` itself).
    ``logits`` is ``Z_L`` and ``probs`` is ``softmax(Z_L)``; ``loss_sum`` is the summed
    cross-entropy when the pass was given labels (the training step's), else None.
    """

    activations: list[Any]
    pre_activations: list[Any]
    outputs: list[Any]
    logits: Any
    probs: Any
    masks: list[Any] | None = None
    loss_sum: Any = None


def step_buffer_shapes(layer_sizes: tuple[int, ...], n_rows: int) -> dict[str, tuple[int, ...]]:
    """Shapes of the arrays one training step reuses for batches of ``n_rows``: the batch
    ``x``, per hidden layer ``Z``, ``A`` and the back-propagated ``G``, the ``logits`` and
    ``probs`` (which the backward pass overwrites with ``(P − Y)/n``), and one gradient
    ``dW``/``db`` per parameter (MATH.md §1, §5)."""
    shapes: dict[str, tuple[int, ...]] = {"x": (n_rows, layer_sizes[0]),
                                          "logits": (n_rows, layer_sizes[-1]),
                                          "probs": (n_rows, layer_sizes[-1])}
    for layer in range(1, len(layer_sizes) - 1):
        for kind in ("Z", "A", "G"):
            shapes[f"{kind}{layer}"] = (n_rows, layer_sizes[layer])
    for layer in range(1, len(layer_sizes)):
        shapes[f"dW{layer}"] = (layer_sizes[layer - 1], layer_sizes[layer])
        shapes[f"db{layer}"] = (layer_sizes[layer],)
    return shapes
