"""``twinmlp bench``: seconds per epoch of the twins, of what people would use instead, and
of the arithmetic floor, on a machine it names.

Every cell trains one architecture for whole epochs on the same data: the twins through
``shared.trainer.run_epoch``, the epoch function ``fit`` runs (validation left out), and two
anchors — torch ``nn.Sequential`` with autograd and ``torch.optim.SGD``, and scikit-learn's
``MLPClassifier(solver="sgd")`` (one ``partial_fit`` = one epoch).

The *floor* of a batch size and library is an epoch of the first layer's two products
alone, ``X_b @ W1`` forward and ``X_bᵀ @ G1`` for its weight gradient, in the shapes and
calls of the twins' step: arithmetic no implementation of the step can skip (98 % of the
FLOPs of 784-256-10); NumPy's floor is the one of numpy_impl and scikit-learn, torch's
the one of torch_impl and torch-autograd.

The cells of one batch size, architecture, device and library, with their floor, are
timed in rounds: each round runs one epoch of every one of them, in an order rotated every round,
so the ratios (to the floor, and of a twin to its anchor) compare epochs taken side by
side, under the same load; each is the median of its per-round ratios. Every cell
reports the median, minimum and maximum of its epochs over the rounds, after warm-up
rounds. CUDA is synchronised before the clock stops.

FLOPs are counted as a step needs them: ``2·n·fan_in·fan_out`` per layer for the forward
product, the same for the weight gradient, and the same again for the input gradient of
every layer but the first (a floor row counts its two products only). The float32 matmul
peak is measured in the same run.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from twinmlp.shared.batching import batch_bounds
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.threads import (
    choose_threads,
    describe_policy,
    thread_limit,
    usable_cores,
)


@dataclass(frozen=True)
class Implementation:
    """What the bench knows of one implementation it times: the library whose floor (and
    thread pool) it shares, the twin it is (``None``: an anchor), and for a twin the anchor
    it is compared with."""

    library: str
    twin: str | None = None
    anchor: str | None = None


#: Every implementation the bench times, by the name its rows carry.
IMPLEMENTATIONS = {
    "numpy_impl": Implementation("numpy", twin="numpy", anchor="sklearn"),
    "torch_impl": Implementation("torch", twin="torch", anchor="torch-autograd"),
    "sklearn": Implementation("numpy"),
    "torch-autograd": Implementation("torch"),
}
#: The implementation of each twin (``--backends`` names).
TWIN_IMPLEMENTATION = {impl.twin: name for name, impl in IMPLEMENTATIONS.items() if impl.twin}
#: Environment variables that change which BLAS kernels run or how many threads they use.
BLAS_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS",
                    "MKL_DEBUG_CPU_TYPE", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


class PlannedCell(NamedTuple):
    """One cell of the grid, to be measured: an implementation on a device, at a batch
    size, with hidden widths."""

    impl: str
    device: str
    batch_size: int
    hidden: tuple[int, ...]


@dataclass
class Measurement:
    """One measured cell of the grid; ``role`` is "twin", "anchor" or "floor"."""

    impl: str
    device: str
    batch_size: int
    layers: str
    role: str
    repeats: int
    seconds_per_epoch: float  # median over the repeats
    seconds_min: float
    seconds_max: float
    samples_per_second: float
    gflops: float
    peak_fraction: float
    floor_seconds: float  # median of the floor epochs timed in the same rounds
    floor_ratio: float  # median over the rounds of this cell's epoch / the floor's epoch
    epoch_seconds: list[float]  # every timed epoch, in the order of the rounds
    threads: int | None = None  # the group's thread count (None: the environment's)


def flops_per_sample(layers: Sequence[int]) -> int:
    """Floating-point operations one training step spends per sample (module doc)."""
    products = [2 * a * b for a, b in itertools.pairwise(layers)]
    return 2 * sum(products) + sum(products[1:])


def floor_flops_per_sample(layers: Sequence[int]) -> int:
    """FLOPs per sample of the floor: ``X_b @ W1`` and ``X_bᵀ @ G1`` (module doc)."""
    return 2 * (2 * layers[0] * layers[1])


def machine() -> dict[str, Any]:
    """The CPU and what runs the products on it: model, vendor, instruction set, cores;
    NumPy's BLAS as threadpoolctl reports it and torch's as ``torch.__config__`` does, with
    their thread counts; and the BLAS environment variables that are set."""
    import torch

    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    isa = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags
           else "AVX" if "avx" in flags else "unknown" if not flags else "SSE")
    config = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([\w.]+)", config)
    onednn = re.search(r"MKL-DNN (v[\d.]+)", config)
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    return {
        "cpu": cpu.get("model name") or platform.processor() or platform.machine(),
        "vendor": cpu.get("vendor_id", ""),
        "isa": isa,
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "numpy_blas": _numpy_blas(),
        "torch": torch.__version__,
        "torch_blas": blas.group(1) if blas else "unknown",
        "torch_mkl": mkl.group(1) if mkl else None,
        "torch_onednn": onednn.group(1) if onednn else None,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "usable_cores": usable_cores(),
        "thread_policy": describe_policy(),
        "environment": {name: os.environ[name] for name in BLAS_ENVIRONMENT
                        if name in os.environ},
    }


def machine_line(info: dict[str, Any]) -> str:
    """``machine()`` in one line, as the table and ``docs/benchmarks.md`` print it."""
    blas = info["numpy_blas"]
    numpy_part = (f"NumPy {info['numpy']} on {blas['name']} {blas['version']} "
                  f"({blas['kernels']} kernels, threads: {blas['threads']})")
    torch_blas = info["torch_blas"].upper() if info["torch_blas"] == "mkl" else info["torch_blas"]
    if info["torch_mkl"]:
        torch_blas += f" {info['torch_mkl']}"
    if info["torch_onednn"]:
        torch_blas += f" + oneDNN {info['torch_onednn']}"
    torch_part = (f"torch {info['torch']} on {torch_blas} ({info['torch_cpu_capability']} "
                  f"kernels, threads: {info['torch_threads']})")
    environment = ", ".join(f"{k}={v}" for k, v in info["environment"].items()) or "none set"
    vendor = f"{info['vendor']}, " if info["vendor"] else ""
    cores = f"{info['cores']} cores"
    if info.get("usable_cores", info["cores"]) != info["cores"]:
        cores += f" ({info['usable_cores']} usable)"
    policy = f"; threads: {info['thread_policy']}" if "thread_policy" in info else ""
    return (f"machine: {info['cpu']} ({vendor}{info['isa']}), {cores}; "
            f"{numpy_part}; {torch_part}; BLAS environment: {environment}{policy}")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _numpy_blas() -> dict[str, Any]:
    """NumPy's BLAS library, version, kernel set and threads, from threadpoolctl."""
    unknown = {"name": "unknown BLAS", "version": "", "kernels": "unknown", "threads": None}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, say so
        return unknown
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    # NumPy's own copy first (wheels ship one under numpy.libs); else the first BLAS loaded
    pools.sort(key=lambda pool: "numpy" not in pool.get("filepath", ""))
    if not pools:
        return unknown
    pool = pools[0]
    return {"name": {"openblas": "OpenBLAS", "mkl": "MKL"}.get(pool["internal_api"],
                                                               pool["internal_api"]),
            "version": pool.get("version") or "",
            "kernels": pool.get("architecture") or pool.get("threading_layer", ""),
            "threads": pool.get("num_threads")}


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
    """A function that trains one epoch of a twin with ``shared.trainer.run_epoch``, the
    epoch function ``fit`` runs (learning rate, batch order, steps, the one read of the
    step scalars), in the model's numerics context."""
    from twinmlp.shared.trainer import run_epoch
    from twinmlp.twins import make_twin

    model = make_twin(backend, ModelConfig(tuple(layers), dtype="float32", seed=0), device)
    config = TrainConfig(lr=lr, batch_size=batch_size)
    data = model.prepare_data(X, y)
    optimizer = model.make_optimizer(config, len(y))

    def epoch(index: int) -> None:
        with model.numerics():
            run_epoch(model, data, optimizer, config, seed=0, epoch=index + 1)

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


