"""``twinmlp bench``: seconds per epoch of the twins and of what people would use instead.

Every cell trains one architecture for whole epochs on the same data: the twins through the
shared trainer's protocol (the same calls ``fit`` makes, validation left out), and two
anchors — torch ``nn.Sequential`` with autograd and ``torch.optim.SGD``, and scikit-learn's
``MLPClassifier(solver="sgd")`` (one ``partial_fit`` = one epoch). Each cell reports the
median over repeats after a warm-up epoch; CUDA is synchronised before the clock stops.

FLOPs are counted as a step needs them: ``2·n·fan_in·fan_out`` per layer for the forward
product, the same for the weight gradient, and the same again for the input gradient of
every layer but the first. The float32 matmul peak is measured in the same run.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import TrainConfig


@dataclass
class Cell:
    """One measured cell of the grid."""

    impl: str
    device: str
    batch_size: int
    layers: str
    seconds_per_epoch: float
    samples_per_second: float
    gflops: float
    peak_fraction: float
    anchor: bool


def flops_per_sample(layers: Sequence[int]) -> int:
    """Floating-point operations one training step spends per sample (module doc)."""
    products = [2 * a * b for a, b in itertools.pairwise(layers)]
    return 2 * sum(products) + sum(products[1:])


def matmul_peak(device: str, size: int | None = None, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of a square matrix product (NumPy on cpu, plus torch): 2048²
    on a CPU, 8192² on a GPU (a smaller product would time the launch, not the device)."""
    import torch

    size = size or (2048 if device == "cpu" else 8192)

    best = 0.0
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2 * size ** 3
    candidates: list[Callable[[], Any]] = []
    if device == "cpu":
        candidates.append(lambda: a @ b)
    ta, tb = torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)
    candidates.append(lambda: ta @ tb)
    for run in candidates:
        run()
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            run()
            _sync(device)
            best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def twin_epoch_runner(backend: str, device: str, layers: Sequence[int], X: np.ndarray,
                      y: np.ndarray, batch_size: int, lr: float) -> Callable[[int], None]:
    """A function that trains one epoch of a twin, exactly as the shared trainer does."""
    if backend == "numpy":
        from twinmlp import numpy_impl
        model: Any = numpy_impl.MLP(layers, seed=0, dtype="float32")
    else:
        from twinmlp import torch_impl
        model = torch_impl.MLP(layers, seed=0, dtype="float32", device=device)
    config = TrainConfig(lr=lr, batch_size=batch_size)
    data = model.prepare_data(X, y)
    optimizer = model.make_optimizer(config, len(y))
    bounds = batch_bounds(len(y), batch_size)

    def epoch(index: int) -> None:
        order = model.prepare_order(epoch_permutation(0, index, len(y)))
        total: Any = 0.0
        for start, stop in bounds:
            loss, _ = model.train_step(data, order[start:stop], optimizer)
            total = total + loss
        float(total)  # the epoch's one host read, as in the trainer

    return epoch


