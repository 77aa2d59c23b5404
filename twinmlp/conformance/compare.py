"""Comparing the target's values with the reference's: one table row per quantity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinmlp.conformance.report import Row
from twinmlp.parity import TINY, relative_error

Arrays = dict[str, np.ndarray]


@dataclass
class Evidence:
    """What the diagnosis needs to test a failing row against the signatures."""

    stage: str
    user: Arrays
    reference: Arrays
    params: Arrays = field(default_factory=dict)
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    lr: float = 1.0
    weight_decay: float = 0.0
    recovered: bool = False
    dtype: str = "float64"
    extra: dict[str, Any] = field(default_factory=dict)


def non_finite(name: str, values: np.ndarray) -> str:
    """A detail line for ``values`` holding NaN or infinity, '' where all are finite."""
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if not bad:
        return ""
    return (f"{name}: {bad} of {values.size} entries are NaN or infinite (the reference's "
            "are finite)")


def compare(quantity: str, dtype: str, user: Arrays, reference: Arrays,
            tolerance: float) -> Row:
    """The row for ``user`` against ``reference`` (same names): the worst relative error
    among the arrays; NaN or infinity in the user's values is its own verdict."""
    for name, values in user.items():
        detail = non_finite(name, values)
        if detail:
            return Row(quantity, dtype, float("nan"), tolerance, "NaN", detail)
    errors = {name: relative_error(user[name], reference[name]) for name in reference}
    worst = max(errors, key=errors.get)
    error = errors[worst]
    if error <= tolerance:
        return Row(quantity, dtype, error, tolerance, "ok")
    return Row(quantity, dtype, error, tolerance, "FAIL",
               worst_entry(worst, user[worst], reference[worst], error, tolerance))


def worst_entry(name: str, user: np.ndarray, reference: np.ndarray, error: float,
                tolerance: float) -> str:
    """``name``: its relative error, the worst entry with both values, how many differ."""
    gap = np.abs(np.asarray(user, np.float64) - reference)
    index = np.unravel_index(int(np.argmax(gap)), gap.shape) if gap.ndim else ()
    scale = max(float(np.abs(reference).max(initial=0.0)), TINY)
    beyond = int(np.count_nonzero(gap > tolerance * scale))
    where = tuple(int(i) for i in index)
    return (f"{name}: relative error {error:.2e} > {tolerance:.0e}; worst entry {name}"
            f"{list(where)}: yours {float(np.asarray(user)[where])!r} vs reference "
            f"{float(reference[where])!r}; {beyond} of {gap.size} entries differ beyond "
            "the tolerance")
