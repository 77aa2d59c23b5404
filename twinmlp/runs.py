"""A run folder: everything a training run leaves for people and for ``evaluate``.

``config.json`` (what was run), ``history.csv`` (one row per epoch), ``model.safetensors``
(checkpoint, see :mod:`twinmlp.checkpoint`), ``curves.png`` and ``confusion.png``. Every
file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from shared.config import TrainConfig
from shared.data import Dataset
from shared.metrics import accuracy, confusion_matrix
from shared.trainer import History
from twinmlp import __version__
from twinmlp.checkpoint import FILENAME, save_checkpoint
from twinmlp.files import atomic_write_text
from twinmlp.plots import plot_confusion, plot_curves


def history_csv(history: History) -> str:
    """The history as CSV text, one row per epoch."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=History.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history.rows())
    return buffer.getvalue()


def run_metadata(model: Any, backend: str, device: str, data: Dataset,
                 train_config: TrainConfig, history: History, test_accuracy: float,
                 seconds: float) -> dict[str, Any]:
    """What ``config.json`` and the checkpoint's metadata say about a run."""
    import numpy
    import torch

    return {
        "model_config": model.config.to_dict(), "train_config": train_config.to_dict(),
        "backend": backend, "device": device, "dtype": model.config.dtype,
        "dataset": data.name, "n_train": len(data.y_train), "test_accuracy": test_accuracy,
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early, "seconds": round(seconds, 3),
        "versions": {"twinmlp": __version__, "numpy": numpy.__version__,
                     "torch": torch.__version__, "python": platform.python_version()},
    }


def write_run(out: Path, model: Any, backend: str, device: str, data: Dataset,
              train_config: TrainConfig, history: History, seconds: float) -> dict[str, Any]:
    """Fill the run folder ``out`` and return its metadata."""
    from twinmlp.parity import to_numpy

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    predictions = to_numpy(model.predict(data.X_test)).astype(np.int64)
    test_accuracy = accuracy(data.y_test, predictions)
    meta = run_metadata(model, backend, device, data, train_config, history, test_accuracy,
                        seconds)
    atomic_write_text(out / "config.json", json.dumps(meta, indent=2) + "\n")
    atomic_write_text(out / "history.csv", history_csv(history))
    save_checkpoint(out / FILENAME, model.state_dict(), meta, data.scaler, predictions,
                    history.optimizer_state)
    title = f"{backend} ({device}, {model.config.dtype}) on {data.name}"
    plot_curves(history, out / "curves.png", title)
    plot_confusion(confusion_matrix(data.y_test, predictions, data.n_classes),
                   data.class_names, out / "confusion.png", title)
    return meta
