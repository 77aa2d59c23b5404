"""``twinmlp parity``: the twins trained in lock-step, their drift per tensor; ``--ops``:
every intermediate of one step."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from twinmlp.commands.options import (
    add_dataset_options,
    add_floor_copies,
    add_model_options,
    add_threads,
)

NAME = "parity"
HELP = "train the twins in lock-step and report their drift per tensor"
USES_TORCH = True

if TYPE_CHECKING:
    from twinmlp.shared.config import ModelConfig
    from twinmlp.shared.data import Dataset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``parity`` options."""
    parser.description = (
        "Train numpy_impl, torch_impl on the CPU and (where present) on CUDA in lock-step; "
        "after every step record the relative difference of every gradient and parameter; "
        "print a table, write drift.csv and drift.png; exit 1 when a tolerance of the parity "
        "tiers is broken (docs/parity.md). --ops instead compares every intermediate of one "
        "training step.")
    add_dataset_options(parser)
    add_model_options(parser, default_dtype="float64")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (default: 3)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    parser.add_argument("--weight-decay", type=float, default=1e-4,
                        help="L2 strength λ (MATH.md §6; default: 1e-4)")
    parser.add_argument("--no-cuda", action="store_true",
                        help="leave out the CUDA twin even where a GPU exists")
    parser.add_argument("--shadow", action="store_true",
                        help="float32: also train a float64 numpy twin from the same start "
                             "and batches, and report which twin stays closer to it")
    add_floor_copies(parser, "runs beyond the strict tiers (float32, float64 past 1,000 "
                             "steps) are judged against K numpy copies nudged by one ulp, "
                             "trained in the same loop (default: 3; 0: not judged)")
    parser.add_argument("--ops", action="store_true",
                        help="compare every intermediate of one training step (Z, A, P, "
                             "loss, G, dW, db, new W) in float32 and float64 and name the "
                             "first operation whose bits differ; no lock-step run, no files")
    parser.add_argument("--out", type=Path, default=Path("runs/parity"),
                        help="folder for drift.csv and drift.png (default: runs/parity)")
    add_threads(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """The drift table, drift.csv and drift.png; exit 1 on a break. With ``--ops``: the
    per-operation table of one step (``twinmlp.ops``), and no files."""
    import torch

    from twinmlp.parity import check_floor_is_used
    from twinmlp.shared.config import TrainConfig
    from twinmlp.shared.errors import UsageError
    from twinmlp.training import floor_copies, load_data, model_config

    copies = floor_copies(args.floor_copies)
    if args.shadow and args.dtype != "float32":
        raise UsageError("--shadow runs a float64 twin beside float32 ones: add --dtype float32")
    TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                weight_decay=args.weight_decay)  # validates the values
    data = load_data(args)
    config = model_config(args, data)
    if args.floor_copies and not args.ops:
        check_floor_is_used(args.floor_copies, config.dtype, args.epochs, args.batch_size,
                            len(data.y_train))
    if not args.ops:  # --ops writes nothing
        from twinmlp.files import ensure_folder

        ensure_folder(args.out, "--out folder")  # before the computing, not after
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.no_cuda else [])
    if args.ops:
        print_ops(data, config, devices, args.batch_size, args.lr, args.weight_decay)
        return 0
    return lockstep_report(args, data, config, devices, copies)


def print_ops(data: Dataset, config: ModelConfig, devices: list[str], batch_size: int, lr: float,
              weight_decay: float) -> None:
    """One step compared operation by operation, per dtype and device."""
    from twinmlp.ops import compare_step, format_table

    for dtype in ("float32", "float64"):
        for device in devices:
            rows = compare_step(data, config, dtype, device, batch_size, lr, weight_decay)
            print(format_table(rows, f"one step, {dtype}, numpy vs torch-{device}, "
                                     f"{data.name}, batch {batch_size}"))


def lockstep_report(args: argparse.Namespace, data: Dataset, config: ModelConfig,
                    devices: list[str], copies: int) -> int:
    """Train in lock-step, write drift.csv and drift.png, print the table and verdicts."""
    from twinmlp import tolerances
    from twinmlp.drift import lockstep
    from twinmlp.files import atomic_write_text, write_set
    from twinmlp.plots import plot_drift

    print(f"{data.summary()}; lock-step numpy vs torch on {', '.join(devices)}, "
          f"{config.dtype}, {args.epochs} epochs" + (", float64 shadow" if args.shadow else ""))
    result = lockstep(data, config, devices, args.epochs, args.batch_size, args.lr,
                      args.weight_decay, verbose=not args.quiet, shadow=args.shadow,
                      floor_copies=copies)

    def write(folder: Path) -> None:
        atomic_write_text(folder / "drift.csv", result.csv())
        plot_drift(result.steps, result.series, {config.dtype: result.tolerance},
                   folder / "drift.png",
                   f"numpy_impl vs torch_impl, {data.name}, {config.dtype}, lr {args.lr}",
                   shadow=result.shadow)

    write_set(args.out, write)  # drift.csv and drift.png: the old pair or the new one
    horizon = min(len(result.steps), tolerances.TRAJECTORY_STEPS)
    print(f"{'tensor':<24} {'max difference':>15} {'at step':>8} {'tolerance':>10}  verdict"
          f"  (steps 1–{horizon})")
    for name, peak, step, tolerance, ok in result.rows():
        print(f"{name:<24} {peak:>15.3e} {step:>8d} {tolerance:>10.0e}  "
              f"{'ok' if ok else 'BROKEN'}")
    for name, agreement in result.agreement.items():
        print(f"{name} test predictions identical to numpy: {100 * agreement:.2f} %")
    for name, verdict in result.floors.items():
        print(f"{name}: {verdict.line()}")
    if result.shadow:
        print(result.shadow_summary())
    # Exit 1 only on a break; a run --floor-copies 0 left unjudged says so and exits 0.
    judged = result.strict_only or bool(result.floors)
    verdict = "PASS" if result.passed else "FAIL"
    if not judged and result.passed:
        verdict = (f"NOT JUDGED (steps 1–{horizon} within tolerance; the whole run is "
                   f"beyond the strict tiers and --floor-copies 0 measured no floor)")
    print(f"parity {verdict}; wrote {args.out / 'drift.csv'} and {args.out / 'drift.png'}")
    return 0 if result.passed else 1
