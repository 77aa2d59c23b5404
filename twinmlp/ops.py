"""Where the twins' bits first differ: every intermediate of one training step, compared
operation by operation (``twinmlp parity --ops``; docs/parity.md, "Operation by operation").

One SGD step on the first batch of the shared order (MATH.md §9), from the same initial
parameters, in the order the step computes them: ``Z_l`` and ``A_l = φ(Z_l)`` (§1, §4),
``P`` (§2), the loss (§3), ``G_L = (P − Y)/n`` (§3), then for ``l = L … 1`` ``dW_l``,
``db_l`` and ``G_{l-1}`` (§5), and the updated ``W_l``, ``b_l`` (§7). Every value comes
from the fast path that training runs: Z, A and P from each twin's ``forward_pass`` (the
cache's ``Z[l]``, ``Phi[l]``), the ``G_l``, dW and db from its ``backward_pass`` (which
copies each ``G_l`` into ``keep_G``), the loss from its ``functional.cross_entropy``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinmlp.arrays import to_numpy
from twinmlp.parity import TINY, ulp_distance
from twinmlp.shared.batching import epoch_permutation
from twinmlp.shared.config import ModelConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.threads import choose_threads, thread_limit
from twinmlp.twins import make_twin


@dataclass(frozen=True)
class OpRow:
    """One intermediate of the step: how far the twins' values are apart."""

    name: str
    section: str
    max_abs: float
    max_rel: float
    max_ulps: float
    differing: int  # entries whose bits differ
    size: int


def step_intermediates(model: Any, X: np.ndarray, y: np.ndarray, lr: float,
                       decay: float) -> dict[str, tuple[str, np.ndarray]]:
    """Every intermediate of one SGD step of ``model`` on ``(X, y)``, in the order the step
    computes them, as ``name → (MATH.md section, NumPy array)``; steps ``model`` in place."""
    features, labels = model.prepare_data(X, y)
    L = model.n_layers
    out: dict[str, tuple[str, np.ndarray]] = {}
    cache = model.forward_pass(features)
    for layer in range(1, L + 1):
        out[f"Z{layer}"] = ("§1", to_numpy(cache.Z[layer]))
        if layer < L:
            out[f"A{layer}"] = ("§4", to_numpy(cache.Phi[layer]))
    out["P"] = ("§2", to_numpy(cache.probs))
    out["loss"] = ("§3", to_numpy(model.functional.cross_entropy(cache.logits, labels)))
    G: dict[str, Any] = {}
    grads = model.backward_pass(cache, labels, keep_G=G)
    for layer in range(L, 0, -1):
        out[f"G{layer}"] = ("§3" if layer == L else "§5", to_numpy(G[f"G{layer}"]))
        out[f"dW{layer}"] = ("§5", to_numpy(grads[f"W{layer}"]))
        out[f"db{layer}"] = ("§5", to_numpy(grads[f"b{layer}"]))
    model.optim.SGD(lr, decay).step(model.params, grads)
    for layer in range(1, L + 1):
        for kind in ("W", "b"):
            out[f"new {kind}{layer}"] = ("§7", to_numpy(model.params[f"{kind}{layer}"]))
    return out


def compare(mine: dict[str, tuple[str, np.ndarray]],
            theirs: dict[str, tuple[str, np.ndarray]]) -> list[OpRow]:
    """One :class:`OpRow` per intermediate, in the step's order."""
    rows = []
    for name, (section, a) in mine.items():
        b = theirs[name][1]
        gap = np.abs(a.astype(np.float64) - b.astype(np.float64))
        rel = gap / np.maximum(np.abs(b.astype(np.float64)), TINY)
        rows.append(OpRow(name, section, float(gap.max(initial=0.0)),
                          float(rel.max(initial=0.0)),
                          float(ulp_distance(a, b).max(initial=0.0)),
                          int(np.count_nonzero(_bits_differ(a, b))),
                          int(a.size)))
    return rows


def _bits_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entries whose bytes differ."""
    width = a.dtype.itemsize
    return (np.ascontiguousarray(a).view(f"u{width}")
            != np.ascontiguousarray(b).view(f"u{width}"))


def first_differing(rows: list[OpRow]) -> OpRow | None:
    """The first intermediate whose bits differ anywhere, or None."""
    return next((row for row in rows if row.differing), None)


def compare_step(data: Dataset, config: ModelConfig, dtype: str, device: str,
                 batch_size: int, lr: float, weight_decay: float,
                 backends: tuple[str, str] = ("numpy", "torch")) -> list[OpRow]:
    """Compare one step of two twins (``backends``; the torch one on ``device``) in
    ``dtype`` on the first batch of epoch 0 of ``data``."""
    config = dataclasses.replace(config, dtype=dtype)
    rows = epoch_permutation(config.seed, 0, len(data.y_train))[:batch_size]
    X, y = data.X_train[rows].astype(dtype), data.y_train[rows]
    decay = weight_decay / len(data.y_train)
    with thread_limit(choose_threads(config.layer_sizes, batch_size)):
        results = [step_intermediates(make_twin(backend, config, device), X, y, lr, decay)
                   for backend in backends]
    return compare(*results)


def format_table(rows: list[OpRow], title: str) -> str:
    """The per-operation table and the line naming the first operation that differs."""
    lines = [title,
             f"{'op':<8} {'MATH.md':<7} {'max abs':>10} {'max rel':>10} {'max ulps':>9} "
             f"{'differing':>14}"]
    for row in rows:
        lines.append(f"{row.name:<8} {row.section:<7} {row.max_abs:>10.2e} "
                     f"{row.max_rel:>10.2e} {row.max_ulps:>9.0f} "
                     f"{f'{row.differing}/{row.size}':>14}")
    first = first_differing(rows)
    lines.append("bits identical in every operation" if first is None else
                 f"first operation whose bits differ: {first.name} (MATH.md {first.section}), "
                 f"{first.differing} of {first.size} entries, up to {first.max_ulps:.0f} ulps")
    return "\n".join(lines)
