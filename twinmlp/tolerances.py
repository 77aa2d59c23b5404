"""The one table of parity tolerances (docs/parity.md says why each is what it is).

The CLI verdicts (:mod:`twinmlp.parity`), the drift report (:mod:`twinmlp.drift`),
``scripts/tier_errors.py`` and the tests import these names; no tolerance of a tier is
written anywhere else. Every number is a relative error ``‖a − b‖ / max(‖b‖, tiny)`` per
tensor unless its comment says otherwise.
"""

from __future__ import annotations

#: Tiers 2 and 3: forward pass, loss, gradients and one optimizer step, from the same
#: parameters and the same batch (the twins differ only in summation order and libm).
STEP: dict[str, float] = {"float64": 1e-12, "float32": 1e-5}

#: How many steps the strict trajectory tier covers. Past it (and in float32 at any
#: length) a whole run is judged against the chaos floor instead of a fixed tolerance.
TRAJECTORY_STEPS = 1000

#: Tier 2 (float64) and the lock-step drift report: parameters after up to
#: :data:`TRAJECTORY_STEPS` steps of training in lock-step. In float32 the drift report
#: holds the lock-step series to the per-step tolerance over the same horizon.
TRAJECTORY: dict[str, float] = {"float64": 1e-9, "float32": 1e-5}

#: Tier 2: share of identical test predictions a float64 run within the strict tiers
#: must reach (all of them). float32 runs are judged by the chaos floor instead.
STRICT_AGREEMENT = 1.0

#: Tier 5: both twins against torch's own implementations in float64 (autograd on a copy
#: of the network, torch.optim for the optimizers), and against central differences.
AUTOGRAD = 1e-12
CENTRAL_DIFFERENCES = 1e-6

#: The chaos floor (docs/parity.md, "Whole runs"): how many copies of the reference twin
#: are trained from initial weights nudged by one ulp, by default; each costs one run.
FLOOR_COPIES = 3
#: The twins pass when each statistic of their difference is at most ``FLOOR_FACTOR ×``
#: the worst copy's plus a slack: the share of differing test predictions and the accuracy
#: gap (slack: one test prediction), and the largest relative parameter difference (slack:
#: :data:`STEP` of the dtype).
FLOOR_FACTOR = 2.0
