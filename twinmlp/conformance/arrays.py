"""The target's arrays: NumPy arrays or CPU torch tensors, read and written as NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np

from twinmlp.parity import to_numpy


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def kind_of(x: Any) -> str:
    """``"torch"`` for tensors, ``"numpy"`` for everything else."""
    return "torch" if is_tensor(x) else "numpy"


def dtype_name(x: Any) -> str:
    """``"float32"``, ``"float64"``, … of an array or tensor."""
    return str(x.dtype).removeprefix("torch.")


def read(x: Any) -> np.ndarray:
    """A float64 NumPy copy."""
    return to_numpy(x).astype(np.float64)


def make(kind: str, values: np.ndarray, dtype: str, like: Any = None) -> Any:
    """``values`` as an array of ``kind`` and ``dtype`` (labels: pass an integer dtype);
    shaped like ``like`` when given (a bias kept as ``(1, d)``), with its
    ``requires_grad``."""
    values = np.asarray(values)
    if like is not None and tuple(like.shape) != values.shape:
        values = values.reshape(tuple(like.shape))
    if kind == "torch":
        import torch

        tensor = torch.tensor(values, dtype=getattr(torch, dtype))
        if like is not None and getattr(like, "requires_grad", False):
            tensor.requires_grad_(True)
        return tensor
    return values.astype(dtype)


def assign(current: Any, values: np.ndarray, dtype: str) -> Any:
    """Write ``values`` into ``current`` in place when its dtype is ``dtype`` (lists the
    class keeps of its arrays stay valid); otherwise a new array of its kind and shape."""
    if dtype_name(current) == dtype and getattr(current, "shape", None) is not None:
        shaped = np.asarray(values).reshape(tuple(current.shape))
        if is_tensor(current):
            import torch

            with torch.no_grad():
                current.copy_(torch.from_numpy(np.ascontiguousarray(shaped)))
            return current
        if isinstance(current, np.ndarray) and current.flags.writeable:
            current[...] = shaped
            return current
    return make(kind_of(current), values, dtype, like=current)
