"""Time each part of the training step, as ``train_step`` runs it, for one epoch.

    PYTHONPATH=. python scripts/profile_step.py --backend numpy --batch-size 512

Prints milliseconds per epoch for each part (784-256-10, float32, random data of MNIST
shape). The parts are the calls of ``MLP.train_step``, unrolled so each can be timed; the
numbers behind ``docs/benchmarks.md``'s profile table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from twinmlp.shared.config import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--rows", type=int, default=60000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.rows)
    if args.backend == "numpy":
        import numpy_impl as impl

        lib = np
    else:
        import torch as lib

        import torch_impl as impl
    F = impl.functional
    model = impl.MLP([784, 256, 10], dtype="float32")
    data = model.prepare_data(X, y)
    optimizer = model.make_optimizer(TrainConfig(lr=0.01), args.rows)
    order = model.prepare_order(rng.permutation(args.rows))
    spent: dict[str, float] = {}
    def lap(name: str, start: float) -> float:  # CPU only: no device to synchronise
        now = time.perf_counter()
        spent[name] = spent.get(name, 0.0) + now - start
        return now

    W1, b1, W2, b2 = (model.params[k] for k in ("W1", "b1", "W2", "b2"))
    for start in range(0, args.rows, args.batch_size):
        batch = order[start:start + args.batch_size]
        buffers = model._buffers(len(batch))
        t = time.perf_counter()
        if args.backend == "numpy":
            xb = np.take(data[0], batch, axis=0, out=buffers["x"], mode="clip")
            yb = np.take(data[1], batch, out=buffers["y"], mode="clip")
        else:
            xb = lib.index_select(data[0], 0, batch, out=buffers["x"])
            yb = lib.index_select(data[1], 0, batch, out=buffers["y"])
        t = lap("batch gather", t)
        Z = F.linear(xb, W1, b1, out=buffers["Z1"])
        t = lap("X @ W1 + b1", t)
        A = F.leaky_relu(Z, 0.01, out=buffers["A1"])
        t = lap("activation", t)
        logits = F.linear(A, W2, b2, out=buffers["logits"])
        t = lap("layer 2 products, bias sums", t)
        probs, _ = F.softmax_cross_entropy(logits, yb, out=buffers["probs"])
        (probs.argmax(1) == yb).sum()
        G = F.cross_entropy_grad(probs, yb, out=buffers["probs"])
        t = lap("softmax, loss, correct, dlogits", t)
        dW2 = lib.matmul(A.T, G, out=buffers["dW2"])
        db2 = G.sum(0)
        G1 = lib.matmul(G, W2.T, out=buffers["G1"])
        t = lap("layer 2 products, bias sums", t)
        G1 = F.leaky_relu_derivative(Z, A, G1, 0.01)
        t = lap("activation derivative", t)
        dW1 = lib.matmul(xb.T, G1, out=buffers["dW1"])
        t = lap("X.T @ G1", t)
        db1 = G1.sum(0)
        t = lap("layer 2 products, bias sums", t)
        optimizer.step(model.params, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2})
        t = lap("SGD update", t)
    total = sum(spent.values())
    print(f"{args.backend}, batch {args.batch_size}: {1000 * total:.0f} ms per epoch")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {name:<34} {1000 * seconds:6.0f} ms")


if __name__ == "__main__":
    main()
