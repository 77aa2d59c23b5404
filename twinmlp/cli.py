"""The ``twinmlp`` command line: train, evaluate, parity, show, bench, data.

Parsing and the small commands live here; ``twinmlp train`` runs in ``twinmlp.training``.

Every expected failure (bad option values, missing data, a damaged checkpoint) ends in one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from twinmlp import __version__
from twinmlp.shared.config import (
    ACTIVATION_NAMES,
    DROPOUT_RNG_NAMES,
    DTYPE_NAMES,
    INIT_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    TrainConfig,
)
from twinmlp.shared.data import DATASET_NAMES, default_data_root
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.metrics import accuracy
from twinmlp.training import (
    RunStoppedError,
    UsageError,
    load_data,
    model_config,
    run_train,
)

EXAMPLES = """\
examples:
  twinmlp train                                   # both twins on digits, the notebook's setup
  twinmlp train --backend numpy --dtype float64 --out runs/digits
  twinmlp data import fashion-mnist /usr/share/datasets/fashion-mnist
  twinmlp train --backend torch --dataset fashion-mnist --out runs/fashion
  twinmlp evaluate runs/fashion --backend numpy   # a torch checkpoint, evaluated by NumPy
  twinmlp parity --epochs 3 --out runs/parity     # drift table, drift.csv, drift.png
  twinmlp show MLP.backward_pass                      # the two implementations side by side
"""

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="twinmlp", description="One MLP written twice (NumPy and torch), held equal.",
        epilog=EXAMPLES, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"twinmlp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (_add_train_command, _add_evaluate_command, _add_parity_command,
                        _add_show_command, _add_bench_command, _add_data_command):
        add_command(commands, formatter)
    from twinmlp.commands import check, exercise  # modules with NAME, HELP, add_arguments, run
    for module in (check, exercise):
        sub = commands.add_parser(module.NAME, help=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _add_train_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``train`` subcommand's options."""
    train = commands.add_parser(
        "train", help="train one twin or both; report accuracy (and parity with both)",
        description="Train on a dataset and print test accuracy; with --backend both (the "
                    "default) train both twins from one seed and print the parity verdict.",
        epilog=EXAMPLES, formatter_class=formatter)
    train.add_argument("--backend", choices=("both", "numpy", "torch"), default="both",
                       help="which twin to train (default: both, then compare them)")
    _add_device(train)
    _add_dataset_options(train)
    _add_model_options(train, default_dtype="float32")
    _add_training_options(train)
    train.add_argument("--out", type=Path, default=None,
                       help="run folder for config.json, history.csv, model.safetensors, "
                            "curves.png, confusion.png (with --backend both: one subfolder "
                            "per backend)")
    train.add_argument("--nproc", type=int, default=1,
                       help="data-parallel ranks (MATH.md §14): with --backend torch, "
                            "torchrun starts N processes (gloo on cpu, NCCL on cuda, one GPU "
                            "per rank); with --backend numpy, N ranks simulated in one process "
                            "(default: 1)")
    train.add_argument("--distributed-worker", action="store_true",
                       help="run as one rank of a torchrun launch you started yourself "
                            "(docs/distributed.md); --nproc does this for one node")
    train.add_argument("--checkpoint-seconds", type=float, default=10.0, metavar="S",
                       help="with --out, rewrite the epoch checkpoint last.safetensors at most "
                            "every S seconds (0: after every epoch), and always when training "
                            "stops (default: 10)")
    train.add_argument("--seeds", type=_int_list, default=None,
                       help="comma-separated seeds: one run per seed, then the mean and "
                            "spread of test accuracy per twin (with --out: one subfolder each)")
    train.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                       help="continue an interrupted run from its epoch checkpoint, with the "
                            "run's own configuration (other options are ignored); the result "
                            "is bit-identical to an uninterrupted run")
    train.add_argument("--floor-copies", type=int, default=None, metavar="K",
                       help="with --backend both, runs beyond the strict parity tiers (float32, "
                            "float64 past 1,000 steps) are judged against K copies of the numpy "
                            "twin trained from weights nudged by one ulp; each costs one more "
                            "numpy run, 0 skips the verdict (default: 3; docs/parity.md)")
    train.add_argument("--overwrite", action="store_true",
                       help="write the run into an --out folder that holds files twinmlp did "
                            "not write (its run files are replaced, other files left alone); "
                            "without it such a folder is refused")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)


