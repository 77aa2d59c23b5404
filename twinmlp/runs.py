"""A run folder: everything a training run leaves for people and for ``evaluate``.

``config.json`` (what was run, and its status), ``history.csv`` (one row per epoch),
``last.safetensors`` (the epoch checkpoint ``twinmlp train --resume`` continues from,
rewritten at most every ``--checkpoint-seconds`` and when training stops), and when
training ends ``model.safetensors`` (the final checkpoint, see :mod:`twinmlp.checkpoint`),
``curves.png`` and ``confusion.png``. Every file is written atomically, so a run killed
at any moment leaves its last checkpointed epoch behind.
"""

from __future__ import annotations

import csv
import io
import json
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from twinmlp import __version__
from twinmlp.checkpoint import FILENAME, LAST, save_checkpoint, save_train_state
from twinmlp.files import atomic_write_text
from twinmlp.plots import plot_confusion, plot_curves
from twinmlp.shared.config import TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.metrics import accuracy, confusion_matrix
from twinmlp.shared.trainer import History, TrainState


def history_csv(history: History) -> str:
    """The history as CSV text, one row per epoch."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=History.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history.rows())
    return buffer.getvalue()


def run_metadata(model: Any, backend: str, device: str, data: Dataset,
                 train_config: TrainConfig) -> dict[str, Any]:
    """What a run is: the part of ``config.json`` known before training starts."""
    import numpy
    import torch

    return {
        "model_config": model.config.to_dict(), "train_config": train_config.to_dict(),
        "backend": backend, "device": device, "dtype": model.config.dtype,
        "dataset": data.name, "n_train": len(data.y_train),
        "versions": {"twinmlp": __version__, "numpy": numpy.__version__,
                     "torch": torch.__version__, "python": platform.python_version()},
    }


def write_config(out: Path, meta: dict[str, Any], status: str, **facts: Any) -> None:
    """``config.json``: the run's metadata, its status and what is known of its outcome."""
    atomic_write_text(Path(out) / "config.json",
                      json.dumps({**meta, "status": status, **facts}, indent=2) + "\n")


def start_run(out: Path, meta: dict[str, Any]) -> Callable[[TrainState], None]:
    """Create the run folder and return the function that writes ``last.safetensors``
    (the epoch checkpoint ``--resume`` continues from) for a :class:`TrainState`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, meta, "running")

    def save_epoch(state: TrainState) -> None:
        save_train_state(out / LAST, state, meta)

    return save_epoch


def finish_run(out: Path, model: Any, meta: dict[str, Any], data: Dataset, history: History,
               seconds: float) -> dict[str, Any]:
    """Write the outcome of a finished run: final checkpoint, history, plots, config."""
    from twinmlp.parity import to_numpy

    out = Path(out)
    predictions = to_numpy(model.predict(data.X_test)).astype(np.int64)
    facts = {"test_accuracy": accuracy(data.y_test, predictions),
             "epochs_run": history.epochs_run, "best_epoch": history.best_epoch,
             "stopped_early": history.stopped_early}
    atomic_write_text(out / "history.csv", history_csv(history))
    # No wall-clock time in the checkpoint, so that a resumed run's is byte-identical.
    save_checkpoint(out / FILENAME, model.state_dict(), {**meta, **facts}, data.scaler,
                    predictions, history.optimizer_state)
    title = f"{meta['backend']} ({meta['device']}, {model.config.dtype}) on {data.name}"
    plot_curves(history, out / "curves.png", title)
    plot_confusion(confusion_matrix(data.y_test, predictions, data.n_classes),
                   data.class_names, out / "confusion.png", title)
    write_config(out, meta, "finished", **facts, seconds=round(seconds, 3))
    return facts


def record_stop(out: Path, meta: dict[str, Any], status: str, history: History) -> None:
    """Note in the run folder why training stopped early (interrupted, diverged); the
    epoch checkpoint of the last good epoch stays."""
    atomic_write_text(Path(out) / "history.csv", history_csv(history))
    write_config(out, meta, status, epochs_run=history.epochs_run)