def floor_epoch_runner(library: str, device: str, layers: Sequence[int], X: np.ndarray,
                       batch_size: int) -> Callable[[int], None]:
    """An epoch of the floor (module doc): for every batch of the epoch, the last partial
    one too, ``X_b @ W1`` and ``X_bᵀ @ G1`` into reused arrays, written as the twins' step
    writes them. The rows are taken in storage order: gathering them is work a step adds."""
    rng = np.random.default_rng(0)
    fan_in, fan_out = layers[0], layers[1]
    weights = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
    grads = (rng.standard_normal((batch_size, fan_out)) / batch_size).astype(np.float32)
    bounds = batch_bounds(len(X), batch_size)
    sizes = sorted({stop - start for start, stop in bounds})
    if library == "numpy":
        features = np.ascontiguousarray(X, dtype=np.float32)
        outputs = {size: np.empty((size, fan_out), np.float32) for size in sizes}
        weight_grad = np.empty_like(weights)

        def numpy_epoch(index: int) -> None:
            for start, stop in bounds:
                rows = features[start:stop]
                np.matmul(rows, weights, out=outputs[stop - start])
                np.matmul(rows.T, grads[:stop - start], out=weight_grad)

        return numpy_epoch

    import torch

    features_t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    weights_t, grads_t = torch.from_numpy(weights).to(device), torch.from_numpy(grads).to(device)
    outputs_t = {size: torch.empty((size, fan_out), device=device) for size in sizes}
    weight_grad_t = torch.empty_like(weights_t)

    def torch_epoch(index: int) -> None:
        for start, stop in bounds:
            rows = features_t[start:stop]
            torch.matmul(rows, weights_t, out=outputs_t[stop - start])
            torch.matmul(rows.T, grads_t[:stop - start], out=weight_grad_t)

    return torch_epoch


