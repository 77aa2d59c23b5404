"""How close two arrays are, and whether two trained twins agree (docs/parity.md).

Two verdicts on whole runs:

* the **strict** one (tier 2): final parameters within :data:`tolerances.TRAJECTORY` and
  every test prediction identical, for float64 runs the strict tiers cover;
* the **chaos floor** (float32 runs, float64 runs past :data:`tolerances.TRAJECTORY_STEPS`):
  the twins' difference against the spread of the reference twin's own copies, trained
  from initial weights nudged by one ulp (:func:`nudge_state`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from twinmlp import tolerances
from twinmlp.arrays import to_numpy
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.optim import is_weight

if TYPE_CHECKING:
    from twinmlp.shared.config import ModelConfig, TrainConfig
    from twinmlp.shared.data import Dataset

TINY = 1e-300


def relative_error(mine: Any, theirs: Any) -> float:
    """``‖mine − theirs‖ / max(‖theirs‖, tiny)`` in float64 (Frobenius norms)."""
    a = to_numpy(mine).astype(np.float64)
    b = to_numpy(theirs).astype(np.float64)
    if a.shape != b.shape:
        raise TwinMLPError(f"cannot compare shapes {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), TINY))


def ulp_distance(mine: Any, theirs: Any) -> np.ndarray:
    """How many representable numbers of their (common) float dtype lie between each pair
    of entries: 0 for identical bits (and for +0 against −0), 1 for neighbours."""
    a, b = to_numpy(mine), to_numpy(theirs)
    if a.dtype != b.dtype or a.dtype.kind != "f":
        raise TwinMLPError(f"ulps need one float dtype, got {a.dtype} and {b.dtype}")
    signed = np.dtype(f"int{8 * a.dtype.itemsize}")
    lowest = np.iinfo(signed).min

    def ordered(x: np.ndarray) -> np.ndarray:
        # Sign-magnitude bits to an integer line on which neighbouring floats differ by 1.
        bits = np.ascontiguousarray(x).view(signed)
        return np.where(bits < 0, lowest - bits, bits).astype(np.int64).view(np.uint64)

    # Modular difference in uint64: exact for every distance below 2⁶³ (no float rounding).
    forward = ordered(a) - ordered(b)
    return np.minimum(forward, -forward).astype(np.float64)


@dataclass(frozen=True)
class Difference:
    """Where and how far two arrays differ (mine against theirs).

    ``beyond`` counts the entries with ``|mine − theirs| > tol · max|theirs|`` for the
    tolerance the comparison used (0 without one).
    """

    name: str
    relative_error: float
    max_abs: float
    max_rel: float
    index: tuple[int, ...]
    mine_value: float
    theirs_value: float
    beyond: int
    size: int

    def message(self, tol: float) -> str:
        """The failure message: tensor, both maxima, worst entry with both values, count."""
        return (f"{self.name}: relative error {self.relative_error:.3e} > tolerance "
                f"{tol:.0e}; max abs difference {self.max_abs:.3e}, max relative "
                f"{self.max_rel:.3e}; worst entry at {self.index}: mine "
                f"{self.mine_value!r} vs theirs {self.theirs_value!r}; {self.beyond} of "
                f"{self.size} entries beyond tolerance")


def difference(name: str, mine: Any, theirs: Any, tol: float = 0.0) -> Difference:
    """Compare two arrays of one shape entry by entry (see :class:`Difference`)."""
    a = to_numpy(mine).astype(np.float64)
    b = to_numpy(theirs).astype(np.float64)
    if a.shape != b.shape:
        raise TwinMLPError(f"{name}: cannot compare shapes {a.shape} and {b.shape}")
    gap = np.abs(a - b)
    rel = gap / np.maximum(np.abs(b), TINY)
    flat = int(np.argmax(gap)) if gap.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape)) if a.ndim else ()
    scale = float(np.abs(b).max()) if b.size else 0.0
    return Difference(name, relative_error(a, b), float(gap.max(initial=0.0)),
                      float(rel.max(initial=0.0)), index,
                      float(a[index]) if a.size else float("nan"),
                      float(b[index]) if b.size else float("nan"),
                      int(np.count_nonzero(gap > tol * scale)) if tol else 0, int(a.size))


# --- the strict verdict (tier 2) ---

@dataclass(frozen=True)
class Verdict:
    """The strict verdict on two trained twins: final parameters and predictions."""

    dtype: str
    max_param_error: float
    worst_param: str
    agreement: float

    @property
    def passed(self) -> bool:
        """Parameters within the trajectory tolerance and every prediction identical."""
        return (self.max_param_error <= tolerances.TRAJECTORY[self.dtype]
                and self.agreement >= tolerances.STRICT_AGREEMENT)

    def line(self) -> str:
        """One line for people."""
        word = "PASS" if self.passed else "FAIL"
        return (f"parity {word} (strict tier): max relative difference of final parameters "
                f"{self.max_param_error:.2e} ({self.worst_param}; tolerance "
                f"{tolerances.TRAJECTORY[self.dtype]:.0e}), identical test predictions "
                f"{100 * self.agreement:.2f} % (required "
                f"{100 * tolerances.STRICT_AGREEMENT:g} %)")


def compare_twins(state_a: dict[str, np.ndarray], state_b: dict[str, np.ndarray],
                  pred_a: Any, pred_b: Any, dtype: str) -> Verdict:
    """Strict verdict on two final state dicts and their predictions on one test set."""
    errors = {name: relative_error(state_a[name], state_b[name]) for name in state_b}
    worst = max(errors, key=errors.get)
    agreement = float(np.mean(to_numpy(pred_a) == to_numpy(pred_b)))
    return Verdict(dtype, errors[worst], worst, agreement)


# --- the chaos floor (whole runs beyond the strict tiers) ---

def nudge_state(state: dict[str, np.ndarray], copy: int) -> dict[str, np.ndarray]:
    """``state`` with every weight moved by one ulp of its dtype, up or down at random
    (directions from a generator seeded by ``copy``). Biases start at 0, where one ulp is
    a subnormal that no step notices, so they are left alone."""
    rng = np.random.default_rng([copy, 0x6C7])
    nudged = {}
    for name, value in state.items():
        if is_weight(name):
            up = rng.random(value.shape) < 0.5
            toward = np.where(up, np.inf, -np.inf).astype(value.dtype)
            nudged[name] = np.nextafter(value, toward)
        else:
            nudged[name] = value.copy()
    return nudged


@dataclass(frozen=True)
class RunDifference:
    """How far two whole runs ended apart."""

    agreement: float  # share of identical test predictions
    accuracy_gap: float  # |test accuracy of one − of the other|
    distance: float  # largest relative difference of a final parameter

    @classmethod
    def between(cls, state_a: dict[str, np.ndarray], pred_a: Any,
                state_b: dict[str, np.ndarray], pred_b: Any, y_test: Any) -> RunDifference:
        """The three statistics of docs/parity.md, "Whole runs"."""
        pa, pb, y = to_numpy(pred_a), to_numpy(pred_b), to_numpy(y_test)
        distance = max(relative_error(state_a[name], state_b[name]) for name in state_b)
        return cls(float(np.mean(pa == pb)), abs(float(np.mean(pa == y) - np.mean(pb == y))),
                   distance)


@dataclass(frozen=True)
class FloorVerdict:
    """The twins' :class:`RunDifference` against those of the reference's nudged copies."""

    dtype: str
    reference: str
    twins: RunDifference
    copies: tuple[RunDifference, ...]
    n_test: int

    def limits(self) -> RunDifference:
        """The largest disagreement, gap and distance the twins may show (docs/parity.md):
        the worst copy's, times :data:`~tolerances.FLOOR_FACTOR`, plus one test prediction
        for the disagreement and the gap, and the per-step tolerance for the distance (the
        copies differ by one nudge, the twins by rounding at every step: in a run that is
        not chaotic the copies' distance shrinks while the twins' stays at rounding level)."""
        one = 1 / self.n_test
        factor = tolerances.FLOOR_FACTOR
        worst_disagreement = max(1 - c.agreement for c in self.copies)
        return RunDifference(
            1 - min(1.0, factor * worst_disagreement + one),
            factor * max(c.accuracy_gap for c in self.copies) + one,
            factor * max(c.distance for c in self.copies) + tolerances.STEP[self.dtype])

    @property
    def passed(self) -> bool:
        """Every statistic within its limit."""
        limit = self.limits()
        return (self.twins.agreement >= limit.agreement
                and self.twins.accuracy_gap <= limit.accuracy_gap
                and self.twins.distance <= limit.distance)

    def line(self, pair: str = "twins") -> str:
        """One line: the figures of the ``pair`` compared (the twins, or a checked target
        and the reference) beside the floor's range and the verdict."""
        agree = [100 * c.agreement for c in self.copies]
        gaps = [100 * c.accuracy_gap for c in self.copies]
        dist = [c.distance for c in self.copies]
        limit = self.limits()
        return (f"parity {'PASS' if self.passed else 'FAIL'} (chaos floor): {pair} agree on "
                f"{100 * self.twins.agreement:.2f} % of test predictions, accuracy gap "
                f"{100 * self.twins.accuracy_gap:.2f} %, parameter distance "
                f"{self.twins.distance:.1e}; {self.reference} against {len(self.copies)} "
                f"copies of itself nudged by one ulp: {min(agree):.2f}–{max(agree):.2f} %, "
                f"gap {min(gaps):.2f}–{max(gaps):.2f} %, distance "
                f"{min(dist):.1e}–{max(dist):.1e} (limits {100 * limit.agreement:.2f} %, "
                f"{100 * limit.accuracy_gap:.2f} %, {limit.distance:.1e})")


