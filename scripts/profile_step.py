"""Where an epoch of the training step spends its time, part by part, beside the floor.

    python scripts/profile_step.py --backend numpy --batch-size 512

784-256-10 (``--hidden``), float32, random data of MNIST shape (60,000 × 784). Prints, in
milliseconds per epoch, on the machine ``twinmlp bench`` names:

* the real epoch, ``shared.trainer.run_epoch`` as ``fit`` runs it;
* the same step unrolled into its calls (``train_step`` → ``forward_pass`` →
  ``backward_pass`` → ``optimizer.step``, the same functions on the same buffers), each
  part timed on its own; a clock read per part makes the sum a little larger than the
  real epoch;
* the floor, the first layer's two products alone and back to back, as the bench times
  it — beside the same two products inside the step.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from twinmlp import bench
from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import TrainConfig
from twinmlp.shared.trainer import run_epoch
from twinmlp.twins import make_twin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.rows)
    layers = [784, args.hidden, 10]
    print(bench.machine_line(bench.machine()))

    real, unrolled, parts, floor = [], [], [], []
    run_real = real_epoch(args.backend, layers, X, y, args.batch_size)
    run_parts = unrolled_epoch(args.backend, layers, X, y, args.batch_size)
    run_floor = bench.floor_epoch_runner(args.backend, "cpu", layers, X, args.batch_size)
    run_real(0), run_parts(0), run_floor(0)  # warm-up: buffers, thread pools, caches
    for epoch in range(1, args.epochs + 1):  # interleaved, so all three see the same load
        start = time.perf_counter()
        run_real(epoch)
        real.append(time.perf_counter() - start)
        spent = run_parts(epoch)
        unrolled.append(sum(spent.values()))
        parts.append(spent)
        start = time.perf_counter()
        run_floor(epoch)
        floor.append(time.perf_counter() - start)

    def ms(values: list[float]) -> str:
        return f"{1000 * float(np.median(values)):7.0f} ms"

    print(f"{args.backend}, {'-'.join(map(str, layers))}, batch {args.batch_size}, "
          f"median of {args.epochs} epochs:")
    print(f"  real epoch (run_epoch)                {ms(real)}")
    print(f"  unrolled step, sum of the parts       {ms(unrolled)}")
    medians = {name: float(np.median([p[name] for p in parts])) for name in parts[0]}
    for name in sorted(medians, key=lambda key: -medians[key]):
        print(f"    {name:<36}{ms([medians[name]])}")
    inside = [p["X @ W1 + b1"] + p["X.T @ G1"] for p in parts]
    print(f"  the two products inside the step      {ms(inside)}")
    print(f"  the floor: the same products alone    {ms(floor)}")
    print(f"  real epoch / floor                    {np.median(real) / np.median(floor):7.2f}")


def real_epoch(backend: str, layers: list[int], X: np.ndarray, y: np.ndarray,
               batch_size: int):
    """An epoch of ``fit``'s own epoch function, without validation."""
    model, data, optimizer, config = _setup(backend, layers, X, y, batch_size)
    return lambda epoch: run_epoch(model, data, optimizer, config, 0, epoch + 1)


def unrolled_epoch(backend: str, layers: list[int], X: np.ndarray, y: np.ndarray,
                   batch_size: int):
    """An epoch of the step written out call by call (one hidden layer, no dropout), with
    the seconds each part took."""
    model, data, optimizer, _ = _setup(backend, layers, X, y, batch_size)
    F = model.functional
    if backend == "numpy":
        lib, take = np, lambda a, rows, out: np.take(a, rows, axis=0, out=out, mode="clip")
        column_sum = lambda g, out: np.add.reduce(g, axis=0, out=out)  # noqa: E731
        predicted = lambda probs: probs.argmax(axis=1)  # noqa: E731
    else:
        import torch as lib
        take = lambda a, rows, out: lib.index_select(a, 0, rows, out=out)  # noqa: E731
        column_sum = lambda g, out: lib.sum(g, dim=0, out=out)  # noqa: E731
        predicted = lambda probs: probs.max(dim=1).indices  # noqa: E731  # as train_step
    phi, phi_prime = F.ACTIVATIONS["leaky_relu"], F.DERIVATIVES["leaky_relu"]
    P_ = model.params
    bounds = batch_bounds(len(y), batch_size)

    def epoch(index: int) -> dict[str, float]:
        order = model.prepare_order(epoch_permutation(0, index, len(y)))
        spent: dict[str, float] = {}
        clock = time.perf_counter

        def lap(name: str, since: float) -> float:
            now = clock()
            spent[name] = spent.get(name, 0.0) + now - since
            return now

        for start, stop in bounds:
            t = clock()
            b = model._buffers(stop - start)
            xb = take(data[0], order[start:stop], b["x"])
            yb = take(data[1], order[start:stop], b["y"])
            t = lap("gather X, y", t)
            Z1 = F.linear(xb, P_["W1"], P_["b1"], out=b["Z1"])
            t = lap("X @ W1 + b1", t)
            A1 = phi(Z1, 0.01, out=b["Phi1"])
            t = lap("activation", t)
            Z2 = F.linear(A1, P_["W2"], P_["b2"], out=b["Z2"])
            t = lap("layer 2: A1 @ W2 + b2", t)
            probs, _ = F.softmax_cross_entropy(Z2, yb, out=b["P"])
            t = lap("softmax and loss", t)
            lib.count_nonzero(predicted(probs) == yb)
            t = lap("correct count", t)
            G2 = F.cross_entropy_grad(probs, yb, out=b["P"])
            t = lap("gradient at the logits", t)
            db2 = column_sum(G2, b["db2"])  # as backward_pass: db before dW
            dW2 = lib.matmul(A1.T, G2, out=b["dW2"])
            t = lap("layer 2: dW2, db2", t)
            G1 = lib.matmul(G2, P_["W2"].T, out=b["G1"])
            t = lap("layer 2: G2 @ W2.T", t)
            G1 = phi_prime(Z1, A1, G1, 0.01)
            t = lap("activation derivative", t)
            db1 = column_sum(G1, b["db1"])
            t = lap("db1", t)
            dW1 = lib.matmul(xb.T, G1, out=b["dW1"])
            t = lap("X.T @ G1", t)
            optimizer.step(P_, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2})
            lap("optimizer step", t)
        return spent

    return epoch


def _setup(backend: str, layers: list[int], X: np.ndarray, y: np.ndarray, batch_size: int):
    from twinmlp.shared.config import ModelConfig

    model = make_twin(backend, ModelConfig(tuple(layers), dtype="float32"))
    config = TrainConfig(lr=0.01, batch_size=batch_size)
    return model, model.prepare_data(X, y), model.make_optimizer(config, len(y)), config


if __name__ == "__main__":
    main()
