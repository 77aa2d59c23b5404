"""The NumPy reference MLP: nothing but NumPy in the arithmetic (MATH.md)."""

from twinmlp.numpy_impl import functional, optim, plain
from twinmlp.numpy_impl.model import MLP
from twinmlp.numpy_impl.parallel import DataParallelMLP

__all__ = ["MLP", "DataParallelMLP", "functional", "optim", "plain"]
