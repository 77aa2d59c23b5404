"""The NumPy reference MLP: nothing but NumPy in the arithmetic (MATH.md)."""

from numpy_impl import functional, optim
from numpy_impl.model import MLP

__all__ = ["MLP", "functional", "optim"]
