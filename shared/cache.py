"""What a forward pass keeps for the backward pass (MATH.md §1, §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ForwardCache:
    """Arrays of one forward pass, in either backend.

    ``activations[l]`` is ``A_l`` for ``l = 0 … L−1`` (``A_0 = X``), ``pre_activations[l]``
    is ``Z_{l+1}`` for the hidden layers, ``logits`` is ``Z_L`` and ``probs`` is
    ``softmax(Z_L)``.
    """

    activations: list[Any]
    pre_activations: list[Any]
    logits: Any
    probs: Any
