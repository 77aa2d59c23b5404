"""The torch port of the reference MLP: the same modules and names as ``numpy_impl``,
on torch tensors, on CPU or CUDA (MATH.md)."""

from twinmlp.torch_impl import functional, optim, plain
from twinmlp.torch_impl.model import MLP
from twinmlp.torch_impl.parallel import DataParallelMLP

__all__ = ["MLP", "DataParallelMLP", "functional", "optim", "plain"]