def _add_evaluate_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``evaluate`` subcommand's options."""
    evaluate = commands.add_parser(
        "evaluate", help="load a checkpoint into either backend and score it on the test set",
        description="Load a checkpoint written by either backend into the chosen backend and "
                    "report test accuracy and agreement with the training run's predictions.",
        epilog=EXAMPLES, formatter_class=formatter)
    evaluate.add_argument("checkpoint", type=Path,
                          help="a run folder or a .safetensors checkpoint")
    evaluate.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                          help="backend to evaluate with (default: numpy)")
    _add_device(evaluate)
    evaluate.add_argument("--data-root", type=Path, default=None,
                          help="folder of downloaded or imported datasets (default: "
                               "$TWINMLP_DATA or the user cache)")
    evaluate.set_defaults(handler=run_evaluate)


def _add_parity_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``parity`` subcommand's options."""
    parity = commands.add_parser(
        "parity", help="train the twins in lock-step and report their drift per tensor",
        description="Train numpy_impl, torch_impl on the CPU and (where present) on CUDA "
                    "in lock-step; after every step record the relative difference of every "
                    "gradient and parameter; print a table, write drift.csv and drift.png; "
                    "exit 1 when a tolerance of the parity tiers is broken (docs/parity.md). "
                    "--ops instead compares every intermediate of one training step.",
        epilog=EXAMPLES, formatter_class=formatter)
    _add_dataset_options(parity)
    _add_model_options(parity, default_dtype="float64")
    parity.add_argument("--epochs", type=int, default=3, help="epochs (default: 3)")
    parity.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parity.add_argument("--lr", type=float, default=0.01, help="learning rate (default: 0.01)")
    parity.add_argument("--weight-decay", type=float, default=1e-4,
                        help="L2 strength λ (MATH.md §6; default: 1e-4)")
    parity.add_argument("--no-cuda", action="store_true",
                        help="leave out the CUDA twin even where a GPU exists")
    parity.add_argument("--shadow", action="store_true",
                        help="float32: also train a float64 numpy twin from the same start and "
                             "batches, and report which twin stays closer to it")
    parity.add_argument("--floor-copies", type=int, default=None, metavar="K",
                        help="runs beyond the strict tiers (float32, float64 past 1,000 steps) "
                             "are judged against K numpy copies nudged by one ulp, trained in "
                             "the same loop (default: 3; 0: not judged)")
    parity.add_argument("--ops", action="store_true",
                        help="compare every intermediate of one training step (Z, A, P, loss, "
                             "G, dW, db, new W) in float32 and float64 and name the first "
                             "operation whose bits differ; no lock-step run")
    parity.add_argument("--out", type=Path, default=Path("runs/parity"),
                        help="folder for drift.csv and drift.png (default: runs/parity)")
    parity.add_argument("--quiet", action="store_true", help="no progress bar")
    parity.set_defaults(handler=run_parity)


def _add_show_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``show`` subcommand's options."""
    show = commands.add_parser(
        "show", help="print the NumPy and torch implementations of NAME side by side",
        description="Print numpy_impl's and torch_impl's source of NAME in two columns; "
                    "'≠' marks lines that differ.", epilog=EXAMPLES, formatter_class=formatter)
    show.add_argument("name", help="a function or method: softmax, MLP.forward, "
                                   "MLP.backward_pass, SGD.step, …")
    show.add_argument("--width", type=int, default=None,
                      help="total width in characters (default: the terminal's)")
    show.set_defaults(handler=run_show)


