"""What ``twinmlp train`` does: build the twins from the options, train them (one process,
``--nproc`` ranks, ``--seeds``, ``--resume``), report, and fill run folders.

The command line (``twinmlp.cli``) parses; this module runs. Expected failures are
``UsageError`` (exit 2) and ``RunStoppedError`` (Ctrl-C, divergence: its own exit code).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.metrics import accuracy
from twinmlp.twins import make_twin

DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": dict(hidden=[32], epochs=2000, lr=0.001, batch_size=64, weight_decay=1e-4,
                   patience=10),
    "mnist": dict(hidden=[256], epochs=30, lr=0.05, batch_size=64, weight_decay=1e-4,
                  patience=5),
    "fashion-mnist": dict(hidden=[256], epochs=30, lr=0.05, batch_size=64,
                          weight_decay=1e-4, patience=5),
}


class UsageError(TwinMLPError):
    """A problem the user can fix; printed as one line, exit code 2."""


def load_data(args: argparse.Namespace, name: str | None = None) -> Dataset:
    """The dataset the options name, from the data root."""
    from twinmlp.shared.data import load_dataset

    return load_dataset(name or args.dataset, args.data_root, getattr(args, "download", False))


def model_config(args: argparse.Namespace, data: Dataset) -> ModelConfig:
    """The architecture the options describe (layers default by dataset)."""
    hidden = DATASET_DEFAULTS[data.name]["hidden"]
    layers = args.layers or [data.n_features, *hidden, data.n_classes]
    if layers[0] != data.n_features or layers[-1] != data.n_classes:
        raise UsageError(f"--layers {','.join(map(str, layers))} does not fit {data.name}: "
                         f"it needs {data.n_features} inputs and {data.n_classes} outputs")
    return ModelConfig(tuple(layers), args.activation, args.alpha, args.init, args.dtype,
                       args.seed)


def train_config(args: argparse.Namespace, dataset: str) -> TrainConfig:
    """The training options, with the dataset's defaults where none was given."""
    defaults = DATASET_DEFAULTS[dataset]

    def pick(name: str) -> Any:
        value = getattr(args, name)
        return defaults[name] if value is None else value

    patience = defaults["patience"] if args.patience is None else args.patience
    return TrainConfig(epochs=pick("epochs"), batch_size=pick("batch_size"), lr=pick("lr"),
                       weight_decay=pick("weight_decay"),
                       patience=None if patience == "none" else patience,
                       min_delta=args.min_delta, optimizer=args.optimizer,
                       momentum=args.momentum, beta1=args.beta1, beta2=args.beta2,
                       eps=args.eps, schedule=args.schedule, step_size=args.step_size,
                       gamma=args.gamma, warmup_epochs=args.warmup_epochs, min_lr=args.min_lr,
                       dropout=args.dropout, dropout_rng=args.dropout_rng)


class RunStoppedError(Exception):
    """Training ended before it finished (interrupted, diverged); carries the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_train(args: argparse.Namespace) -> int:
    """``twinmlp train``: train, report accuracy, and with both twins the parity verdict."""
    check_train_options(args)
    if args.resume is not None:
        return run_resume(args)
    if args.distributed_worker:
        return run_distributed_worker(args)
    if args.nproc > 1 and args.backend != "numpy":
        return launch_torchrun(args)
    if args.seeds:
        return run_seeds(args)
    return train_once(args)[0]


def check_train_options(args: argparse.Namespace) -> None:
    """The options that argparse cannot check alone, before anything runs."""
    if args.nproc < 1:
        raise UsageError(f"--nproc {args.nproc} is not allowed: expected an integer >= 1")
    seconds = args.checkpoint_seconds
    if not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"--checkpoint-seconds {seconds} is not allowed: expected a finite "
                         f"number of seconds >= 0 (0: after every epoch)")
    if args.seeds is not None:
        twice = sorted({seed for seed in args.seeds if args.seeds.count(seed) > 1})
        if twice:
            raise UsageError(f"--seeds {','.join(map(str, args.seeds))} names seed "
                             f"{','.join(map(str, twice))} more than once: each seed is one "
                             f"run, and a repeat would be averaged in twice")


def run_folders(out: Path | None, backend: str, seeds: list[int] | None = None
                ) -> list[Path]:
    """The run folders ``train --out OUT`` fills: one per backend and seed."""
    if out is None:
        return []
    backends = ["numpy", "torch"] if backend == "both" else [backend]
    bases = [out / f"seed{seed}" for seed in seeds] if seeds else [out]
    return [base / b if len(backends) == 2 else base for base in bases for b in backends]


def claim_run_folders(args: argparse.Namespace, seeds: list[int] | None = None) -> None:
    """Claim every run folder of the command before the first epoch, so that a folder in
    use or holding someone else's files fails at once, not after hours of training."""
    from twinmlp.runs import claim_run_folder

    for folder in run_folders(args.out, args.backend, seeds):
        claim_run_folder(folder, args.overwrite)


