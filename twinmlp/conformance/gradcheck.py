"""Central differences of the target's own loss, independent of the reference.

The loss is the mean cross-entropy of the probabilities the target's ``forward`` returns
(``−mean log P[y]``), so a backward pass that does not differentiate the forward pass shows
here even where a wrong reference could hide it. A sample of entries per parameter keeps it
to a few dozen forward passes.
"""

from __future__ import annotations

import numpy as np

from twinmlp.conformance.adapters import Adapter
from twinmlp.parity import relative_error

#: Entries sampled per parameter, and the step of the central difference.
ENTRIES = 6
H = 1e-6


def target_loss(adapter: Adapter, params: dict[str, np.ndarray], X: np.ndarray,
                y: np.ndarray) -> float:
    """``−mean log P[y]`` of the target's forward pass at ``params`` (float64)."""
    adapter.load(params, "float64")
    P = adapter.forward(X)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.log(P[np.arange(len(y)), y]).mean())


def central_differences(adapter: Adapter, params: dict[str, np.ndarray], X: np.ndarray,
                        y: np.ndarray, gradients: dict[str, np.ndarray]
                        ) -> tuple[str, float, str]:
    """The worst parameter, its relative error between ``gradients`` and the central
    differences on the sampled entries, and a detail line."""
    rng = np.random.default_rng(0xD1FF)
    worst, worst_error, detail = "", -1.0, ""
    for name, value in params.items():
        picks = rng.choice(value.size, size=min(ENTRIES, value.size), replace=False)
        numeric = np.empty(len(picks))
        for i, flat in enumerate(picks):
            index = np.unravel_index(flat, value.shape)
            shifted = {}
            for sign in (1, -1):
                moved = value.copy()
                moved[index] += sign * H
                shifted[sign] = target_loss(adapter, {**params, name: moved}, X, y)
            numeric[i] = (shifted[1] - shifted[-1]) / (2 * H)
        analytic = gradients[name].reshape(-1)[picks]
        error = relative_error(analytic, numeric)
        if not np.isfinite(error):
            error = float("inf")
        if error > worst_error:
            k = int(np.argmax(np.abs(analytic - numeric)))
            worst, worst_error = name, error
            detail = (f"relative error {error:.2e} on {len(picks)} sampled entries; entry "
                      f"{[int(i) for i in np.unravel_index(picks[k], value.shape)]}: yours "
                      f"{analytic[k]!r} vs central difference {numeric[k]!r}")
    return worst, worst_error, detail