def autograd_epoch_runner(device: str, layers: Sequence[int], X: np.ndarray, y: np.ndarray,
                          batch_size: int, lr: float) -> Callable[[int], None]:
    """torch ``nn.Sequential`` + autograd + ``torch.optim.SGD``, the usual way."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    modules: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(layers)):
        modules.append(nn.Linear(a, b))
        if i < len(layers) - 2:
            modules.append(nn.LeakyReLU(0.01))
    net = nn.Sequential(*modules).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    features = torch.from_numpy(X.astype(np.float32)).to(device)
    labels = torch.from_numpy(y.astype(np.int64)).to(device)
    n = len(y)

    def epoch(index: int) -> None:
        order = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(features[rows]), labels[rows])
            loss.backward()
            optimizer.step()
            total += loss.detach()
        float(total)

    return epoch


def sklearn_epoch_runner(layers: Sequence[int], X: np.ndarray, y: np.ndarray,
                         batch_size: int, lr: float) -> Callable[[int], None]:
    """scikit-learn's ``MLPClassifier(solver="sgd")``; one ``partial_fit`` is one epoch."""
    import warnings

    from sklearn.neural_network import MLPClassifier

    classifier = MLPClassifier(hidden_layer_sizes=tuple(layers[1:-1]), activation="relu",
                               solver="sgd", batch_size=batch_size, learning_rate_init=lr,
                               momentum=0.0, alpha=0.0, random_state=0)
    features = X.astype(np.float32)
    classes = np.arange(layers[-1])

    def epoch(index: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            classifier.partial_fit(features, y, classes=classes)

    return epoch


def time_epochs(run: Callable[[int], None], device: str, warmup: int, repeats: int) -> float:
    """Median seconds of ``repeats`` epochs after ``warmup`` epochs."""
    for index in range(warmup):
        run(index)
    times = []
    for index in range(warmup, warmup + repeats):
        _sync(device)
        start = time.perf_counter()
        run(index)
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plan(backends: Sequence[str], devices: Sequence[str], batch_sizes: Sequence[int],
         widths: Sequence[Sequence[int]], anchors: bool) -> list[tuple[str, str, int, tuple]]:
    """Every (implementation, device, batch size, hidden widths) cell to measure."""
    cells = []
    for hidden in widths:
        for batch in batch_sizes:
            for device in devices:
                for backend in backends:
                    if backend == "numpy" and device != "cpu":
                        continue
                    cells.append((f"{backend}_impl", device, batch, tuple(hidden)))
                if anchors:
                    cells.append(("torch-autograd", device, batch, tuple(hidden)))
            if anchors:
                cells.append(("sklearn", "cpu", batch, tuple(hidden)))
    return cells


def run_bench(X: np.ndarray, y: np.ndarray, n_classes: int, cells: list[tuple],
              warmup: int, repeats: int, lr: float = 0.01, verbose: bool = True
              ) -> tuple[list[Cell], dict[str, float]]:
    """Measure every cell; returns the cells and the float32 matmul peak per device."""
    from tqdm.auto import tqdm

    devices = sorted({cell[1] for cell in cells})
    peaks = {device: matmul_peak(device) for device in devices}
    results = []
    for impl, device, batch, hidden in tqdm(cells, desc="bench", unit="cell",
                                            disable=not verbose, leave=False):
        layers = [X.shape[1], *hidden, n_classes]
        if impl == "sklearn":
            run = sklearn_epoch_runner(layers, X, y, batch, lr)
        elif impl == "torch-autograd":
            run = autograd_epoch_runner(device, layers, X, y, batch, lr)
        else:
            run = twin_epoch_runner(impl.split("_")[0], device, layers, X, y, batch, lr)
        seconds = time_epochs(run, device, warmup, repeats)
        gflops = flops_per_sample(layers) * len(y) / seconds / 1e9
        results.append(Cell(impl, device, batch, "-".join(map(str, layers)), seconds,
                            len(y) / seconds, gflops, gflops / peaks[device],
                            impl in ("sklearn", "torch-autograd")))
    return results, peaks


def table(cells: list[Cell], peaks: dict[str, float]) -> str:
    """The results as a Markdown table, with the measured peaks above it."""
    header = ("| implementation | device | layers | batch | s/epoch | samples/s | GFLOP/s "
              "| % of peak |")
    lines = ["float32 matmul peak: " + ", ".join(f"{d} {p:.0f} GFLOP/s" for d, p in peaks.items()),
             "", header, "|---|---|---|---:|---:|---:|---:|---:|"]
    for c in cells:
        lines.append(f"| {c.impl} | {c.device} | {c.layers} | {c.batch_size} | "
                     f"{c.seconds_per_epoch:.4f} | {c.samples_per_second:,.0f} | "
                     f"{c.gflops:.1f} | {100 * c.peak_fraction:.1f} |")
    return "\n".join(lines)


def write_outputs(cells: list[Cell], peaks: dict[str, float], out: Path,
                  meta: dict[str, Any]) -> None:
    """``bench.json``, ``bench.csv`` and ``bench.png`` in ``out``."""
    from twinmlp.files import atomic_write_text
    from twinmlp.plots import plot_throughput

    out.mkdir(parents=True, exist_ok=True)
    payload = {**meta, "peak_gflops": peaks, "cells": [asdict(c) for c in cells]}
    atomic_write_text(out / "bench.json", json.dumps(payload, indent=2) + "\n")
    fields = list(asdict(cells[0])) if cells else []
    rows = [",".join(fields)] + [",".join(str(v) for v in asdict(c).values()) for c in cells]
    atomic_write_text(out / "bench.csv", "\n".join(rows) + "\n")
    plot_throughput(cells, out / "bench.png", meta.get("title", "twinmlp bench"))


def scaling(dataset: str, data_root: Path | None, nprocs: Sequence[int], device: str,
            batch_sizes: Sequence[int], widths: Sequence[Sequence[int]], epochs: int,
            n_features: int, n_classes: int) -> list[dict[str, Any]]:
    """Seconds per epoch of data-parallel torch training with each process count: a real
    ``twinmlp train --nproc N`` run each (torchrun, gloo on cpu, NCCL on cuda), timed by
    its own history (median over the epochs after the first, validation included)."""
    import csv
    import subprocess
    import sys
    import tempfile

    rows = []
    for hidden in widths:
        for batch in batch_sizes:
            for n in nprocs:
                with tempfile.TemporaryDirectory() as folder:
                    command = [sys.executable, "-m", "twinmlp", "train", "--backend", "torch",
                               "--device", device, "--nproc", str(n), "--dataset", dataset,
                               "--epochs", str(epochs), "--batch-size", str(batch),
                               "--patience", "none", "--quiet", "--out", folder]
                    if data_root is not None:
                        command += ["--data-root", str(data_root)]
                    hidden_arg = ",".join(map(str, hidden))
                    command += ["--layers", f"{n_features},{hidden_arg},{n_classes}"]
                    result = subprocess.run(command, capture_output=True, text=True,
                                            check=False)
                    if result.returncode != 0:
                        raise RuntimeError(f"scaling run with {n} processes failed: "
                                           f"{result.stderr.strip().splitlines()[-1:]}")
                    with open(Path(folder) / "history.csv") as stream:
                        seconds = [float(r["seconds"]) for r in csv.DictReader(stream)]
                rows.append({"device": device, "processes": n, "batch_size": batch,
                             "hidden": hidden_arg,
                             "seconds_per_epoch": statistics.median(seconds[1:] or seconds)})
    for row in rows:
        base = next(r for r in rows if r["device"] == row["device"] and r["processes"] ==
                    min(nprocs) and r["batch_size"] == row["batch_size"] and
                    r["hidden"] == row["hidden"])
        row["speedup"] = base["seconds_per_epoch"] / row["seconds_per_epoch"]
    return rows


def scaling_table(rows: list[dict[str, Any]]) -> str:
    """The scaling runs as a Markdown table."""
    lines = ["| device | hidden | batch | processes | s/epoch | speed-up |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['device']} | {r['hidden']} | {r['batch_size']} | {r['processes']} "
                     f"| {r['seconds_per_epoch']:.3f} | {r['speedup']:.2f}× |")
    return "\n".join(lines)
