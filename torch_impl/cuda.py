"""Exact numerics on CUDA, switched on explicitly (parity tier 4, docs/parity.md).

Only the torch twin has devices, so this module has no NumPy counterpart. Nothing in the
project changes these process-wide settings behind a user's back: the command line and
the trainer enter :func:`exact_cuda_numerics` around CUDA work, and a library user may do
the same, or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: cuBLAS's setting for repeatable reductions; read once, when cuBLAS starts.
CUBLAS_WORKSPACE = ":4096:8"


@contextmanager
def exact_cuda_numerics() -> Iterator[None]:
    """For the duration: float32 products as IEEE products, not TF32 (on recent GPUs
    torch may otherwise round their inputs to 10-bit mantissas), and deterministic
    algorithms, so one seed gives one bit-identical run. The previous settings come back
    on exit.

    ``CUBLAS_WORKSPACE_CONFIG`` is also set (unless the environment already sets it), but
    cuBLAS reads it only when it starts: enter this before the first CUDA product, or set
    the variable in the environment of the process.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[:2]
        torch.use_deterministic_algorithms(saved[2], warn_only=saved[3])
