"""What ``twinmlp train`` does: build the twins from the options, train them (one process,
``--nproc`` ranks, ``--seeds``, ``--resume``), report, and judge their parity.

The command (``twinmlp.commands.train``) parses; this module runs; a run's bookkeeping
(its folder, epoch checkpoints, how it stopped) is :class:`twinmlp.runs.RunRecorder`'s.
Expected failures are ``UsageError`` (exit 2) and ``RunStoppedError`` (Ctrl-C,
divergence: its own exit code).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.errors import UsageError
from twinmlp.shared.metrics import accuracy
from twinmlp.twins import backend_device, make_twin

if TYPE_CHECKING:
    import numpy as np

    from twinmlp.runs import RunRecorder
    from twinmlp.shared.trainer import History, TrainState

DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": dict(hidden=[32], epochs=2000, lr=0.001, batch_size=64, weight_decay=1e-4,
                   patience=10),
    "mnist": dict(hidden=[256], epochs=30, lr=0.05, batch_size=64, weight_decay=1e-4,
                  patience=5),
    "fashion-mnist": dict(hidden=[256], epochs=30, lr=0.05, batch_size=64,
                          weight_decay=1e-4, patience=5),
}


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


def floor_copies(value: int | None) -> int:
    """``--floor-copies``: the nudged copies of the chaos floor (default
    ``tolerances.FLOOR_COPIES``), checked before hours of training, not after."""
    from twinmlp import tolerances

    if value is None:
        return tolerances.FLOOR_COPIES
    if value < 0:
        raise UsageError(f"--floor-copies {value} is not allowed: expected an integer >= 0")
    return value


def run_train(args: argparse.Namespace) -> int:
    """``twinmlp train``: train, report accuracy, and with both twins the parity verdict."""
    check_train_options(args)
    if args.distributed_worker:
        return run_distributed_worker(args)
    if args.resume is not None:
        return run_resume(args)
    if args.nproc > 1 and args.backend != "numpy":
        return launch_torchrun(args)
    copies = floor_copies(args.floor_copies)
    if args.seeds:
        return run_seeds(args, copies)
    return train_once(args, copies)[0]


def check_train_options(args: argparse.Namespace) -> None:
    """The options that argparse cannot check alone, before anything runs: values, and
    options that cannot mean anything beside the others (refused, never ignored)."""
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
    if args.distributed_worker:
        check_worker_options(args)
    if args.resume is not None:
        return  # the run's own configuration; the other options are ignored (--help)
    if args.backend == "numpy" and args.device != "cpu":
        raise UsageError(f"--device {args.device} means nothing with --backend numpy: the "
                         f"NumPy twin runs on the CPU (a torch device needs --backend torch "
                         f"or both)")
    if args.backend == "numpy" and args.dropout_rng == "device":
        raise UsageError("--dropout-rng device means nothing with --backend numpy: only the "
                         "torch twin draws masks on its device (use --dropout-rng shared, or "
                         "--backend torch or both)")
    if args.floor_copies is not None and args.backend != "both":
        raise UsageError(f"--floor-copies {args.floor_copies} means nothing with --backend "
                         f"{args.backend}: the nudged copies judge the parity of --backend "
                         f"both")
    if args.floor_copies and args.backend == "both" and args.dtype == "float64":
        from twinmlp.parity import check_floor_is_used

        data = load_data(args)
        training = train_config(args, data.name)
        check_floor_is_used(args.floor_copies, args.dtype, training.epochs,
                            training.batch_size, len(data.y_train), max_epochs=True)


def check_worker_options(args: argparse.Namespace) -> None:
    """``--distributed-worker`` is one rank of a torchrun launch: refused outside one
    (torchrun sets these variables), and beside options a rank cannot honour."""
    import os

    missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
               if name not in os.environ]
    if missing:
        raise UsageError(f"--distributed-worker is the worker entry point that --nproc (or "
                         f"torchrun) starts, and runs only inside a torchrun launch (no "
                         f"{', '.join(missing)} in the environment): to train on N ranks, "
                         f"use --backend torch --nproc N")
    if args.resume is None and args.backend != "torch":  # a resumed run has its own
        raise UsageError(f"--distributed-worker trains the torch twin, not --backend "
                         f"{args.backend}: add --backend torch")
    for option, given in (("--nproc", args.nproc != 1), ("--seeds", bool(args.seeds))):
        if given:
            raise UsageError(f"{option} does not combine with --distributed-worker: torchrun "
                             f"sets the rank count, and each launch is one run")


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
    """Start ``--nproc`` torch ranks with torchrun on this node (``--standalone``), after
    :func:`check_launch`: an option error is one line from here, not one per rank."""
    check_launch(args)
    return torchrun(args.argv, args.nproc)


def torchrun(argv: list[str], nproc: int) -> int:
    """Run ``twinmlp argv`` as ``nproc`` torchrun ranks on this node; the exit code."""
    import subprocess

    # The ranks learn their count from the process group; --nproc itself must not reach
    # torchrun's parser, which would read it as an abbreviation of --nproc-per-node.
    passed = [a for i, a in enumerate(argv) if not a.startswith("--nproc")
              and not (i > 0 and argv[i - 1] == "--nproc")]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "twinmlp", *passed,
               "--distributed-worker"]
    return subprocess.run(command, check=False).returncode


def check_launch(args: argparse.Namespace) -> None:
    """What a single-process ``train`` checks before its first epoch, done in the
    launching process before any rank starts: the options, the data, the model and
    training configurations, the device (one GPU per rank) and the run folder."""
    import torch

    from twinmlp.runs import release_run_folders

    if args.backend != "torch":
        raise UsageError("--nproc with --backend both is not supported: pick numpy (ranks "
                         "simulated in one process) or torch (one process per rank)")
    if args.seeds:
        raise UsageError("--nproc does not combine with --seeds")
    data = load_data(args)
    config = model_config(args, data)
    train_config(args, data.name)
    if args.device != "cpu":  # checked without a CUDA context in this process
        if args.device != "cuda" and not args.device.startswith("cuda:"):
            raise UsageError(f"device = {args.device!r} is not allowed: expected 'cpu', "
                             f"'cuda' or 'cuda:N'")
        if torch.cuda.device_count() < args.nproc:
            raise UsageError(f"--nproc {args.nproc} on {args.device} needs one GPU per rank "
                             f"(rank i on cuda:i): torch sees {torch.cuda.device_count()}")
    make_twin("torch", config)  # the sizes, checked on the CPU
    claim_run_folders(args)  # in use, or someone else's files: refused now
    release_run_folders()  # rank 0 claims it for the run


def run_distributed_worker(args: argparse.Namespace) -> int:
    """One torchrun rank: join the process group, train its shards, rank 0 reports."""
    import contextlib
    import io
    import os

    import torch
    import torch.distributed as dist

    from twinmlp.runs import RunRecorder, check_same_data, run_metadata
    from twinmlp.torch_impl.parallel import DataParallelMLP

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resumed = resume_point(args.resume) if args.resume is not None else None
    device = args.device if resumed is None else resumed[0]["device"]
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    try:
        rank = dist.get_rank()
        if resumed is None:
            data = load_data(args)
            training = train_config(args, data.name)
            config, state, folder = model_config(args, data), None, args.out
        else:
            meta, config, training, state = resumed
            folder = args.resume
            data = load_data(args, name=meta["dataset"])
            check_same_data(folder, meta, data)
        model = DataParallelMLP(make_twin("torch", config, device))
        output = contextlib.nullcontext() if rank == 0 else contextlib.redirect_stdout(
            io.StringIO())
        with output:
            print(f"{data.summary()}; {dist.get_world_size()} data-parallel ranks "
                  f"({dist.get_backend()})" + (f"; resuming {folder} after epoch "
                                               f"{state.epoch if state else 0}"
                                               if resumed else ""))
            recorder = RunRecorder(folder if rank == 0 else None,
                                   run_metadata(model, "torch", device, data, training),
                                   resume=state, continuing=resumed is not None,
                                   checkpoint_seconds=args.checkpoint_seconds,
                                   overwrite=args.overwrite)
            train_and_report(model, data, training, recorder, args.quiet or rank != 0)
    finally:
        dist.destroy_process_group()
    return 0


def resume_point(folder: Path) -> tuple[dict[str, Any], ModelConfig, TrainConfig,
                                        TrainState | None]:
    """A run folder's configuration and the state ``--resume`` continues from (``None``:
    from epoch 0), its epoch checkpoint checked against its ``config.json``."""
    from twinmlp.checkpoint import LAST, load_train_state
    from twinmlp.runs import check_same_run, read_run_config, run_work_folder

    work = run_work_folder(folder)
    meta, config, training = read_run_config(work)
    state = None
    if (work / LAST).exists():
        state, checkpoint_meta = load_train_state(work / LAST)
        check_same_run(work, meta, checkpoint_meta)
    return meta, config, training, state


def run_seeds(args: argparse.Namespace, copies: int) -> int:
    """``twinmlp train --seeds 0,1,2``: one run per seed, then mean and spread per twin."""
    # A missing dataset or a bad option fails before any folder is made (the configs
    # are built again per seed).
    data = load_data(args)
    model_config(args, data)
    training = train_config(args, data.name)
    claim_run_folders(args, args.seeds)
    if args.out is not None:  # every seed described first: --resume OUT runs those not begun
        describe_seeds(args, data, training, copies)
    results: dict[str, list[float]] = {}
    code = 0
    for seed in args.seeds:
        print(f"--- seed {seed}")
        one_seed = argparse.Namespace(**{
            **vars(args), "seed": seed, "resume_hint": args.out,
            "out": None if args.out is None else args.out / f"seed{seed}"})
        seed_code, accuracies = train_once(one_seed, copies, data)
        code = max(code, seed_code)
        for backend, value in accuracies.items():
            results.setdefault(backend, []).append(value)
    print_seed_summary(results, args.seeds)
    return code


def describe_seeds(args: argparse.Namespace, data: Dataset, training: TrainConfig,
                   copies: int) -> None:
    """Write a "pending" ``config.json`` for every run of a ``--seeds`` command (beside an
    earlier run: in its staging folder), naming the seeds in order."""
    from twinmlp.runs import RunRecorder, describe_run

    backends = ["numpy", "torch"] if args.backend == "both" else [args.backend]
    for seed in args.seeds:
        config = model_config(argparse.Namespace(**{**vars(args), "seed": seed}), data)
        for backend, folder in zip(backends, run_folders(args.out / f"seed{seed}",
                                                         args.backend), strict=True):
            meta = describe_run(config, args.nproc if backend == "numpy" else 1, backend,
                                backend_device(backend, args.device), data, training)
            meta["seeds"] = list(args.seeds)
            if len(backends) == 2:
                meta["floor_copies"] = copies
            RunRecorder(folder, meta, overwrite=args.overwrite, pending=True)


def print_seed_summary(results: dict[str, list[float]], seeds: list[int]) -> None:
    """The mean and spread of test accuracy per twin over the seeds."""
    import numpy as np

    for backend, values in results.items():
        print(f"{backend}: test accuracy {100 * np.mean(values):.2f} % mean, "
              f"{100 * np.std(values):.2f} % std, min {100 * min(values):.2f} %, "
              f"max {100 * max(values):.2f} % over seeds {','.join(map(str, seeds))}")


def train_once(args: argparse.Namespace, copies: int, data: Dataset | None = None
               ) -> tuple[int, dict[str, float]]:
    """One ``train`` run of one or both twins (on ``data``, else the dataset the options
    name), judged with ``copies`` nudged runs when there are two; returns the exit code and
    test accuracies."""
    from twinmlp.runs import RunRecorder, RunStoppedError, holds_a_run, run_metadata

    # A missing dataset or a bad option fails before any folder is made.
    data = data or load_data(args)
    config = model_config(args, data)
    training = train_config(args, data.name)
    backends = ["numpy", "torch"] if args.backend == "both" else [args.backend]
    models = {backend: make_twin(backend, config, args.device) for backend in backends}
    if args.nproc > 1:  # numpy: the ranks simulated in one process (MATH.md §14)
        from twinmlp.numpy_impl.parallel import DataParallelMLP

        models = {"numpy": DataParallelMLP(models["numpy"], args.nproc)}
    claim_run_folders(args)
    print(data.summary())
    folders = {backend: None if args.out is None else args.out / backend if len(models) == 2
               else args.out for backend in models}
    metas = {backend: run_metadata(model, backend, backend_device(backend, args.device), data,
                                   training) for backend, model in models.items()}
    pair = len(models) == 2
    for meta in metas.values():
        if pair:  # the verdict of a resumed pair is judged the same way
            meta["floor_copies"] = copies
        if getattr(args, "seeds", None):
            meta["seeds"] = list(args.seeds)
    # Both halves described before the first epoch (the torch half "pending"), so that
    # --resume on the parent folder can finish a torch half that Ctrl-C stopped before it
    # began; a pair's rerun replaces the earlier pair only when both halves finished.
    # A pair's halves are staged together, so that a discarded rerun takes both.
    stage = any(holds_a_run(f) for f in folders.values() if f is not None) if pair else None
    recorders = {backend: RunRecorder(folders[backend], metas[backend],
                                      checkpoint_seconds=args.checkpoint_seconds,
                                      overwrite=args.overwrite,
                                      resume_hint=getattr(args, "resume_hint", args.out),
                                      pending=backend != backends[0], commit=not pair,
                                      stage=stage)
                 for backend in models}
    trained = {}
    try:
        for backend, model in models.items():
            trained[backend] = train_and_report(model, data, training, recorders[backend],
                                                args.quiet)
    except RunStoppedError as stop:
        if stop.code != 130:  # a diverged half: the rerun of the pair is dropped whole
            for recorder in recorders.values():
                recorder.discard()
        raise
    for recorder in recorders.values():
        recorder.commit()
    accuracies = {b: accuracy(data.y_test, t.predictions) for b, t in trained.items()}
    if pair:
        passed = parity_verdict(trained, data, config, training, copies)
        return (0 if passed else 1), accuracies
    return 0, accuracies


@dataclass
class TrainedTwin:
    """A twin after training: the model, its history, its test predictions."""

    model: Any
    history: History
    predictions: np.ndarray


def parity_verdict(trained: dict[str, TrainedTwin], data: Dataset, config: ModelConfig,
                   training: TrainConfig, copies: int) -> bool:
    """Print the verdict on two trained twins and return whether they pass: the strict
    tier for float64 runs it covers, else the chaos floor (docs/parity.md, "Whole runs"),
    measured with ``copies`` nudged runs of the numpy twin (0 skips it and leaves a
    float32 run unjudged)."""
    from twinmlp import tolerances
    from twinmlp.parity import (
        RunDifference,
        chaos_floor,
        compare_twins,
        floor_verdict,
    )
    from twinmlp.shared.batching import batch_bounds

    numpy_twin, torch_twin = trained["numpy"], trained["torch"]
    strict = compare_twins(numpy_twin.model.state_dict(), torch_twin.model.state_dict(),
                           numpy_twin.predictions, torch_twin.predictions, config.dtype)
    steps = max(t.history.epochs_run for t in trained.values()) * len(
        batch_bounds(len(data.y_train), training.batch_size))
    if config.dtype == "float64" and (strict.passed or steps <= tolerances.TRAJECTORY_STEPS):
        print(strict.line())
        return strict.passed
    twins = RunDifference.between(torch_twin.model.state_dict(), torch_twin.predictions,
                                  numpy_twin.model.state_dict(), numpy_twin.predictions,
                                  data.y_test)
    if copies == 0:
        print(f"parity not judged (--floor-copies 0): twins agree on "
              f"{100 * twins.agreement:.2f} % of test predictions, accuracy gap "
              f"{100 * twins.accuracy_gap:.2f} %, parameter distance {twins.distance:.1e}")
        return True
    seconds = sum(numpy_twin.history.seconds)
    print(f"chaos floor: training {copies} copies of numpy from weights nudged by one ulp "
          f"(about {copies * seconds:.0f} s; --floor-copies 0 skips this)")
    floor = chaos_floor(config, training, data, numpy_twin.model.state_dict(),
                        numpy_twin.predictions, copies)
    verdict = floor_verdict(config.dtype, "numpy", twins, floor, len(data.y_test))
    print(verdict.line())
    return verdict.passed


def run_resume(args: argparse.Namespace) -> int:
    """``twinmlp train --resume RUN_DIR``: continue from the run's epoch checkpoint. A
    folder of a ``--backend both`` run resumes each half, then judges the pair as the
    uninterrupted run would have, with the same exit code; a folder of a ``--seeds`` run
    does that for every seed (starting those that had not begun) and prints the summary."""
    from twinmlp.runs import claim_run_folder, read_run_config, run_work_folder

    groups = resume_groups(args.resume)
    leaves = [leaf for _, group in groups for leaf in group]
    for leaf in leaves:
        read_run_config(run_work_folder(leaf))  # a folder that is no run is refused, not made one
    for leaf in leaves:  # a run still going holds its lock: fail now, not after one half
        claim_run_folder(leaf, overwrite=True)
    code, results = 0, {}
    for seed, group in groups:
        if seed is not None:
            print(f"--- seed {seed}")
        group_code, accuracies = resume_group(group, args)
        code = max(code, group_code)
        for backend, value in accuracies.items():
            results.setdefault(backend, []).append(value)
    if groups[0][0] is not None:
        print_seed_summary(results, [seed for seed, _ in groups])
    return code


def resume_groups(folder: Path) -> list[tuple[int | None, list[Path]]]:
    """The run folders under ``folder`` that ``--resume`` continues, by seed (``None``
    outside ``--seeds``): ``folder`` itself, or its ``numpy``/``torch`` halves, or for a
    ``--seeds`` run the halves or folder of each seed, in the recorded order."""
    from twinmlp.runs import read_run_config, run_work_folder

    def leaves(base: Path) -> list[Path]:
        halves = [base / b for b in ("numpy", "torch") if is_run(base / b)]
        return halves if halves and not is_run(base) else [base]

    def is_run(path: Path) -> bool:
        return (run_work_folder(path) / "config.json").exists()

    found = leaves(folder)
    seeded = sorted(folder.glob("seed*"))
    if is_run(found[0]) or not seeded:
        return [(None, found)]
    first = leaves(seeded[0])[0]
    meta = read_run_config(run_work_folder(first))[0]
    seeds = meta.get("seeds")
    if not (isinstance(seeds, list) and seeds and all(type(s) is int for s in seeds)):
        return [(None, found)]
    return [(seed, leaves(folder / f"seed{seed}")) for seed in seeds]


def resume_group(leaves: list[Path], args: argparse.Namespace
                 ) -> tuple[int, dict[str, float]]:
    """Resume one run or one pair (committed together); returns the exit code (the
    pair's verdict) and the test accuracy of each twin."""
    from twinmlp.runs import commit_rerun

    pair = len(leaves) == 2
    trained = [resume_one(leaf, args, commit=not pair) for leaf in leaves]
    for leaf in leaves:  # a pair's halves replace the earlier pair together
        commit_rerun(leaf)
    halves = {leaf.name if pair else "": twin or trained_from_folder(leaf)
              for leaf, twin in zip(leaves, trained, strict=True)}
    meta, config, training = read_run_config_of(leaves[0])
    data = load_data(args, name=meta["dataset"])
    accuracies = {load_backend(leaf): accuracy(data.y_test, twin.predictions)
                  for leaf, twin in zip(leaves, halves.values(), strict=True)}
    if not pair:
        return 0, accuracies
    copies = meta.get("floor_copies", floor_copies(None))
    return (0 if parity_verdict(halves, data, config, training, copies) else 1), accuracies


def resume_ranks(folder: Path, args: argparse.Namespace, nproc: int, commit: bool
                 ) -> TrainedTwin | None:
    """Resume a torch run of ``nproc`` ranks as it ran: torchrun starts them again (the
    folder is handed over to rank 0); the finished run is read back from its folder."""
    from twinmlp.runs import RunStoppedError, release_run_folders

    if not commit:
        raise UsageError(f"{folder}: a run of {nproc} torch ranks is not half of a pair")
    release_run_folders()
    argv = ["train", "--resume", str(folder), "--checkpoint-seconds",
            str(args.checkpoint_seconds), *(["--quiet"] if args.quiet else [])]
    code = torchrun(argv, nproc)
    if code != 0:
        raise RunStoppedError(f"the {nproc} torch ranks resuming {folder} ended with exit "
                              f"code {code}", code)
    return trained_from_folder(folder)


def read_run_config_of(folder: Path) -> tuple[dict[str, Any], ModelConfig, TrainConfig]:
    """The configuration of the run in ``folder`` (after its rerun was committed)."""
    from twinmlp.runs import read_run_config, run_work_folder

    return read_run_config(run_work_folder(folder))


def load_backend(folder: Path) -> str:
    """The backend of the run in ``folder``."""
    return read_run_config_of(folder)[0]["backend"]


def trained_from_folder(folder: Path) -> TrainedTwin:
    """A finished run read back from its folder: the model, history and predictions."""
    from twinmlp.checkpoint import LAST, build_model, load_checkpoint, load_train_state

    run = load_checkpoint(folder)
    if run.test_predictions is None:
        raise UsageError(f"{folder / 'model.safetensors'} holds no test predictions")
    history = load_train_state(folder / LAST)[0].history
    return TrainedTwin(build_model(run, run.meta["backend"], run.meta["device"]), history,
                       run.test_predictions)


def resume_one(folder: Path, args: argparse.Namespace, commit: bool = True
               ) -> TrainedTwin | None:
    """Resume one run folder (or say it finished); a run stopped before its first epoch
    checkpoint starts from epoch 0, which gives the same result. ``commit=False`` leaves
    a finished rerun in its staging folder (the caller commits a pair together)."""
    from twinmlp.runs import (
        RunRecorder,
        check_same_data,
        read_run_config,
        run_metadata,
        run_work_folder,
    )

    work = run_work_folder(folder)
    meta, config, training = read_run_config(work)
    if meta["status"] == "finished":
        print(f"{folder}: this run already finished; nothing to resume")
        return None
    meta, config, training, state = resume_point(folder)
    if meta["backend"] == "torch" and meta.get("nproc", 1) > 1:
        return resume_ranks(folder, args, meta["nproc"], commit)
    data = load_data(args, name=meta["dataset"])
    check_same_data(work, meta, data)
    model = make_twin(meta["backend"], config, meta["device"])
    if meta.get("nproc", 1) > 1:  # numpy's simulated ranks (torch's: resume_ranks)
        from twinmlp.numpy_impl.parallel import DataParallelMLP

        model = DataParallelMLP(model, meta["nproc"])
    epoch = state.epoch if state is not None else 0
    print(f"{data.summary()}; resuming {work} after epoch {epoch}")
    run_meta = run_metadata(model, meta["backend"], meta["device"], data, training)
    run_meta.update({key: meta[key] for key in ("floor_copies", "seeds") if key in meta})
    recorder = RunRecorder(folder, run_meta, resume=state,
                           checkpoint_seconds=args.checkpoint_seconds, resume_hint=args.resume,
                           commit=commit, continuing=True)
    return train_and_report(model, data, training, recorder, args.quiet)


def train_and_report(model: Any, data: Dataset, training: TrainConfig,
                     recorder: RunRecorder, quiet: bool) -> TrainedTwin:
    """Train one twin (from ``recorder.resume`` when given), print its line, and let
    ``recorder`` fill its run folder; returns the trained twin. A stop or failure is
    recorded and raised by :meth:`RunRecorder.recording`."""
    from twinmlp.arrays import to_numpy

    meta, resume = recorder.meta, recorder.resume
    ranks = f" ×{meta['nproc']} ranks" if meta["nproc"] > 1 else ""
    started = time.perf_counter()
    with recorder.recording():
        history = model.fit(data.X_train, data.y_train, data.X_val, data.y_val,
                            verbose=not quiet, resume=resume, on_epoch_end=recorder.epoch_end,
                            **training.to_dict())
        seconds = time.perf_counter() - started
        predictions = to_numpy(model.predict(data.X_test))
        stop = (f", stopped early, best epoch {history.best_epoch}" if history.stopped_early
                else "")
        per_epoch = 1000 * seconds / max(1, history.epochs_run
                                         - (resume.epoch if resume else 0))
        print(f"{meta['backend']:<5} ({meta['device']}, {model.config.dtype}{ranks}): test "
              f"accuracy {100 * accuracy(data.y_test, predictions):.2f} % "
              f"({history.epochs_run} epochs{stop}; {seconds:.1f} s, {per_epoch:.1f} ms/epoch)")
        recorder.finish(model, data, history, predictions, seconds)
    if recorder.folder is not None:
        print(f"      run folder: {recorder.folder}")
    return TrainedTwin(model, history, predictions)
