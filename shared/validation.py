"""Input checks shared by every public entry of both backends.

Each check raises one ``TwinMLPError`` (twinmlp.shared.errors) whose message says what
was expected and what was given. The backends pass plain facts (shapes, a finiteness flag,
labels as NumPy), so nothing here depends on the array library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinmlp.shared.errors import TwinMLPError


def as_array(values: Any, name: str = "X") -> np.ndarray:
    """``values`` as a NumPy array; ragged nesting is one clear error, not NumPy's."""
    try:
        return np.asarray(values)
    except (ValueError, TypeError):
        raise TwinMLPError(f"{name} must be a rectangular array of numbers (rows of equal "
                           f"length), got {type(values).__name__}") from None


def check_features(shape: tuple[int, ...], n_features: int, finite: bool, name: str = "X") -> None:
    """``name`` must be a finite, non-empty ``(n, n_features)`` matrix."""
    if len(shape) != 2:
        raise TwinMLPError(f"{name} must be a 2-D array of shape (n_samples, {n_features}), "
                           f"got shape {tuple(shape)}")
    if shape[0] == 0:
        raise TwinMLPError(f"{name} is empty: expected at least one row, got shape {tuple(shape)}")
    if shape[1] != n_features:
        raise TwinMLPError(f"{name} has {shape[1]} features per row but the model expects "
                           f"{n_features}")
    if not finite:
        raise TwinMLPError(f"{name} contains NaN or infinity: expected finite values only")


def check_float_dtype(kind: str, dtype: Any, name: str = "X") -> None:
    """``kind`` is ``"f"``/``"i"``/``"u"``/``"b"``: numbers are fine, anything else is not."""
    if kind not in "fiub":
        raise TwinMLPError(f"{name} must hold numbers, got dtype {dtype}")


def check_targets(y: np.ndarray, n_rows: int, n_classes: int, name: str = "y") -> None:
    """``y`` must be ``n_rows`` integer labels in ``[0, n_classes)`` or a one-hot-like
    ``(n_rows, n_classes)`` matrix of finite probabilities."""
    y = np.asarray(y)
    if y.ndim == 1:
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        if y.dtype.kind not in "iu":
            raise TwinMLPError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        if y.shape[0] != n_rows:
            raise TwinMLPError(f"{name} has {y.shape[0]} labels but X has {n_rows} rows")
        if n_rows and (y.min() < 0 or y.max() >= n_classes):
            raise TwinMLPError(f"{name} holds labels in [{y.min()}, {y.max()}] but the model has "
                               f"{n_classes} classes: expected labels in [0, {n_classes - 1}]")
    elif y.ndim == 2:
        if y.shape != (n_rows, n_classes):
            raise TwinMLPError(f"one-hot {name} must have shape ({n_rows}, {n_classes}), "
                               f"got {y.shape}")
        if not np.all(np.isfinite(y)):
            raise TwinMLPError(f"{name} contains NaN or infinity: expected finite values only")
    else:
        raise TwinMLPError(f"{name} must be labels of shape ({n_rows},) or one-hot of shape "
                           f"({n_rows}, {n_classes}), got shape {y.shape}")


def check_state(state: Any, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """``state`` as NumPy arrays, after checking its keys, shapes and values against the
    parameter ``shapes`` of the model it is loaded into."""
    if not isinstance(state, dict) or set(state) != set(shapes):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise TwinMLPError(f"state dict must have keys {sorted(shapes)}, got {got}")
    out = {}
    for name, value in state.items():
        value = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
        if tuple(value.shape) != tuple(shapes[name]):
            raise TwinMLPError(f"state dict entry {name!r} has shape {tuple(value.shape)}, "
                               f"expected {tuple(shapes[name])}")
        if value.dtype.kind != "f" or not np.isfinite(value).all():
            raise TwinMLPError(f"state dict entry {name!r} must hold finite floats")
        out[name] = value
    return out


def check_fits_dtype(X: np.ndarray, dtype: Any, name: str = "X") -> None:
    """``X`` (finite, as checked by :func:`check_features`) must stay finite when cast to
    the model's ``dtype``: float64 values beyond float32's range would become infinity
    in a float32 model, and its outputs NaN."""
    X = np.asarray(X)
    if X.dtype.kind != "f" or X.size == 0:
        return
    if float(np.finfo(X.dtype).max) > float(np.finfo(np.dtype(dtype)).max):
        check_magnitude(float(np.max(np.abs(X))), dtype, name)


def check_magnitude(peak: float, dtype: Any, name: str = "X") -> None:
    """:func:`check_fits_dtype` given the fact alone: ``peak``, the largest ``|x|``."""
    target = np.dtype(dtype)
    largest = float(np.finfo(target).max)  # a Python float: compare in float64, not float32
    if peak > largest:
        raise TwinMLPError(f"{name} holds values up to {peak:.3g}, beyond the range of the "
                           f"model's {target.name} (±{largest:.3g}): scale the input (e.g. "
                           f"StandardScaler) or use dtype='float64'")


#: Inputs larger than this are far from standardised: divergence on them is more likely the
#: input's fault than the learning rate's.
UNSCALED = 1e4


def unscaled_input_advice(peak: float, name: str = "X") -> str | None:
    """The advice for a divergence when ``name``'s largest ``|x|`` (``peak``) is far from
    standardised: the input is named instead of the learning rate. ``None`` when the
    input looks scaled."""
    if peak <= UNSCALED:
        return None
    return (f"{name} holds values up to {peak:.3g}, far from standardised: scale the input "
            f"(StandardScaler) first, it is more likely to blame than the learning rate")
