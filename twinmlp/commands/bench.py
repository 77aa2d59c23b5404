"""``twinmlp bench``: seconds per epoch of the twins against torch-autograd and
scikit-learn (the measuring is in ``twinmlp.bench``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from twinmlp.commands.options import add_data_root, add_threads, int_list, name_list
from twinmlp.shared.data import DATASET_NAMES
from twinmlp.shared.errors import UsageError

NAME = "bench"
HELP = "seconds per epoch of the twins against torch-autograd and scikit-learn"
USES_TORCH = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``bench`` options."""
    parser.description = (
        "Time whole training epochs (float32) over a grid of backend × device × batch size × "
        "hidden widths, beside the anchors torch nn.Sequential + autograd + optim.SGD and "
        "scikit-learn's MLPClassifier(solver='sgd'), each epoch alternating with one of the "
        "floor: the first layer's two products (X_b @ W1, X_bᵀ @ G1) alone, in the same "
        "library. Report the machine (CPU, instruction set, each library's BLAS and threads), "
        "s/epoch (median, min–max), the ratio to the floor, samples/s, GFLOP/s and the share "
        "of the float32 matmul peak measured in the same run. Writes bench.json, bench.csv, "
        "bench.png.")
    parser.epilog = ("examples:\n  twinmlp bench --out docs/bench\n"
                     "  twinmlp bench --dataset digits --hidden 32 --batch-sizes 64\n"
                     "  twinmlp bench --devices cpu,cuda --batch-sizes 128,4096 --no-anchors")
    parser.add_argument("--dataset", choices=("random", *DATASET_NAMES), default="random",
                        help="random data of MNIST shape (60,000 × 784, offline; default) or "
                             "a real dataset's training split")
    add_data_root(parser)
    parser.add_argument("--samples", type=int, default=None,
                        help="use the first N training rows (default: all)")
    parser.add_argument("--backends", type=name_list, default=["numpy", "torch"],
                        help="comma-separated twins to time (default: numpy,torch)")
    parser.add_argument("--devices", type=name_list, default=None,
                        help="comma-separated torch devices (default: cpu, plus cuda where "
                             "present)")
    parser.add_argument("--batch-sizes", type=int_list, default=[32, 128, 512, 2048],
                        help="comma-separated batch sizes (default: 32,128,512,2048)")
    parser.add_argument("--hidden", type=int_list, action="append", default=None,
                        help="hidden widths, comma-separated; repeat for several "
                             "architectures (default: 256)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed epochs per cell; the median is reported (default: 3)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed epochs first (default: 1)")
    parser.add_argument("--no-anchors", action="store_true",
                        help="time the twins only, not torch-autograd and scikit-learn")
    parser.add_argument("--scaling", type=int_list, default=None, metavar="N,N",
                        help="also time data-parallel torch training with these process "
                             "counts (e.g. 1,2), each a real torchrun launch (MATH.md §14)")
    parser.add_argument("--scaling-epochs", type=int, default=4,
                        help="epochs per scaling run; the first is not counted (default: 4)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench"),
                        help="folder for bench.json, bench.csv, bench.png (default: "
                             "runs/bench)")
    add_threads(parser)
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="measure while N CPU-bound processes compete for the cores "
                             "(started before the grid and stopped after it, by pid): what a "
                             "loaded machine does to each implementation (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """The grid, a table on screen, JSON, CSV and PNG."""
    import numpy as np
    import torch

    from twinmlp import bench
    from twinmlp.busy import busy_processes
    from twinmlp.files import ensure_folder, write_set

    check_options(args)
    ensure_folder(args.out, "--out folder")  # before the grid, not after
    X, y, n_classes, source = bench_data(args)
    devices = bench_devices(args)
    hidden = args.hidden or [[256]]
    batch_sizes = real_batch_sizes(args.batch_sizes, len(y))
    planned = bench.plan(args.backends, devices, batch_sizes, hidden,
                         anchors=not args.no_anchors)
    info = bench.machine()
    print(bench.machine_line(info))
    busy = f", while {args.busy} CPU-bound processes compete" if args.busy else ""
    print(f"bench: {source}, float32, {len(planned)} cells and their floors, median of "
          f"{args.repeats} epochs after {args.warmup} warm-up{busy}")
    with busy_processes(args.busy):
        results, peaks = bench.run_bench(X, y, n_classes, planned, args.warmup, args.repeats,
                                         verbose=not args.quiet)
    print(bench.table(results, peaks))
    scaling = []
    if args.scaling:
        for device in devices:
            scaling += bench.scaling(args.dataset, args.data_root, args.scaling, device,
                                     batch_sizes, hidden, args.scaling_epochs,
                                     X.shape[1], n_classes)
        print(bench.scaling_table(scaling))
    meta = {"source": source, "command": "twinmlp " + " ".join(sys.argv[1:]),
            "machine": info, "machine_line": bench.machine_line(info),
            "torch": torch.__version__, "numpy": np.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "title": f"twinmlp bench: {source}{busy}", "scaling": scaling,
            "busy": args.busy}
    # bench.json, bench.csv and bench.png together: the old set or the new one.
    write_set(args.out, lambda folder: bench.write_outputs(results, peaks, folder, meta))
    print(f"wrote {args.out / 'bench.json'}, bench.csv and bench.png")
    return 0


def bench_devices(args: argparse.Namespace) -> list[str]:
    """``--devices``, else the CPU and, where torch finds one, the GPU."""
    import torch

    return args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def real_batch_sizes(requested: list[int], n_rows: int) -> list[int]:
    """The batch sizes an epoch over ``n_rows`` really has: a larger one is one batch of
    every row, reported (and measured once) under that size, and said so."""
    sizes: list[int] = []
    for size in requested:
        if size > n_rows:
            print(f"bench: --batch-sizes {size} is larger than the {n_rows} rows: an epoch is "
                  f"one batch of {n_rows}, reported as batch size {n_rows}")
        if min(size, n_rows) not in sizes:
            sizes.append(min(size, n_rows))
    return sizes


def bench_data(args: argparse.Namespace) -> tuple[Any, Any, int, str]:
    """``X`` (float32), ``y``, the class count and a description of the data: random
    data of MNIST shape, or the first ``--samples`` rows of a dataset's training split."""
    import numpy as np

    if args.dataset == "random":
        rng = np.random.default_rng(0)
        n = args.samples or 60000
        X = rng.standard_normal((n, 784)).astype(np.float32)
        y = rng.integers(0, 10, size=n)
        return X, y, 10, f"random data of MNIST shape ({n} × 784)"
    from twinmlp.training import load_data

    data = load_data(args, name=args.dataset)
    rows = slice(0, args.samples)
    X, y = data.X_train[rows].astype(np.float32), data.y_train[rows]
    return X, y, data.n_classes, f"{data.name} training split ({len(y)} rows)"