def _add_bench_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``bench`` subcommand's options."""
    bench = commands.add_parser(
        "bench", help="seconds per epoch of the twins against torch-autograd and scikit-learn",
        description="Time whole training epochs (float32) over a grid of backend × device × "
                    "batch size × hidden widths, beside the anchors torch nn.Sequential + "
                    "autograd + optim.SGD and scikit-learn's MLPClassifier(solver='sgd'), "
                    "each epoch alternating with one of the floor: the first layer's two "
                    "products (X_b @ W1, X_bᵀ @ G1) alone, in the same library. Report the "
                    "machine (CPU, instruction set, each library's BLAS and threads), s/epoch "
                    "(median, min–max), the ratio to the floor, samples/s, GFLOP/s and the "
                    "share of the float32 matmul peak measured in the same run. Writes "
                    "bench.json, bench.csv, bench.png.",
        epilog="examples:\n  twinmlp bench --out docs/bench\n"
               "  twinmlp bench --dataset digits --hidden 32 --batch-sizes 64\n"
               "  twinmlp bench --devices cpu,cuda --batch-sizes 128,4096 --no-anchors",
        formatter_class=formatter)
    bench.add_argument("--dataset", choices=("random", *DATASET_NAMES), default="random",
                       help="random data of MNIST shape (60,000 × 784, offline; default) or a "
                            "real dataset's training split")
    bench.add_argument("--data-root", type=Path, default=None, help="data root")
    bench.add_argument("--samples", type=int, default=None,
                       help="use the first N training rows (default: all)")
    bench.add_argument("--backends", type=_name_list, default=["numpy", "torch"],
                       help="comma-separated twins to time (default: numpy,torch)")
    bench.add_argument("--devices", type=_name_list, default=None,
                       help="comma-separated torch devices (default: cpu, plus cuda where "
                            "present)")
    bench.add_argument("--batch-sizes", type=_int_list, default=[32, 128, 512, 2048],
                       help="comma-separated batch sizes (default: 32,128,512,2048)")
    bench.add_argument("--hidden", type=_int_list, action="append", default=None,
                       help="hidden widths, comma-separated; repeat for several "
                            "architectures (default: 256)")
    bench.add_argument("--repeats", type=int, default=3,
                       help="timed epochs per cell; the median is reported (default: 3)")
    bench.add_argument("--warmup", type=int, default=1, help="untimed epochs first (default: 1)")
    bench.add_argument("--no-anchors", action="store_true",
                       help="time the twins only, not torch-autograd and scikit-learn")
    bench.add_argument("--scaling", type=_int_list, default=None, metavar="N,N",
                       help="also time data-parallel torch training with these process "
                            "counts (e.g. 1,2), each a real torchrun launch (MATH.md §14)")
    bench.add_argument("--scaling-epochs", type=int, default=4,
                       help="epochs per scaling run; the first is not counted (default: 4)")
    bench.add_argument("--out", type=Path, default=Path("runs/bench"),
                       help="folder for bench.json, bench.csv, bench.png (default: runs/bench)")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(handler=run_bench_command)


def _add_data_command(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The ``data`` subcommand's options."""
    data = commands.add_parser("data", help="list datasets, import IDX folders",
                               description="Manage the datasets under the data root.",
                               epilog=EXAMPLES, formatter_class=formatter)
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    listing = data_commands.add_parser("list", help="show which datasets are ready")
    listing.add_argument("--data-root", type=Path, default=None, help="data root")
    listing.set_defaults(handler=run_data_list)
    importing = data_commands.add_parser(
        "import", help="place a folder of the four IDX .gz files into torchvision's layout",
        description="Check the MD5 of each .gz file (torchvision's, or the known content) "
                    "and unzip them into DATA_ROOT/<Class>/raw/.")
    importing.add_argument("name", choices=("mnist", "fashion-mnist"))
    importing.add_argument("folder", type=Path, help="folder holding the four .gz files")
    importing.add_argument("--data-root", type=Path, default=None, help="data root")
    importing.set_defaults(handler=run_data_import)


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu",
                        help="torch device: cpu, cuda or cuda:N (default: cpu)")