def time_rounds(runs: dict[str, Callable[[int], None]], device: str, warmup: int,
                repeats: int, tick: Callable[[], None] = lambda: None
                ) -> dict[str, list[float]]:
    """Seconds of ``repeats`` epochs of every run in ``runs``, taken in rounds: each round
    times one epoch of each run, in an order rotated by one every round, so that all of
    them see the same load (a virtual machine's speed drifts by tens of per cent within a
    minute) and none always follows the same neighbour. ``warmup`` untimed rounds first;
    ``tick`` is called after every epoch (the progress bar)."""
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(warmup + repeats):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            _sync(device)
            start = time.perf_counter()
            runs[name](index)
            _sync(device)
            if index >= warmup:
                times[name].append(time.perf_counter() - start)
            tick()
    return times


def plan(backends: Sequence[str], devices: Sequence[str], batch_sizes: Sequence[int],
         widths: Sequence[Sequence[int]], anchors: bool) -> list[PlannedCell]:
    """Every cell to measure (the twins of ``backends``, and with ``anchors`` both
    anchors; NumPy and scikit-learn on the CPU only); the floors come with them."""
    planned = []
    for hidden in map(tuple, widths):
        for batch in batch_sizes:
            for device in devices:
                for backend in backends:
                    if backend == "numpy" and device != "cpu":
                        continue
                    planned.append(PlannedCell(TWIN_IMPLEMENTATION[backend], device, batch,
                                               hidden))
                if anchors:
                    planned.append(PlannedCell("torch-autograd", device, batch, hidden))
            if anchors:
                planned.append(PlannedCell("sklearn", "cpu", batch, hidden))
    return planned