def chaos_floor(config: ModelConfig, training: TrainConfig, data: Dataset,
                reference_state: dict[str, np.ndarray], reference_predictions: Any,
                copies: int, backend: str = "numpy") -> list[RunDifference]:
    """Train ``copies`` twins of ``backend`` from ``config``'s initial parameters nudged by
    :func:`nudge_state` (copies 1, 2, …) with ``training``, and measure each against the
    unperturbed run (``reference_state``, ``reference_predictions``). Costs ``copies``
    runs."""
    from twinmlp.twins import make_twin

    floor = []
    for copy in range(1, copies + 1):
        model = make_twin(backend, config)
        model.load_state_dict(nudge_state(model.state_dict(), copy))
        model.fit(data.X_train, data.y_train, data.X_val, data.y_val, verbose=False,
                  **training.to_dict())
        floor.append(RunDifference.between(model.state_dict(), model.predict(data.X_test),
                                           reference_state, reference_predictions,
                                           data.y_test))
    return floor


def floor_verdict(dtype: str, reference: str, twins: RunDifference,
                  copies: Sequence[RunDifference], n_test: int) -> FloorVerdict:
    """The chaos-floor verdict; needs at least one copy."""
    if not copies:
        raise TwinMLPError("the chaos floor needs at least one nudged copy")
    return FloorVerdict(dtype, reference, twins, tuple(copies), n_test)


def check_floor_is_used(copies: int, dtype: str, epochs: int, batch_size: int,
                        n_train: int, max_epochs: bool = False) -> None:
    """Refuse ``--floor-copies K`` for a run the strict tiers judge alone (float64 within
    :data:`tolerances.TRAJECTORY_STEPS` steps, ``epochs`` being a maximum when
    ``max_epochs``), where no floor is measured."""
    from twinmlp.shared.batching import batch_bounds
    from twinmlp.shared.errors import UsageError

    steps = epochs * len(batch_bounds(n_train, batch_size))
    if dtype == "float64" and steps <= tolerances.TRAJECTORY_STEPS:
        raise UsageError(f"--floor-copies {copies} means nothing here: this float64 run of "
                         f"{'at most ' if max_epochs else ''}{steps} steps lies within the "
                         f"strict tiers (<= {tolerances.TRAJECTORY_STEPS:,} steps), which "
                         f"judge it without a floor (docs/parity.md)")