def _add_dataset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="digits",
                        help="dataset (default: digits, bundled with scikit-learn)")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder of downloaded or imported datasets (default: "
                             "$TWINMLP_DATA or ~/.cache/twinmlp/datasets)")
    parser.add_argument("--download", action="store_true",
                        help="download MNIST/Fashion-MNIST through torchvision if missing")


def _add_model_options(parser: argparse.ArgumentParser, default_dtype: str) -> None:
    parser.add_argument("--layers", type=_int_list, default=None,
                        help="comma-separated layer sizes, inputs first, e.g. 784,256,10 "
                             "(default: FEATURES,32,CLASSES on digits, FEATURES,256,CLASSES "
                             "on the MNIST family)")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES, default="leaky_relu",
                        help="hidden activation (default: leaky_relu)")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="negative slope of leaky_relu (default: 0.01)")
    parser.add_argument("--init", choices=INIT_NAMES, default="he_normal",
                        help="weight initialisation (default: he_normal)")
    parser.add_argument("--dtype", choices=DTYPE_NAMES, default=default_dtype,
                        help=f"computation dtype (default: {default_dtype})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial parameters and the batch order (default: 0)")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=None,
                        help="maximum epochs (default: 2000 on digits, 30 on the MNIST family)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="mini-batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 0.001 on digits, 0.05 on the MNIST family)")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="L2 strength λ, normalised by the training-set size "
                             "(MATH.md §6; default: 1e-4)")
    parser.add_argument("--patience", type=_optional_int, default=None,
                        help="early-stopping patience in epochs on the validation loss, or "
                             "'none' (default: 10 on digits, 5 on the MNIST family)")
    parser.add_argument("--min-delta", type=float, default=0.0,
                        help="smallest validation-loss drop that counts (default: 0)")
    group = parser.add_argument_group("optimizer, schedule and dropout (MATH.md §11–§13)")
    group.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="sgd",
                       help="sgd, momentum, nesterov, adam or adamw (default: sgd)")
    group.add_argument("--momentum", type=float, default=0.9,
                       help="momentum μ of momentum/nesterov (default: 0.9)")
    group.add_argument("--beta1", type=float, default=0.9, help="Adam β₁ (default: 0.9)")
    group.add_argument("--beta2", type=float, default=0.999, help="Adam β₂ (default: 0.999)")
    group.add_argument("--eps", type=float, default=1e-8, help="Adam ε (default: 1e-8)")
    group.add_argument("--schedule", choices=SCHEDULE_NAMES, default="constant",
                       help="learning-rate schedule: constant, step or cosine (with linear "
                            "warm-up) (default: constant)")
    group.add_argument("--step-size", type=int, default=10,
                       help="epochs between decays of the step schedule (default: 10)")
    group.add_argument("--gamma", type=float, default=0.1,
                       help="decay factor of the step schedule (default: 0.1)")
    group.add_argument("--warmup-epochs", type=int, default=0,
                       help="linear warm-up epochs of the cosine schedule (default: 0)")
    group.add_argument("--min-lr", type=float, default=0.0,
                       help="final learning rate of the cosine schedule (default: 0)")
    group.add_argument("--dropout", type=float, default=0.0,
                       help="dropout rate p on hidden layers (default: 0, off)")
    group.add_argument("--dropout-rng", choices=DROPOUT_RNG_NAMES, default="shared",
                       help="shared: masks from the shared seeded generator (parity holds); "
                            "device: the torch twin draws them on its device (default: shared)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with cuda_numerics(args):
            return args.handler(args)
    except RunStoppedError as stop:
        print(f"twinmlp: {stop}", file=sys.stderr)
        return stop.code
    except TwinMLPError as error:  # the project's own checks; anything else is a bug
        print(f"twinmlp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twinmlp: interrupted", file=sys.stderr)
        return 130
    finally:
        from twinmlp.runs import release_run_folders

        release_run_folders()


def cuda_numerics(args: argparse.Namespace) -> AbstractContextManager[Any]:
    """Exact CUDA numerics (IEEE float32 products, deterministic algorithms; README: CUDA
    numerics) around a command that may run on a GPU; nothing for the others."""
    uses_torch = args.handler in (run_parity, run_bench_command) or str(
        getattr(args, "device", "cpu")).startswith("cuda")
    if not uses_torch:
        return nullcontext()
    from twinmlp.torch_impl.cuda import exact_cuda_numerics

    return exact_cuda_numerics()


def run_evaluate(args: argparse.Namespace) -> int:
    """``twinmlp evaluate``: a checkpoint of either backend, scored by the chosen one."""
    import numpy as np

    from twinmlp.checkpoint import CheckpointError, build_model, load_checkpoint
    from twinmlp.parity import to_numpy

    checkpoint = load_checkpoint(args.checkpoint)
    meta = checkpoint.meta
    data = load_data(args, name=meta["dataset"])
    if checkpoint.scaler is not None and not (
            np.array_equal(checkpoint.scaler.mean, data.scaler.mean)
            and np.array_equal(checkpoint.scaler.scale, data.scaler.scale)):
        raise UsageError(f"the {data.name} data under this data root is scaled differently "
                         f"from the data {args.checkpoint} was trained on")
    model = build_model(checkpoint, args.backend, args.device)
    predictions = to_numpy(model.predict(data.X_test))
    device = "cpu" if args.backend == "numpy" else args.device
    line = (f"{args.checkpoint}: trained by {meta['backend']} ({meta['device']}, "
            f"{meta['dtype']}) on {data.name}; evaluated by {args.backend} ({device}): "
            f"test accuracy {100 * accuracy(data.y_test, predictions):.2f} %")
    if checkpoint.test_predictions is not None:
        if checkpoint.test_predictions.shape != predictions.shape:
            raise CheckpointError(
                f"checkpoint {args.checkpoint}: test_predictions holds "
                f"{len(checkpoint.test_predictions)} predictions but the {data.name} test set "
                f"has {len(predictions)} rows; the file does not belong to this dataset")
        agreement = np.mean(predictions == checkpoint.test_predictions)
        line += f", identical predictions to the training run {100 * agreement:.2f} %"
    print(line)
    return 0


def run_parity(args: argparse.Namespace) -> int:
    """``twinmlp parity``: lock-step drift table, drift.csv, drift.png; exit 1 on a break.
    With ``--ops``: the per-operation table of one step (``twinmlp.ops``)."""
    import torch

    from twinmlp import tolerances
    from twinmlp.drift import lockstep
    from twinmlp.files import ensure_folder, write_set
    from twinmlp.plots import plot_drift

    ensure_folder(args.out, "--out folder")  # before the computing, not after
    data = load_data(args)
    config = model_config(args, data)
    TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                weight_decay=args.weight_decay)  # validates the values
    copies = tolerances.FLOOR_COPIES if args.floor_copies is None else args.floor_copies
    if copies < 0:
        raise UsageError(f"--floor-copies {copies} is not allowed: expected an integer >= 0")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.no_cuda else [])
    if args.ops:
        from twinmlp.ops import compare_step, format_table

        for dtype in ("float32", "float64"):
            for device in devices:
                rows = compare_step(data, config, dtype, device, args.batch_size, args.lr,
                                    args.weight_decay)
                print(format_table(rows, f"one step, {dtype}, numpy vs torch-{device}, "
                                         f"{data.name}, batch {args.batch_size}"))
        return 0
    if args.shadow and config.dtype != "float32":
        raise UsageError("--shadow runs a float64 twin beside float32 ones: add --dtype float32")
    shadow = args.shadow
    print(f"{data.summary()}; lock-step numpy vs torch on {', '.join(devices)}, "
          f"{config.dtype}, {args.epochs} epochs" + (", float64 shadow" if shadow else ""))
    result = lockstep(data, config, devices, args.epochs, args.batch_size, args.lr,
                      args.weight_decay, verbose=not args.quiet, shadow=shadow,
                      floor_copies=copies)

    def write(folder: Path) -> None:
        write_drift_csv(result, folder / "drift.csv")
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
    if not result.strict_only and not result.floors:
        print("whole run not judged: beyond the strict tiers and --floor-copies 0")
    if result.shadow:
        print(result.shadow_summary())
    print(f"parity {'PASS' if result.passed else 'FAIL'}; wrote {args.out / 'drift.csv'} "
          f"and {args.out / 'drift.png'}")
    return 0 if result.passed else 1


