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