def launch_torchrun(args: argparse.Namespace) -> int:
    """Start ``--nproc`` torch ranks with torchrun on this node (``--standalone``)."""
    import subprocess

    if args.backend != "torch":
        raise UsageError("--nproc with --backend both is not supported: pick numpy (ranks "
                         "simulated in one process) or torch (one process per rank)")
    if args.seeds:
        raise UsageError("--nproc does not combine with --seeds")
    # The ranks learn their count from the process group; --nproc itself must not reach
    # torchrun's parser, which would read it as an abbreviation of --nproc-per-node.
    passed = [a for i, a in enumerate(args.argv) if not a.startswith("--nproc")
              and not (i > 0 and args.argv[i - 1] == "--nproc")]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={args.nproc}", "-m", "twinmlp", *passed,
               "--distributed-worker"]
    return subprocess.run(command, check=False).returncode


def run_distributed_worker(args: argparse.Namespace) -> int:
    """One torchrun rank: join the process group, train its shards, rank 0 reports."""
    import contextlib
    import io
    import os

    import torch
    import torch.distributed as dist

    from twinmlp.torch_impl.parallel import DataParallelMLP

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = args.device
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    try:
        rank = dist.get_rank()
        data = load_data(args)
        config = model_config(args, data)
        training = train_config(args, data.name)
        model = DataParallelMLP(make_twin("torch", config, device))
        output = contextlib.nullcontext() if rank == 0 else contextlib.redirect_stdout(
            io.StringIO())
        with output:
            print(f"{data.summary()}; {dist.get_world_size()} data-parallel ranks "
                  f"({dist.get_backend()})")
            train_and_report(model, "torch", device, data, training,
                             args.out if rank == 0 else None, args.quiet or rank != 0,
                             extra_meta={"nproc": dist.get_world_size()},
                             checkpoint_seconds=args.checkpoint_seconds,
                             overwrite=args.overwrite)
    finally:
        dist.destroy_process_group()
    return 0


def run_seeds(args: argparse.Namespace) -> int:
    """``twinmlp train --seeds 0,1,2``: one run per seed, then mean and spread per twin."""
    import numpy as np

    data = load_data(args)  # a missing dataset fails before any folder is made
    claim_run_folders(args, args.seeds)
    results: dict[str, list[float]] = {}
    code, out = 0, args.out
    for seed in args.seeds:
        print(f"--- seed {seed}")
        args.seed = seed
        args.out = None if out is None else out / f"seed{seed}"
        seed_code, accuracies = train_once(args, data)
        code = max(code, seed_code)
        for backend, value in accuracies.items():
            results.setdefault(backend, []).append(value)
    for backend, values in results.items():
        print(f"{backend}: test accuracy {100 * np.mean(values):.2f} % mean, "
              f"{100 * np.std(values):.2f} % std, min {100 * min(values):.2f} %, "
              f"max {100 * max(values):.2f} % over seeds {','.join(map(str, args.seeds))}")
    return code