def run_bench(X: np.ndarray, y: np.ndarray, n_classes: int, planned: list[PlannedCell],
              warmup: int, repeats: int, lr: float = 0.01, verbose: bool = True
              ) -> tuple[list[Measurement], dict[str, float]]:
    """Measure every cell beside its library's floor; returns the floor rows and the cells
    (each group's floor first) and the float32 matmul peak per device.

    The cells of one batch size, architecture, device and library (NumPy: numpy_impl and
    scikit-learn; torch: torch_impl and torch-autograd) form a group, measured together
    with their floor in rounds (:func:`time_rounds`), so that a cell's ratio to its floor
    and a twin's speed-up over its anchor compare epochs taken side by side. The two
    libraries are not mixed in one group: each keeps its own thread pool, whose threads
    spin for a while after a product and would slow the other library's next epoch."""
    from tqdm.auto import tqdm

    from twinmlp.shared.trainer import progress_options

    devices = sorted({cell.device for cell in planned})
    peaks = {device: matmul_peak(device) for device in devices}
    groups: dict[tuple, list[str]] = {}
    for impl, device, batch, hidden in planned:
        groups.setdefault((batch, hidden, device, IMPLEMENTATIONS[impl].library),
                          []).append(impl)
    epochs = sum((len(members) + 1) * (warmup + repeats) for members in groups.values())
    bar = tqdm(total=epochs, desc="bench", unit="epoch", disable=not verbose, leave=False,
               **progress_options())
    results: list[Measurement] = []
    for (batch, hidden, device, library), members in groups.items():
        layers = [X.shape[1], *hidden, n_classes]
        choice = choose_threads(layers, batch)  # every member of the group alike
        floor_name = f"floor ({library})"
        runs = {floor_name: floor_epoch_runner(library, device, layers, X, batch)}
        for impl in members:
            runs[impl] = _epoch_runner(impl, device, layers, X, y, batch, lr)
        with thread_limit(choice):
            times = time_rounds(runs, device, warmup, repeats, bar.update)
        floor = times[floor_name]
        results.append(_cell(floor_name, device, batch, layers, "floor", floor, floor,
                             floor_flops_per_sample(layers) * len(y), peaks[device],
                             choice.count))
        for impl in members:
            role = "twin" if IMPLEMENTATIONS[impl].twin else "anchor"
            results.append(_cell(impl, device, batch, layers, role, times[impl], floor,
                                 flops_per_sample(layers) * len(y), peaks[device],
                                 choice.count))
    bar.close()
    return results, peaks


def _epoch_runner(impl: str, device: str, layers: Sequence[int], X: np.ndarray,
                  y: np.ndarray, batch: int, lr: float) -> Callable[[int], None]:
    """The epoch function of the implementation ``impl``."""
    if impl == "sklearn":
        return sklearn_epoch_runner(layers, X, y, batch, lr)
    if impl == "torch-autograd":
        return autograd_epoch_runner(device, layers, X, y, batch, lr)
    return twin_epoch_runner(IMPLEMENTATIONS[impl].twin, device, layers, X, y, batch, lr)


def _cell(impl: str, device: str, batch: int, layers: Sequence[int], role: str,
          times: list[float], floor_times: list[float], flops: float, peak: float,
          threads: int | None = None) -> Measurement:
    seconds = statistics.median(times)
    floor = statistics.median(floor_times)
    gflops = flops / seconds / 1e9
    per_sample = floor_flops_per_sample(layers) if role == "floor" else flops_per_sample(layers)
    return Measurement(impl, device, batch, "-".join(map(str, layers)), role, len(times),
                       seconds, min(times), max(times), flops / per_sample / seconds, gflops,
                       gflops / peak, floor, paired_ratio(times, floor_times), times, threads)


def paired_ratio(times: list[float], others: list[float]) -> float:
    """The median over the rounds of ``times[r] / others[r]``: two epochs of one round ran
    side by side, so their ratio is free of the machine's drift between rounds."""
    return statistics.median(a / b for a, b in zip(times, others, strict=True))


