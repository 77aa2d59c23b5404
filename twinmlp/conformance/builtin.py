"""The built-in targets: ``torch-nn``, ``sklearn`` and ``numpy-twin`` (the control)."""

from __future__ import annotations

from twinmlp.conformance.adapters import Adapter
from twinmlp.conformance.errors import CannotCheckError
from twinmlp.conformance.settings import CheckSettings

#: scikit-learn has no leaky ReLU: its check defaults to ReLU.
DEFAULT_ACTIVATION = {"sklearn": "relu"}


def make_builtin(name: str, settings: CheckSettings, layer_sizes: tuple[int, ...]) -> Adapter:
    """The adapter of the built-in target ``name``."""
    raise CannotCheckError(f"built-in target {name!r} is not available yet")