def train_once(args: argparse.Namespace, data: Dataset | None = None
               ) -> tuple[int, dict[str, float]]:
    """One ``train`` run of one or both twins (on ``data``, else the dataset the options
    name); returns the exit code and test accuracies."""
    copies = getattr(args, "floor_copies", None)
    if copies is not None and copies < 0:  # checked before hours of training, not after
        raise UsageError(f"--floor-copies {copies} is not allowed: expected an integer >= 0")
    data = data or load_data(args)  # a missing dataset fails before any folder is made
    claim_run_folders(args)
    config = model_config(args, data)
    training = train_config(args, data.name)
    backends = ["numpy", "torch"] if args.backend == "both" else [args.backend]
    models = {backend: make_twin(backend, config, args.device) for backend in backends}
    if args.nproc > 1:  # numpy: the ranks simulated in one process (MATH.md §14)
        from twinmlp.numpy_impl.parallel import DataParallelMLP

        models = {"numpy": DataParallelMLP(models["numpy"], args.nproc)}
    print(data.summary())
    folders = {backend: None if args.out is None else args.out / backend if len(models) == 2
               else args.out for backend in models}
    if len(models) == 2 and args.out is not None:
        # Both halves described before the first epoch, so that --resume on the parent
        # folder can finish a torch half that Ctrl-C stopped before it began.
        from twinmlp.runs import write_config

        for backend, model in models.items():
            device = "cpu" if backend == "numpy" else args.device
            write_config(folders[backend], run_meta(model, backend, device, data, training),
                         "pending")
    predictions, histories = {}, {}
    for backend, model in models.items():
        device = "cpu" if backend == "numpy" else args.device
        folder = folders[backend]
        predictions[backend] = train_and_report(model, backend, device, data, training, folder,
                                                args.quiet, histories=histories,
                                                checkpoint_seconds=args.checkpoint_seconds,
                                                overwrite=args.overwrite, resume_hint=args.out)
    accuracies = {b: accuracy(data.y_test, p) for b, p in predictions.items()}
    if len(models) == 2:
        passed = parity_verdict(models, predictions, histories, data, config, training,
                                getattr(args, "floor_copies", None))
        return (0 if passed else 1), accuracies
    return 0, accuracies


def parity_verdict(models: dict[str, Any], predictions: dict[str, Any],
                   histories: dict[str, Any], data: Dataset, config: ModelConfig,
                   training: TrainConfig, copies: int | None) -> bool:
    """Print the verdict on two trained twins and return whether they pass: the strict
    tier for float64 runs it covers, else the chaos floor (docs/parity.md, "Whole runs"),
    measured with ``copies`` nudged runs of the numpy twin (default
    ``tolerances.FLOOR_COPIES``; 0 skips it and leaves a float32 run unjudged)."""
    from twinmlp import tolerances
    from twinmlp.parity import (
        RunDifference,
        chaos_floor,
        compare_twins,
        floor_verdict,
    )
    from twinmlp.shared.batching import batch_bounds

    copies = tolerances.FLOOR_COPIES if copies is None else copies
    strict = compare_twins(models["numpy"].state_dict(), models["torch"].state_dict(),
                           predictions["numpy"], predictions["torch"], config.dtype)
    steps = max(h.epochs_run for h in histories.values()) * len(
        batch_bounds(len(data.y_train), training.batch_size))
    if config.dtype == "float64" and (strict.passed or steps <= tolerances.TRAJECTORY_STEPS):
        print(strict.line())
        return strict.passed
    twins = RunDifference.between(models["torch"].state_dict(), predictions["torch"],
                                  models["numpy"].state_dict(), predictions["numpy"],
                                  data.y_test)
    if copies == 0:
        print(f"parity not judged (--floor-copies 0): twins agree on "
              f"{100 * twins.agreement:.2f} % of test predictions, accuracy gap "
              f"{100 * twins.accuracy_gap:.2f} %, parameter distance {twins.distance:.1e}")
        return True
    seconds = sum(histories["numpy"].seconds)
    print(f"chaos floor: training {copies} copies of numpy from weights nudged by one ulp "
          f"(about {copies * seconds:.0f} s; --floor-copies 0 skips this)")
    floor = chaos_floor(config, training, data, models["numpy"].state_dict(),
                        predictions["numpy"], copies)
    verdict = floor_verdict(config.dtype, "numpy", twins, floor, len(data.y_test))
    print(verdict.line())
    return verdict.passed