def check_options(args: argparse.Namespace) -> None:
    """Every ``bench`` option that argparse cannot check alone, before anything runs."""
    import torch

    from twinmlp.shared.memory import check_rows_fit

    def not_empty(option: str, values: list[str] | None, allowed: str) -> None:
        if values is not None and not values:
            raise UsageError(f"{option} is empty: expected a comma-separated list of {allowed}")

    not_empty("--backends", args.backends, "numpy, torch")
    for name in args.backends:
        if name not in ("numpy", "torch"):
            raise UsageError(f"--backends {name!r} is not a twin: expected numpy and/or torch "
                             f"(devices go in --devices)")
    not_empty("--devices", args.devices, "cpu, cuda, cuda:N")
    for device in args.devices or []:
        if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
            raise UsageError(f"--devices {device!r} is not a torch device: expected cpu, cuda "
                             f"or cuda:N (twins go in --backends)")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"device {device!r} is not available: torch finds no CUDA GPU")
    if args.samples is not None and args.samples < 1:
        raise UsageError(f"--samples {args.samples} is not allowed: expected a number of rows "
                         f">= 1")
    if args.dataset == "random":  # float64 draws, their float32 copy and the labels
        check_rows_fit(args.samples or 60000, 784 * (8 + 4) + 8, "bench's random data")
    if any(b < 1 for b in args.batch_sizes):
        raise UsageError("--batch-sizes must be positive integers")
    for widths in args.hidden or []:
        if not widths or any(w < 1 for w in widths):
            raise UsageError(f"--hidden {','.join(map(str, widths))} is not allowed: expected "
                             f"positive widths")
    if args.busy < 0:
        raise UsageError(f"--busy {args.busy} is not allowed: expected a number of processes "
                         f">= 0")
    if args.repeats < 1 or args.warmup < 0:
        raise UsageError(f"--repeats {args.repeats} --warmup {args.warmup}: expected at least "
                         f"1 timed epoch and no negative warm-up")
    named = {"--backends": args.backends, "--devices": args.devices or [],
             "--batch-sizes": args.batch_sizes,
             "--hidden": [",".join(map(str, widths)) for widths in args.hidden or []]}
    for option, values in named.items():
        twice = [str(v) for i, v in enumerate(values) if v in values[:i]]
        if twice:
            raise UsageError(f"{option} names {', '.join(dict.fromkeys(twice))} more than "
                             f"once: each value is one set of cells, measured once")
    from twinmlp import bench

    devices = bench_devices(args)
    if not args.scaling and not bench.plan(args.backends, devices, args.batch_sizes,
                                           args.hidden or [[256]], not args.no_anchors):
        raise UsageError(f"--backends {','.join(args.backends)} on --devices "
                         f"{','.join(devices)}{' with --no-anchors' if args.no_anchors else ''}"
                         f" measures nothing (the numpy twin runs on the cpu only): add cpu "
                         f"to --devices or torch to --backends")
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
