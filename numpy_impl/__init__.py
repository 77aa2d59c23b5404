"""The NumPy reference MLP: nothing but NumPy in the arithmetic (MATH.md)."""

from numpy_impl import functional, optim
from numpy_impl.model import MLP
from numpy_impl.parallel import DataParallelMLP

__all__ = ["MLP", "DataParallelMLP", "functional", "optim"]
