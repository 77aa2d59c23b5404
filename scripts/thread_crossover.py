"""Where one thread beats two: epochs of both twins with 1 and with all usable threads.

For each (layers, batch) the two thread counts are timed in alternating rounds of one
epoch each (as ``twinmlp bench`` does), on random data, optionally while ``--busy N``
CPU-bound processes compete. The result sets ``twinmlp.shared.threads.SINGLE_THREAD_BELOW``
(docs/benchmarks.md, "Threads").

    python scripts/thread_crossover.py [--busy 1] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from twinmlp.bench import machine, machine_line, twin_epoch_runner
from twinmlp.busy import busy_processes
from twinmlp.shared.threads import ThreadChoice, largest_product, thread_limit, usable_cores

CASES = [((64, 32, 10), 64), ((64, 32, 10), 512), ((784, 32, 10), 64), ((784, 64, 10), 64),
         ((784, 128, 10), 64), ((784, 256, 10), 64), ((784, 256, 10), 128),
         ((784, 256, 10), 512), ((784, 256, 10), 2048)]


def measure(layers: tuple[int, ...], batch: int, rows: int, repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, layers[0])).astype(np.float32)
    y = rng.integers(0, layers[-1], rows)
    counts = sorted({1, usable_cores()})
    result = {}
    for backend in ("numpy", "torch"):
        epoch = twin_epoch_runner(backend, "cpu", layers, X, y, batch, 0.01)
        times: dict[int, list[float]] = {count: [] for count in counts}
        for index in range(repeats + 1):
            for count in counts if index % 2 else counts[::-1]:
                with thread_limit(ThreadChoice(count, "--threads")):
                    start = time.perf_counter()
                    epoch(index)
                    elapsed = time.perf_counter() - start
                if index:
                    times[count].append(elapsed)
        for count in counts:
            result[f"{backend} {count}t"] = statistics.median(times[count]) * 1e3
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=4096)
    args = parser.parse_args()
    print(machine_line(machine()))
    print(f"busy processes: {args.busy}; {args.rows} rows per epoch; median ms/epoch")
    with busy_processes(args.busy):
        for layers, batch in CASES:
            row = measure(layers, batch, args.rows, args.repeats)
            cells = "  ".join(f"{name} {value:8.2f}" for name, value in row.items())
            print(f"{'-'.join(map(str, layers)):>12} b{batch:<5} "
                  f"product {largest_product(layers, batch):>11,}  {cells}", flush=True)


if __name__ == "__main__":
    main()