def run_resume(args: argparse.Namespace) -> int:
    """``twinmlp train --resume RUN_DIR``: continue from the run's epoch checkpoint; a
    folder holding both twins' run folders (``--backend both``) resumes each."""
    from twinmlp.runs import claim_run_folder, read_run_config

    folder = args.resume
    leaves = [folder]
    if not (folder / "config.json").exists():
        halves = [folder / b for b in ("numpy", "torch") if (folder / b / "config.json").exists()]
        leaves = halves or leaves
    for leaf in leaves:
        read_run_config(leaf)  # a folder that is no run is refused, not made one
    for leaf in leaves:  # a run still going holds its lock: fail now, not after one half
        claim_run_folder(leaf, overwrite=True)
    for leaf in leaves:
        resume_one(leaf, args)
    if len(leaves) == 2:
        _resumed_verdict(leaves)
    return 0


def resume_one(folder: Path, args: argparse.Namespace) -> Any:
    """Resume one run folder (or say it finished); a run stopped before its first epoch
    checkpoint starts from epoch 0, which gives the same result."""
    from twinmlp.checkpoint import LAST, load_train_state
    from twinmlp.runs import check_same_run, read_run_config

    meta, config, training = read_run_config(folder)
    if meta["status"] == "finished":
        print(f"{folder}: this run already finished; nothing to resume")
        return None
    state = None
    if (folder / LAST).exists():
        state, checkpoint_meta = load_train_state(folder / LAST)
        check_same_run(folder, meta, checkpoint_meta)
    data = load_data(args, name=meta["dataset"])
    model = make_twin(meta["backend"], config, meta["device"])
    epoch = state.epoch if state is not None else 0
    print(f"{data.summary()}; resuming {folder} after epoch {epoch}")
    return train_and_report(model, meta["backend"], meta["device"], data, training, folder,
                            args.quiet, resume=state, checkpoint_seconds=args.checkpoint_seconds,
                            resume_hint=args.resume)


def _resumed_verdict(leaves: list[Path]) -> None:
    """The parity verdict of a resumed ``--backend both`` run, from its two checkpoints."""
    from twinmlp.checkpoint import load_checkpoint
    from twinmlp.parity import compare_twins

    numpy_run, torch_run = (load_checkpoint(leaf) for leaf in leaves)
    print(compare_twins(numpy_run.params, torch_run.params, numpy_run.test_predictions,
                        torch_run.test_predictions, numpy_run.meta["dtype"]).line())


