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
import hashlib
import io
import json
import math
import os
import platform
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    TEMPORARY_PREFIX,
    FileSystemError,
    atomic_write_text,
    ensure_folder,
    fs_errors,
    move_set,
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
    """What a run is: the part of ``config.json`` known before training starts (``nproc``:
    the data-parallel ranks of a ``DataParallelMLP``, else 1)."""
    return describe_run(model.config, getattr(model, "world_size", 1), backend, device, data,
                        train_config)


def describe_run(config: ModelConfig, nproc: int, backend: str, device: str, data: Dataset,
                 train_config: TrainConfig) -> dict[str, Any]:
    """:func:`run_metadata` of a model not built yet (its configuration and ranks)."""
    import torch

    return {
        "model_config": config.to_dict(), "train_config": train_config.to_dict(),
        "backend": backend, "device": device, "dtype": config.dtype,
        "dataset": data.name, "n_train": len(data.y_train),
        "versions": {"twinmlp": __version__, "numpy": np.__version__,
                     "torch": torch.__version__, "python": platform.python_version()},
        "nproc": nproc, "data": data_fingerprint(data),
    }


#: The fingerprints computed in this process, by dataset object (hashing Fashion-MNIST's
#: arrays takes about half a second; ``--seeds`` would do it once per seed).
_FINGERPRINTS: dict[int, tuple[Dataset, dict[str, Any]]] = {}


def data_fingerprint(data: Dataset) -> dict[str, Any]:
    """What identifies the data a run trains on: the split sizes and a SHA-256 over every
    split's arrays (name, dtype, shape, bytes), so that ``--resume`` can refuse other data."""
    known = _FINGERPRINTS.get(id(data))
    if known is not None and known[0] is data:
        return known[1]
    digest = hashlib.sha256()
    for name in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        array = np.ascontiguousarray(getattr(data, name))
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.data)
    fingerprint = {"n_train": len(data.y_train), "n_val": len(data.y_val),
                   "n_test": len(data.y_test), "sha256": digest.hexdigest()}
    _FINGERPRINTS.clear()  # one dataset at a time is all a command uses
    _FINGERPRINTS[id(data)] = (data, fingerprint)
    return fingerprint


def check_same_data(folder: Path, meta: dict[str, Any], data: Dataset) -> None:
    """Refuse to resume a run on data other than its own (other rows, other values),
    in one line naming both."""
    recorded = meta.get("data")
    if not isinstance(recorded, dict):  # a run folder from before fingerprints: sizes only
        recorded = {"n_train": meta.get("n_train")}
    now = data_fingerprint(data)
    if all(recorded.get(key) == now[key] for key in recorded):
        return

    def described(facts: dict[str, Any]) -> str:
        sizes = " / ".join(f"{facts[key]} {key[2:]}" for key in ("n_train", "n_val", "n_test")
                           if key in facts)
        return sizes + (f", sha256 {facts['sha256'][:12]}…" if "sha256" in facts else "")

    raise RunFolderError(
        f"{folder} trained on other data: {folder / 'config.json'} records "
        f"{meta['dataset']} {described(recorded)} but the data found now is "
        f"{described(now)}; not resuming (point --data-root at the run's own data, or "
        f"start afresh with twinmlp train --out)")


def write_config(out: Path, meta: dict[str, Any], status: str, **facts: Any) -> None:
    """``config.json``: the run's metadata, its status and what is known of its outcome."""
    atomic_write_text(Path(out) / "config.json",
                      json.dumps({**meta, "status": status, **facts}, indent=2) + "\n")


