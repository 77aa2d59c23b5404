"""A run folder: everything a training run leaves for people and for ``evaluate``.

``config.json`` (what was run, and its status), ``history.csv`` (one row per epoch),
``last.safetensors`` (the epoch checkpoint ``twinmlp train --resume`` continues from,
rewritten at most every ``--checkpoint-seconds`` and when training stops), and when
training ends ``model.safetensors`` (the final checkpoint, see :mod:`twinmlp.checkpoint`),
``curves.png`` and ``confusion.png``. Every file is written atomically, so a run killed
at any moment leaves its last checkpointed epoch behind.

A run folder belongs to one run at a time: :func:`claim_run_folder` takes an exclusive
lock on ``.twinmlp.lock`` inside it (``flock``: the operating system releases it when
the process ends, SIGKILL included), refuses a folder holding files twinmlp did not
write (unless told to overwrite), and removes the temporary files a killed run left.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from twinmlp import __version__
from twinmlp.checkpoint import (
    FILENAME,
    LAST,
    CheckpointError,
    check_meta,
    config_from_dict,
    save_checkpoint,
    save_train_state,
)
from twinmlp.files import (
    FileSystemError,
    atomic_write_text,
    ensure_folder,
    fs_errors,
    temporary_name,
)
from twinmlp.plots import plot_confusion, plot_curves
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.errors import TwinMLPError
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


#: The files a run folder holds (and nothing else, apart from the lock).
RUN_FILES = ("config.json", "history.csv", FILENAME, LAST, "curves.png", "confusion.png")
LOCK = ".twinmlp.lock"
#: Run folders this process holds, and the open lock file of each.
_HELD: dict[Path, int] = {}


class RunFolderError(TwinMLPError):
    """A run folder that is in use by another run, or holds someone else's files."""


def claim_run_folder(folder: Path, overwrite: bool = False) -> Path:
    """Make ``folder`` this process's run folder: create it, lock it (a second process
    fails at once), refuse it when it holds files twinmlp did not write (unless
    ``overwrite``), and remove temporary files a killed run left. Claiming a folder this
    process already holds does nothing."""
    folder = Path(folder)
    key = folder.resolve()
    if key in _HELD:
        return folder
    ensure_folder(folder, "run folder")
    with fs_errors(folder / LOCK, "lock"):
        handle = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl

        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise FileSystemError(f"cannot lock {folder / LOCK}: {error.strerror}"
                                      ) from error
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip() or "?"
            raise RunFolderError(f"run folder {folder} is in use by another twinmlp process "
                                 f"(pid {owner}): wait for it to end, or choose another "
                                 f"folder") from None
        foreign = foreign_files(folder)
        if foreign and not overwrite:
            raise RunFolderError(
                f"{folder} holds files twinmlp did not write ({', '.join(foreign[:5])}): "
                f"choose an empty or new folder, or add --overwrite to write the run "
                f"files there anyway (other files are left alone)")
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        remove_temporary_files(folder)
    except BaseException:
        os.close(handle)
        raise
    _HELD[key] = handle
    return folder


def release_run_folders() -> None:
    """Unlock every run folder this process holds (the OS does it at exit anyway)."""
    while _HELD:
        os.close(_HELD.popitem()[1])


def foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that twinmlp did not write there: anything but the run files
    and their temporaries, or run files beside a ``config.json`` that is not a run's."""
    names = sorted(entry.name for entry in Path(folder).iterdir())
    foreign = [name for name in names if name != LOCK and name not in RUN_FILES
               and not _is_temporary(name)]
    if any(name in RUN_FILES for name in names) and not is_run_config(folder / "config.json"):
        foreign += [name for name in names if name in RUN_FILES]
    return foreign


def is_run_config(path: Path) -> bool:
    """Whether ``path`` is a ``config.json`` twinmlp wrote (a JSON object with a status
    and twinmlp's version)."""
    try:
        meta = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(meta, dict) and isinstance(meta.get("versions"), dict)
            and "twinmlp" in meta["versions"] and "status" in meta)


def _is_temporary(name: str) -> bool:
    for file in RUN_FILES:
        prefix, suffix = temporary_name(Path(file))
        if name.startswith(prefix) and name.endswith(suffix) and name != file:
            return True
    return name.startswith(".probe.")


def remove_temporary_files(folder: Path) -> list[str]:
    """Delete the temporary files of atomic writes that a killed run left in ``folder``
    (call only while holding its lock: a live run's temporaries look the same)."""
    removed = []
    for entry in Path(folder).iterdir():
        if _is_temporary(entry.name) and entry.is_file():
            with fs_errors(entry, "remove the stale temporary file"):
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def start_run(out: Path, meta: dict[str, Any], fresh: bool = True,
              overwrite: bool = False) -> Callable[[TrainState], None]:
    """Claim the run folder (:func:`claim_run_folder`), mark it running, and return the
    function that writes ``last.safetensors`` (the epoch checkpoint ``--resume``
    continues from) for a :class:`TrainState`. A ``fresh`` run first removes what an
    earlier run left in the folder (its checkpoints, history and plots)."""
    out = claim_run_folder(Path(out), overwrite)
    if fresh:
        for name in RUN_FILES:
            with fs_errors(out / name, "remove the earlier run's"):
                (out / name).unlink(missing_ok=True)
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


#: What ``--resume`` compares between ``config.json`` and the epoch checkpoint.
SAME_RUN_KEYS = ("model_config", "train_config", "backend", "device", "dataset", "n_train")


def read_run_config(folder: Path) -> tuple[dict[str, Any], ModelConfig, TrainConfig]:
    """A run folder's ``config.json``, checked by key and type, with the model and
    training configuration it describes."""
    path = Path(folder) / "config.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        raise RunFolderError(f"{folder} is not a run folder of twinmlp train --out "
                             f"(no readable config.json)") from None
    source = str(path)
    check_meta(meta, source)
    if not isinstance(meta.get("status"), str):
        raise CheckpointError(f"{source}: the metadata lacks key 'status' (a string)")
    if "train_config" not in meta:
        raise CheckpointError(f"{source}: the metadata lacks key 'train_config'")
    model = config_from_dict(ModelConfig, meta["model_config"], source, "model_config")
    training = config_from_dict(TrainConfig, meta["train_config"], source, "train_config")
    return meta, model, training


def check_same_run(folder: Path, meta: dict[str, Any], checkpoint_meta: dict[str, Any]) -> None:
    """Refuse an epoch checkpoint that another run wrote (copied in from elsewhere, say):
    its own metadata must agree with ``config.json``; the message names both values."""
    for key in SAME_RUN_KEYS:
        ours, theirs = meta.get(key), checkpoint_meta.get(key)
        if isinstance(ours, dict) and isinstance(theirs, dict):
            for inner in sorted(set(ours) | set(theirs)):
                if ours.get(inner) != theirs.get(inner):
                    raise RunFolderError(
                        f"{folder / LAST} belongs to another run: its {key}.{inner} is "
                        f"{theirs.get(inner)!r} but {folder / 'config.json'} says "
                        f"{ours.get(inner)!r}; not resuming (restore the run's own "
                        f"{LAST}, or start afresh with twinmlp train --out)")
        elif ours != theirs:
            raise RunFolderError(
                f"{folder / LAST} belongs to another run: its {key} is {theirs!r} but "
                f"{folder / 'config.json'} says {ours!r}; not resuming (restore the run's "
                f"own {LAST}, or start afresh with twinmlp train --out)")
