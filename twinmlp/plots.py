"""The pictures people look at: learning curves, confusion matrix, parity drift.

Every figure is written atomically as PNG with matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twinmlp.files import atomic_write_with
from twinmlp.shared.trainer import History


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    atomic_write_with(path, lambda temporary: figure.savefig(temporary, dpi=110,
                                                             format="png"))
    _pyplot().close(figure)


def plot_curves(history: History, path: Path, title: str) -> None:
    """Train and validation loss (left) and accuracy (right) per epoch; the best epoch
    (the one early stopping restores, when it is on) is marked."""
    plt = _pyplot()
    figure, (loss_axis, acc_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in ((loss_axis, "loss", "loss (mean cross-entropy)"),
                             (acc_axis, "acc", "accuracy")):
        axis.plot(history.epoch, getattr(history, f"train_{key}"), label="train")
        values = getattr(history, f"val_{key}")
        if not np.all(np.isnan(values)):
            axis.plot(history.epoch, values, label="validation")
        if history.best_epoch is not None:
            axis.axvline(history.best_epoch, color="grey", linestyle=":",
                         label=f"lowest validation loss (epoch {history.best_epoch})")
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend()
    loss_axis.set_yscale("log")
    figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path,
                   title: str) -> None:
    """Counts of true (rows) against predicted (columns) classes on the test set."""
    plt = _pyplot()
    size = max(5.0, 0.55 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axis, fraction=0.046)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, class_names)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i, j in np.ndindex(matrix.shape):
        axis.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                  color="white" if matrix[i, j] > threshold else "black")
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axis.set_title(f"{title}\ntest accuracy {100 * accuracy:.2f} %")
    figure.tight_layout()
    _save(figure, path)


def plot_drift(steps: np.ndarray, series: dict[str, np.ndarray],
               tolerances: dict[str, float], path: Path, title: str,
               shadow: dict[str, np.ndarray] | None = None) -> None:
    """Relative difference against step, log scale, one line per tensor: parameters on
    the left, gradients on the right; tolerances dashed. Exact zeros (bit-identical
    tensors) sit on a floor line, since a log axis has no 0. With ``shadow`` a third
    panel shows each float32 twin's largest relative parameter difference to the float64
    shadow."""
    plt = _pyplot()
    panels = 3 if shadow else 2
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), sharey=True)
    positive = [v[v > 0].min() for v in [*series.values(), *(shadow or {}).values()]
                if np.any(v > 0)]
    floor = min(min(positive, default=1e-18) / 10, 1e-18)
    for axis, kind in zip(axes[:2], ("parameters", "gradients"), strict=True):
        names = [n for n in series if (" grad " in n) == (kind == "gradients")]
        for name in names:
            axis.plot(steps, np.maximum(series[name], floor), label=name, linewidth=1)
        for label, tolerance in tolerances.items():
            axis.axhline(tolerance, color="red", linestyle="--", linewidth=1,
                         label=f"tolerance {label} ({tolerance:.0e})")
        axis.axhline(floor, color="grey", linestyle=":", linewidth=1,
                     label="exactly 0 (drawn here)")
        axis.set_yscale("log")
        axis.set_xlabel("step")
        axis.set_title(kind)
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=7, ncol=2)
    if shadow:
        axis = axes[2]
        for name, values in shadow.items():
            axis.plot(steps, np.maximum(values, floor), label=f"{name} (float32)", linewidth=1)
        axis.set_yscale("log")
        axis.set_xlabel("step")
        axis.set_title("distance to the float64 shadow (largest over parameters)")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=7)
    axes[0].set_ylabel("relative difference to numpy_impl")
    figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)


def plot_throughput(cells: Sequence, path: Path, title: str) -> None:
    """Samples per second against batch size (log-log), one line per implementation and
    device and architecture; the anchors (autograd, scikit-learn) dashed, the floors (the
    first layer's two products alone) dotted."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 5.5))
    groups: dict[tuple, list] = {}
    for cell in cells:
        groups.setdefault((cell.impl, cell.device, cell.layers, cell.role), []).append(cell)
    styles = {"twin": "-", "anchor": "--", "floor": ":"}
    for (impl, device, layers, role), members in groups.items():
        members = sorted(members, key=lambda c: c.batch_size)
        axis.plot([c.batch_size for c in members], [c.samples_per_second for c in members],
                  linestyle=styles.get(role, "-"), marker="o",
                  label=f"{impl} ({device}, {layers})")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("batch size")
    axis.set_ylabel("training samples per second")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    axis.set_title(title)
    figure.tight_layout()
    _save(figure, path)