def run_meta(model: Any, backend: str, device: str, data: Dataset, training: TrainConfig,
             extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run's ``config.json`` metadata, known before its first epoch."""
    from twinmlp.runs import run_metadata

    return {**run_metadata(model, backend, device, data, training),
            "nproc": getattr(model, "world_size", 1), **(extra_meta or {})}


def train_and_report(model: Any, backend: str, device: str, data: Dataset,
                     training: TrainConfig, folder: Path | None, quiet: bool,
                     resume: Any = None, extra_meta: dict[str, Any] | None = None,
                     checkpoint_seconds: float = 10.0, overwrite: bool = False,
                     resume_hint: Path | None = None,
                     histories: dict[str, Any] | None = None) -> Any:
    """Train one twin (from ``resume`` when given), print its line, fill its run folder;
    returns its test predictions (its history goes into ``histories[backend]`` when
    given). Raises :class:`RunStoppedError` on Ctrl-C or divergence, after noting it in
    the run folder (whose epoch checkpoint stays); any other failure is noted there too
    (the status never stays "running"), and a file-system failure becomes one line naming
    the resume command. ``resume_hint`` is the folder that ``--resume`` should be given
    (the parent of both twins' folders, say)."""
    from twinmlp.parity import to_numpy
    from twinmlp.runs import finish_run, record_stop, start_run
    from twinmlp.shared.trainer import DivergenceError, History

    meta = run_meta(model, backend, device, data, training, extra_meta)
    ranks = f" ×{meta['nproc']} ranks" if meta.get("nproc", 1) > 1 else ""
    saver = (start_run(folder, meta, fresh=resume is None, overwrite=overwrite)
             if folder is not None else None)
    latest: dict[str, Any] = {"state": resume, "saved": resume, "at": -math.inf}
    hint = f"twinmlp train --resume {resume_hint or folder}"

    def remember(state: Any) -> None:
        # An epoch checkpoint is an fsync'd file; on fast epochs write one at most every
        # ``checkpoint_seconds`` (a killed run resumes from it), and always on the way out.
        latest["state"] = state
        if saver is not None and time.monotonic() - latest["at"] >= checkpoint_seconds:
            save(state)

    def save(state: Any) -> None:
        if saver is not None and state is not None and state is not latest["saved"]:
            saver(state)
            latest["saved"], latest["at"] = state, time.monotonic()

    def history_so_far() -> Any:
        return latest["state"].history if latest["state"] is not None else History()

    started = time.perf_counter()
    try:
        history = model.fit(data.X_train, data.y_train, data.X_val, data.y_val,
                            verbose=not quiet, resume=resume, on_epoch_end=remember,
                            **training.to_dict())
        save(latest["state"])
        if histories is not None:
            histories[backend] = history
        seconds = time.perf_counter() - started
        predictions = to_numpy(model.predict(data.X_test))
        stop = (f", stopped early, best epoch {history.best_epoch}" if history.stopped_early
                else "")
        per_epoch = 1000 * seconds / max(1, history.epochs_run
                                         - (resume.epoch if resume else 0))
        print(f"{backend:<5} ({device}, {model.config.dtype}{ranks}): test accuracy "
              f"{100 * accuracy(data.y_test, predictions):.2f} % "
              f"({history.epochs_run} epochs{stop}; {seconds:.1f} s, {per_epoch:.1f} ms/epoch)")
        if folder is not None:
            finish_run(folder, model, meta, data, history, seconds)
            print(f"      run folder: {folder}")
    except DivergenceError as error:
        if folder is not None:
            save(error.last_good)
            record_stop(folder, meta, f"diverged: {error}", error.history)
        raise RunStoppedError(f"{backend}: {error}" + (f"; the last good epoch is in {folder}"
                                                       if folder else ""), 1) from None
    except KeyboardInterrupt:
        state = latest["state"]
        done = state.epoch if state is not None else 0
        if folder is None:
            raise RunStoppedError(f"interrupted after epoch {done}", 130) from None
        save(state)
        record_stop(folder, meta, f"interrupted after epoch {done}", history_so_far())
        raise RunStoppedError(f"interrupted after epoch {done}; resume with: {hint}",
                              130) from None
    except TwinMLPError as error:  # a full disk, say: told in one line, status noted
        if folder is None:
            raise
        _note_failure(folder, meta, f"failed: {error}", history_so_far())
        raise type(error)(f"{error}; the run's last checkpointed epoch is in {folder}: "
                          f"after fixing that, resume with: {hint}") from error
    except Exception as error:  # a bug: noted in the folder, and it keeps its traceback
        if folder is not None:
            _note_failure(folder, meta, f"failed: {type(error).__name__}: {error}",
                          history_so_far())
        raise
    return predictions


def _note_failure(folder: Path, meta: dict[str, Any], status: str, history: Any) -> None:
    """Mark the run failed; when even that write fails (the same full disk), the first
    failure is the one to report, so this one is dropped."""
    from twinmlp.runs import record_stop

    try:
        record_stop(folder, meta, status, history)
    except TwinMLPError:
        pass