def speedups(measurements: list[Measurement]) -> list[dict[str, Any]]:
    """Per batch size (and device, layers): how many times faster each twin is than its
    anchor (numpy_impl against scikit-learn, torch_impl against torch-autograd): the
    anchor's epoch over the twin's, round by round (as :func:`paired_ratio`), its median as
    ``speedup`` and its range as ``speedup_min``/``speedup_max``."""
    rows = []
    by_key = {(c.impl, c.device, c.batch_size, c.layers): c for c in measurements}
    for (impl, device, batch, layers), cell in by_key.items():
        anchor = IMPLEMENTATIONS[impl].anchor if impl in IMPLEMENTATIONS else None
        other = by_key.get((anchor, "cpu" if anchor == "sklearn" else device, batch, layers))
        if other is not None:
            per_round = [a / t for a, t in zip(other.epoch_seconds, cell.epoch_seconds,
                                               strict=True)]
            rows.append({"impl": impl, "anchor": anchor, "device": device, "batch_size": batch,
                         "layers": layers, "speedup": statistics.median(per_round),
                         "speedup_min": min(per_round), "speedup_max": max(per_round)})
    return rows


def table(measurements: list[Measurement], peaks: dict[str, float],
          info: dict[str, Any] | None = None) -> str:
    """The results as a Markdown table, with the machine and the measured peaks above it
    and the twins' speed-ups over their anchors below it."""
    header = ("| implementation | device | layers | batch | threads | s/epoch | min–max "
              "| × floor | samples/s | GFLOP/s | % of peak |")
    lines = [machine_line(info)] if info else []
    lines += ["float32 matmul peak: " +
              ", ".join(f"{d} {p:.0f} GFLOP/s" for d, p in peaks.items()),
              "", header, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in measurements:
        threads = "env" if c.threads is None else c.threads
        lines.append(f"| {c.impl} | {c.device} | {c.layers} | {c.batch_size} | {threads} | "
                     f"{c.seconds_per_epoch:.4g} | {c.seconds_min:.4g}–{c.seconds_max:.4g} | "
                     f"{c.floor_ratio:.2f} | {c.samples_per_second:,.0f} | "
                     f"{c.gflops:.1f} | {100 * c.peak_fraction:.1f} |")
    rows = speedups(measurements)
    if rows:
        lines += ["", "| twin | anchor | device | layers | batch | twin's speed-up "
                  "| round by round |", "|---|---|---|---|---:|---:|---:|"]
        lines += [f"| {r['impl']} | {r['anchor']} | {r['device']} | {r['layers']} | "
                  f"{r['batch_size']} | {r['speedup']:.2f}× | "
                  f"{r['speedup_min']:.2f}–{r['speedup_max']:.2f}× |" for r in rows]
    return "\n".join(lines)


def write_outputs(measurements: list[Measurement], peaks: dict[str, float], out: Path,
                  meta: dict[str, Any]) -> None:
    """``bench.json``, ``bench.csv`` and ``bench.png`` in ``out``."""
    from twinmlp.files import atomic_write_text
    from twinmlp.plots import plot_throughput

    out.mkdir(parents=True, exist_ok=True)
    payload = {**meta, "peak_gflops": peaks, "cells": [asdict(c) for c in measurements],
               "speedups": speedups(measurements)}
    atomic_write_text(out / "bench.json", json.dumps(payload, indent=2) + "\n")
    fields = list(asdict(measurements[0])) if measurements else []

    def csv_value(value: Any) -> str:  # a list of epochs: space-separated in one field
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)

    rows = [",".join(fields)] + [",".join(csv_value(v) for v in asdict(c).values())
                                 for c in measurements]
    atomic_write_text(out / "bench.csv", "\n".join(rows) + "\n")
    plot_throughput(measurements, out / "bench.png", meta.get("title", "twinmlp bench"))


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
                        told = result.stderr.strip().splitlines()[-1:] or ["no message"]
                        raise TwinMLPError(f"scaling run with {n} processes failed: "
                                           f"{told[0]}")
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
