"""How close two arrays are, and whether two twins agree (DESIGN.md, parity tiers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twinmlp.shared.errors import TwinMLPError

TINY = 1e-300

#: Per-step tolerance of the parity tiers, by dtype.
STEP_TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
#: Tolerance on the final parameters of a whole run; float32 runs are judged by their
#: predictions alone, since rounding differences compound over thousands of steps.
RUN_TOLERANCE: dict[str, float | None] = {"float64": 1e-9, "float32": None}
#: Minimum share of identical test predictions after a whole run.
AGREEMENT_REQUIRED = {"float64": 1.0, "float32": 0.99}


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a NumPy array, a torch tensor (any device) or a scalar."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def relative_error(mine: Any, theirs: Any) -> float:
    """``‖mine − theirs‖ / max(‖theirs‖, tiny)`` in float64 (Frobenius norms)."""
    a = to_numpy(mine).astype(np.float64)
    b = to_numpy(theirs).astype(np.float64)
    if a.shape != b.shape:
        raise TwinMLPError(f"cannot compare shapes {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), TINY))


@dataclass(frozen=True)
class Verdict:
    """Outcome of comparing two trained twins."""

    dtype: str
    max_param_error: float
    worst_param: str
    agreement: float

    @property
    def passed(self) -> bool:
        """Both the parameter tolerance and the prediction agreement hold."""
        tolerance = RUN_TOLERANCE[self.dtype]
        params_ok = tolerance is None or self.max_param_error <= tolerance
        return params_ok and self.agreement >= AGREEMENT_REQUIRED[self.dtype]

    def line(self) -> str:
        """One line for people."""
        word = "PASS" if self.passed else "FAIL"
        tolerance = RUN_TOLERANCE[self.dtype]
        limit = "not judged in float32" if tolerance is None else f"tolerance {tolerance:.0e}"
        required = 100 * AGREEMENT_REQUIRED[self.dtype]
        return (f"parity {word}: max relative difference of final parameters "
                f"{self.max_param_error:.2e} ({self.worst_param}; {limit}), "
                f"identical test predictions {100 * self.agreement:.2f} % "
                f"(required {required:g} %)")


def compare_twins(state_a: dict[str, np.ndarray], state_b: dict[str, np.ndarray],
                  pred_a: Any, pred_b: Any, dtype: str) -> Verdict:
    """Verdict on two final state dicts and their predictions on one test set."""
    errors = {name: relative_error(state_a[name], state_b[name]) for name in state_b}
    worst = max(errors, key=errors.get)
    agreement = float(np.mean(to_numpy(pred_a) == to_numpy(pred_b)))
    return Verdict(dtype, errors[worst], worst, agreement)
