"""Arrays of either twin as NumPy arrays: the one bridge from torch tensors back to NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a NumPy array, a torch tensor (any device) or a scalar."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)