#: The files a run folder holds (and nothing else, apart from the lock).
RUN_FILES = ("config.json", "history.csv", FILENAME, LAST, "curves.png", "confusion.png")
LOCK = ".twinmlp.lock"
#: Where a rerun into a folder that holds a run works until it finishes (see RunRecorder).
STAGING = ".twinmlp-rerun"
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
        if (folder / STAGING).is_dir():
            remove_temporary_files(folder / STAGING)
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
    foreign = [name for name in names if name not in (LOCK, STAGING) and name not in RUN_FILES
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
    """Whether ``name`` is a temporary file twinmlp wrote (an atomic write's or a
    folder probe's): only those carry ``files.TEMPORARY_PREFIX``."""
    return name.startswith(TEMPORARY_PREFIX)


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


class RunStoppedError(Exception):
    """Training ended before it finished (interrupted, diverged); carries the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class RunRecorder:
    """The bookkeeping of one training run, from its first epoch to its end: the epoch
    checkpoint ``last.safetensors`` (``--resume`` continues from it), written at most
    every ``checkpoint_seconds`` (it is an fsync'd file; fast epochs would wait on the
    disk) and always on the way out; the outcome when training finishes; and the status
    when it stops (Ctrl-C, divergence) or fails, so that ``config.json`` never stays
    "running". Without a ``folder`` nothing is written, and stops are still told.

    A rerun is a transaction: when ``folder`` already holds a run, the new one works in
    ``folder/.twinmlp-rerun`` (:attr:`work`) and its files replace the old run's only
    when it has finished (:meth:`commit`; ``commit=False`` leaves that to the caller, who
    commits a ``--backend both`` pair together). Until then the old run stays whole: a
    divergence discards the rerun, Ctrl-C or a kill leaves it in the staging folder for
    ``--resume``. ``pending`` marks a run described but not yet begun (the torch half);
    ``continuing`` a run that ``--resume`` goes on with (from ``resume``, or from epoch 0
    when it stopped before its first checkpoint); ``stage`` overrides the choice of a
    staging folder (a pair stages both halves when either holds a run).

    Use: ``recorder.epoch_end`` as ``fit``'s ``on_epoch_end``, the training and the
    writing of its outcome inside ``with recorder.recording():``, and
    :meth:`finish` at the end."""

    def __init__(self, folder: Path | None, meta: dict[str, Any],
                 resume: TrainState | None = None, checkpoint_seconds: float = 10.0,
                 overwrite: bool = False, resume_hint: Path | None = None,
                 pending: bool = False, commit: bool = True, continuing: bool = False,
                 stage: bool | None = None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.work = self.folder
        self.meta = meta
        self.resume = resume
        self.checkpoint_seconds = checkpoint_seconds
        self.hint_folder = Path(resume_hint or folder or ".")
        self.hint = f"twinmlp train --resume {self.hint_folder}"
        self.auto_commit = commit
        self.pending = pending
        self.latest = resume  # the newest state, saved or not
        self._saved = resume
        self._saved_at = -math.inf
        if self.folder is not None:
            self._start(resume is None and not continuing, overwrite, stage)

    @property
    def staged(self) -> bool:
        """Whether this run works beside an earlier run it will replace."""
        return self.work != self.folder

    def _start(self, fresh: bool, overwrite: bool, stage: bool | None) -> None:
        """Claim the run folder (:func:`claim_run_folder`), choose where the run works
        (:func:`run_work_folder`; a fresh run beside an earlier one, or told to ``stage``,
        gets a new staging folder) and mark it running (or pending)."""
        claim_run_folder(self.folder, overwrite)
        staging = self.folder / STAGING
        if fresh:
            with fs_errors(staging, "remove the abandoned rerun"):
                if staging.is_dir():  # a rerun stopped earlier, replaced by this one
                    shutil.rmtree(staging)
            if holds_a_run(self.folder) if stage is None else stage:
                ensure_folder(staging, "staging folder")
                self.work = staging
        else:
            self.work = run_work_folder(self.folder)
        write_config(self.work, self.meta, "pending" if self.pending else "running")

    def epoch_end(self, state: TrainState) -> None:
        """Remember the epoch's state; checkpoint it when the last one is old enough."""
        self.latest = state
        if time.monotonic() - self._saved_at >= self.checkpoint_seconds:
            self.save(state)

    def save(self, state: TrainState | None) -> None:
        """Write ``state`` as the epoch checkpoint, unless it is the one written last."""
        if self.work is None or state is None or state is self._saved:
            return
        save_train_state(self.work / LAST, state, self.meta)
        self._saved, self._saved_at = state, time.monotonic()

    def history_so_far(self) -> History:
        """The history up to the newest epoch."""
        return self.latest.history if self.latest is not None else History()

    def finish(self, model: Any, data: Dataset, history: History, predictions: np.ndarray,
               seconds: float) -> None:
        """Training ended: the last epoch checkpoint, then the outcome (:func:`finish_run`),
        then (unless the caller commits) the rerun replaces the earlier run."""
        self.save(self.latest)
        if self.work is not None:
            finish_run(self.work, model, self.meta, data, history, predictions, seconds)
            if self.auto_commit:
                self.commit()

    def commit(self) -> None:
        """Put a finished rerun in place of the earlier run (:func:`commit_rerun`)."""
        if self.folder is not None:
            commit_rerun(self.folder)

    def discard(self) -> None:
        """Drop the rerun, leaving the earlier run as it was."""
        if self.staged:
            shutil.rmtree(self.work, ignore_errors=True)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Around the training: a divergence or Ctrl-C saves the last good epoch, notes the
        stop and becomes :class:`RunStoppedError` (a diverged rerun is discarded instead:
        the earlier run stays); any other failure is noted as "failed" too, and a
        file-system failure (a full disk, say) becomes one line naming the resume command.
        A bug keeps its traceback."""
        from twinmlp.shared.trainer import DivergenceError

        backend, folder = self.meta["backend"], self.folder
        if folder is not None and self.pending:
            write_config(self.work, self.meta, "running")
            self.pending = False
        try:
            yield
        except DivergenceError as error:
            if self.staged:
                self.discard()
                raise RunStoppedError(
                    f"{backend}: {error}; this rerun is discarded: {self.hint_folder} keeps "
                    f"the previous run, unchanged", 1) from None
            if folder is not None:
                self.save(error.last_good)
                record_stop(folder, self.meta, f"diverged: {error}", error.history)
            raise RunStoppedError(f"{backend}: {error}" + (
                f"; the last good epoch is in {folder}" if folder else ""), 1) from None
        except KeyboardInterrupt:
            done = self.latest.epoch if self.latest is not None else 0
            if folder is None:
                raise RunStoppedError(f"interrupted after epoch {done}", 130) from None
            self.save(self.latest)
            record_stop(self.work, self.meta, f"interrupted after epoch {done}",
                        self.history_so_far())
            kept = (f"; {self.hint_folder} keeps the previous run until this one finishes"
                    if self.staged else "")
            raise RunStoppedError(f"interrupted after epoch {done}{kept}; resume with: "
                                  f"{self.hint}", 130) from None
        except TwinMLPError as error:
            if folder is None:
                raise
            self._note_failure(f"failed: {error}")
            raise type(error)(f"{error}; the run's last checkpointed epoch is in "
                              f"{self.work}: after fixing that, resume with: "
                              f"{self.hint}") from error
        except Exception as error:
            if folder is not None:
                self._note_failure(f"failed: {type(error).__name__}: {error}")
            raise

    def _note_failure(self, status: str) -> None:
        """Mark the run failed; when even that write fails (the same full disk), the
        first failure is the one to report, so this one is dropped."""
        try:
            record_stop(self.work, self.meta, status, self.history_so_far())
        except TwinMLPError:
            pass


def holds_a_run(folder: Path) -> bool:
    """Whether ``folder`` holds files of a run that began (a ``config.json`` that only
    describes a pending run is no run yet)."""
    folder = Path(folder)
    if any((folder / name).exists() for name in RUN_FILES if name != "config.json"):
        return True
    try:
        return json.loads((folder / "config.json").read_text()).get("status") != "pending"
    except (OSError, ValueError, AttributeError):
        return (folder / "config.json").exists()


def run_work_folder(folder: Path) -> Path:
    """Where the newest run of ``folder`` lives: its staging folder when a rerun is
    under way there (unfinished, or finished but not yet committed), else ``folder``."""
    staging = Path(folder) / STAGING
    return staging if (staging / "config.json").is_file() else Path(folder)


def commit_rerun(folder: Path) -> bool:
    """When ``folder``'s staging folder holds a finished rerun, move its files over the
    earlier run's (``config.json`` last, so that a move cut short by a kill is finished
    by the next ``--resume``); returns whether it did."""
    staging = Path(folder) / STAGING
    try:
        finished = json.loads((staging / "config.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return False
    if finished != "finished":
        return False
    move_set(staging, folder, last="config.json", stale=RUN_FILES)
    return True


def finish_run(out: Path, model: Any, meta: dict[str, Any], data: Dataset, history: History,
               predictions: np.ndarray, seconds: float) -> dict[str, Any]:
    """Write the outcome of a finished run: final checkpoint, history, plots, config."""
    out = Path(out)
    predictions = predictions.astype(np.int64)
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
    write_config(out, meta, "finished", **facts, seconds=round(seconds, 3),
                 threads=history.threads)
    return facts


def record_stop(out: Path, meta: dict[str, Any], status: str, history: History) -> None:
    """Note in the run folder why training stopped early (interrupted, diverged); the
    epoch checkpoint of the last good epoch stays."""
    atomic_write_text(Path(out) / "history.csv", history_csv(history))
    write_config(out, meta, status, epochs_run=history.epochs_run)


#: What ``--resume`` compares between ``config.json`` and the epoch checkpoint.
SAME_RUN_KEYS = ("model_config", "train_config", "backend", "device", "dataset", "n_train",
                 "data", "nproc")


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
    nproc = meta.get("nproc", 1)
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise CheckpointError(f"{source}: nproc must be an integer >= 1, got {nproc!r}")
    copies = meta.get("floor_copies", 0)
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 0:
        raise CheckpointError(f"{source}: floor_copies must be an integer >= 0, got "
                              f"{copies!r}")
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