def write_drift_csv(result: Any, path: Path) -> None:
    """One row per step, one column per tensor; with the float64 shadow one more column per
    twin (``shadow numpy``, ``shadow torch-cpu``: its largest relative parameter
    difference to the shadow)."""
    from twinmlp.files import atomic_write_text

    columns = {**result.series,
               **{f"shadow {name}": values for name, values in result.shadow.items()}}
    names = list(columns)
    lines = [",".join(["step", *names])]
    for i, step in enumerate(result.steps):
        lines.append(",".join([str(step), *(f"{columns[n][i]:.6e}" for n in names)]))
    atomic_write_text(path, "\n".join(lines) + "\n")


def run_show(args: argparse.Namespace) -> int:
    """``twinmlp show NAME``."""
    from twinmlp.show import side_by_side

    print(side_by_side(args.name, args.width))
    return 0


def run_bench_command(args: argparse.Namespace) -> int:
    """``twinmlp bench``: the grid, a table on screen, JSON, CSV and PNG."""
    import numpy as np
    import torch

    from twinmlp import bench
    from twinmlp.files import ensure_folder, write_set

    check_bench_options(args)
    ensure_folder(args.out, "--out folder")  # before the grid, not after
    if args.dataset == "random":
        rng = np.random.default_rng(0)
        n = args.samples or 60000
        X = rng.standard_normal((n, 784)).astype(np.float32)
        y = rng.integers(0, 10, size=n)
        n_classes, source = 10, f"random data of MNIST shape ({n} × 784)"
    else:
        data = load_data(args, name=args.dataset)
        rows = slice(0, args.samples)
        X, y = data.X_train[rows].astype(np.float32), data.y_train[rows]
        n_classes, source = data.n_classes, f"{data.name} training split ({len(y)} rows)"
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    cells = bench.plan(args.backends, devices, args.batch_sizes, args.hidden or [[256]],
                       anchors=not args.no_anchors)
    info = bench.machine()
    print(bench.machine_line(info))
    print(f"bench: {source}, float32, {len(cells)} cells and their floors, median of "
          f"{args.repeats} epochs after {args.warmup} warm-up")
    results, peaks = bench.run_bench(X, y, n_classes, cells, args.warmup, args.repeats,
                                     verbose=not args.quiet)
    print(bench.table(results, peaks))
    scaling = []
    if args.scaling:
        for device in devices:
            scaling += bench.scaling(args.dataset, args.data_root, args.scaling, device,
                                     args.batch_sizes, args.hidden or [[256]],
                                     args.scaling_epochs, X.shape[1], n_classes)
        print(bench.scaling_table(scaling))
    meta = {"source": source, "command": "twinmlp " + " ".join(sys.argv[1:]),
            "machine": info, "machine_line": bench.machine_line(info),
            "torch": torch.__version__, "numpy": np.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "title": f"twinmlp bench: {source}"}
    # bench.json, bench.csv and bench.png together: the old set or the new one.
    write_set(args.out, lambda folder: bench.write_outputs(results, peaks, folder,
                                                           {**meta, "scaling": scaling}))
    print(f"wrote {args.out / 'bench.json'}, bench.csv and bench.png")
    return 0


def check_bench_options(args: argparse.Namespace) -> None:
    """Every ``bench`` option that argparse cannot check alone, before anything runs."""
    import torch

    def names(option: str, values: list[str] | None, allowed: str) -> None:
        if values is not None and not values:
            raise UsageError(f"{option} is empty: expected a comma-separated list of {allowed}")

    names("--backends", args.backends, "numpy, torch")
    for name in args.backends:
        if name not in ("numpy", "torch"):
            raise UsageError(f"--backends {name!r} is not a twin: expected numpy and/or torch "
                             f"(devices go in --devices)")
    names("--devices", args.devices, "cpu, cuda, cuda:N")
    for device in args.devices or []:
        if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
            raise UsageError(f"--devices {device!r} is not a torch device: expected cpu, cuda "
                             f"or cuda:N (twins go in --backends)")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"device {device!r} is not available: torch finds no CUDA GPU")
    if args.samples is not None and args.samples < 1:
        raise UsageError(f"--samples {args.samples} is not allowed: expected a number of rows "
                         f">= 1")
    if any(b < 1 for b in args.batch_sizes):
        raise UsageError("--batch-sizes must be positive integers")
    for widths in args.hidden or []:
        if not widths or any(w < 1 for w in widths):
            raise UsageError(f"--hidden {','.join(map(str, widths))} is not allowed: expected "
                             f"positive widths")
    if args.repeats < 1 or args.warmup < 0:
        raise UsageError(f"--repeats {args.repeats} --warmup {args.warmup}: expected at least "
                         f"1 timed epoch and no negative warm-up")
    if args.scaling is not None:
        if any(n < 1 for n in args.scaling) or len(set(args.scaling)) != len(args.scaling):
            raise UsageError(f"--scaling {','.join(map(str, args.scaling))} is not allowed: "
                             f"expected distinct process counts >= 1, e.g. 1,2")
        if args.dataset == "random":
            raise UsageError("--scaling trains through twinmlp train: pick --dataset digits, "
                             "mnist or fashion-mnist")
        if args.scaling_epochs < 2:
            raise UsageError(f"--scaling-epochs {args.scaling_epochs} is not allowed: the "
                             f"first epoch is not counted, so expected >= 2")


def run_data_list(args: argparse.Namespace) -> int:
    """``twinmlp data list``."""
    from twinmlp.shared.idx import SOURCES

    root = args.data_root or default_data_root()
    print(f"data root: {root}")
    print(f"{'digits':<14} ready      (bundled with scikit-learn)")
    for name, source in SOURCES.items():
        state, reason = source.state(root)
        print(f"{name:<14} {state:<10} {reason or source.raw_folder(root)}")
    return 0


def run_data_import(args: argparse.Namespace) -> int:
    """``twinmlp data import NAME FOLDER``."""
    from twinmlp.shared.idx import import_idx_folder

    root = args.data_root or default_data_root()
    target = import_idx_folder(args.name, args.folder, root)
    print(f"imported {args.name} from {args.folder} into {target} (MD5 checked)")
    return 0


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32,10, got {text!r}") from None


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    allowed = {"numpy", "torch", "cpu", "cuda"}
    for name in names:
        if name not in allowed and not name.startswith("cuda:"):
            raise argparse.ArgumentTypeError(f"unknown name {name!r}")
    return names


def _optional_int(text: str) -> int | str:
    if text.lower() == "none":
        return "none"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
