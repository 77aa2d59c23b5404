"""Helpers shared by the tests: random problems, central differences, a tiny IDX dataset,
and the comparison every twin test goes through.

:func:`helper_test_twins` (modelled on tinygrad's ``helper_test_op``) builds a problem
from a shape, a dtype and a seed (shape → dtype → values), runs both twins on it and
compares every named tensor, with separate tolerances for the forward pass and for
gradients. On failure the message names the tensor, its relative error, the max abs and
max relative difference, the worst entry with both values, and how many entries exceed
the tolerance (mine = numpy_impl, theirs = torch_impl).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinmlp import numpy_impl, torch_impl
from twinmlp.arrays import to_numpy
from twinmlp.parity import difference, relative_error


def random_problem(layer_sizes: list[int], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs and uniform labels for a network of ``layer_sizes``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, layer_sizes[0]))
    y = rng.integers(0, layer_sizes[-1], size=n)
    return X, y


def random_architecture(depth: int, seed: int) -> tuple[list[int], int]:
    """Layer sizes with ``depth`` weight layers and a batch size, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    widths = rng.integers(2, 9, size=depth + 1).tolist()
    widths[-1] = int(rng.integers(2, 6))
    return widths, int(rng.integers(1, 12))


def central_differences(loss: Callable[[], float], params: dict[str, np.ndarray],
                        eps: float = 1e-6) -> dict[str, np.ndarray]:
    """``(loss(θ + ε e_i) − loss(θ − ε e_i)) / 2ε`` for every entry of every parameter,
    perturbing ``params`` in place and restoring each entry."""
    grads = {}
    for name, param in params.items():
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + eps
            plus = loss()
            param[index] = saved - eps
            minus = loss()
            param[index] = saved
            grad[index] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


def tiny_idx_arrays(n_train: int = 600, n_test: int = 100, seed: int = 0
                    ) -> dict[str, np.ndarray]:
    """A learnable MNIST-shaped dataset: class ``c`` lights a 6×6 patch at a place of its
    own on a noisy 28×28 image. Keys are the four IDX file names."""
    rng = np.random.default_rng(seed)

    def images(labels: np.ndarray) -> np.ndarray:
        out = rng.integers(0, 60, size=(len(labels), 28, 28))
        for i, label in enumerate(labels):
            row, col = 2 + 8 * (label // 4), 2 + 6 * (label % 4)
            out[i, row:row + 6, col:col + 6] += 180
        return out.astype(np.uint8)

    train_labels = rng.integers(0, 10, size=n_train).astype(np.uint8)
    test_labels = rng.integers(0, 10, size=n_test).astype(np.uint8)
    return {"train-images-idx3-ubyte": images(train_labels),
            "train-labels-idx1-ubyte": train_labels,
            "t10k-images-idx3-ubyte": images(test_labels),
            "t10k-labels-idx1-ubyte": test_labels}


def write_tiny_gz_files(folder: Path, monkeypatch: Any, **sizes: int) -> dict[str, bytes]:
    """The four .gz files of a tiny fashion-mnist stand-in (:func:`tiny_idx_arrays` of
    ``sizes``) in ``folder``, their MD5s made known to the importer; returns the unzipped
    bytes by file name."""
    from twinmlp.shared import idx
    from twinmlp.shared.idx import SOURCES, IdxSource, write_idx

    folder.mkdir(parents=True, exist_ok=True)
    sums, contents = {}, {}
    for name, array in tiny_idx_arrays(**sizes).items():
        write_idx(folder / name, array)
        contents[name] = (folder / name).read_bytes()
        data = gzip.compress(contents[name], mtime=0)
        (folder / f"{name}.gz").write_bytes(data)
        (folder / name).unlink()
        sums[name] = idx.md5(data)
    monkeypatch.setitem(SOURCES, "fashion-mnist",
                        IdxSource("fashion-mnist", "FashionMNIST", sums, {}))
    return contents


def assert_close(name: str, mine: Any, theirs: Any, tol: float) -> float:
    """Relative error of ``mine`` against ``theirs``; raise with
    :meth:`twinmlp.parity.Difference.message` if it exceeds ``tol``."""
    a, b = to_numpy(mine), to_numpy(theirs)
    error = relative_error(a, b)
    if not error <= tol:
        raise AssertionError(difference(name, a, b, tol).message(tol))
    return error


def assert_identical(name: str, mine: Any, theirs: Any) -> None:
    """Bit-identical values (same bytes after moving to NumPy)."""
    a, b = to_numpy(mine), to_numpy(theirs)
    if a.dtype != b.dtype or a.shape != b.shape:
        raise AssertionError(f"{name}: not bit-identical ({a.dtype}{a.shape} vs "
                             f"{b.dtype}{b.shape})")
    if a.tobytes() != b.tobytes():
        d = difference(name, a, b)
        raise AssertionError(
            f"{name}: not bit-identical; max abs difference {d.max_abs:.3e}, max relative "
            f"{d.max_rel:.3e}; worst entry at {d.index}: mine {d.mine_value!r} vs theirs "
            f"{d.theirs_value!r}; {int(np.count_nonzero(a != b))} of {a.size} entries differ")


@dataclass
class TwinReport:
    """Largest relative error seen per tensor name by one helper call."""

    errors: dict[str, float] = field(default_factory=dict)

    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)


def helper_test_twins(layer_sizes: list[int], batch: int, dtype: str, *,
                      activation: str = "leaky_relu", device: str = "cpu", seed: int = 0,
                      forward_tol: float, grad_tol: float, lr: float = 0.1,
                      weight_decay: float = 0.05, one_hot: bool = False) -> TwinReport:
    """Compare the twins on one problem: initial parameters (bit-identical), forward
    probabilities and loss (``forward_tol``), gradients and one SGD step (``grad_tol``)."""
    X, y = random_problem(layer_sizes, batch, seed)
    targets = np.eye(layer_sizes[-1])[y] if one_hot else y
    options = dict(activation=activation, alpha=0.1, seed=seed, dtype=dtype)
    mine = numpy_impl.MLP(layer_sizes, **options)
    theirs = torch_impl.MLP(layer_sizes, device=device, **options)
    report = TwinReport()
    for name in mine.params:
        assert_identical(f"initial {name}", mine.params[name], theirs.params[name])

    probs_a, _ = mine.forward(X)
    probs_b, _ = theirs.forward(X)
    report.errors["probs"] = assert_close("probs", probs_a, probs_b, forward_tol)
    loss_a, grads_a = mine.loss_and_grads(X, targets)
    loss_b, grads_b = theirs.loss_and_grads(X, targets)
    report.errors["loss"] = assert_close("loss", loss_a, loss_b, forward_tol)
    for name in grads_a:
        report.errors[f"grad {name}"] = assert_close(f"grad {name}", grads_a[name],
                                                     grads_b[name], grad_tol)

    numpy_impl.optim.SGD(lr, weight_decay).step(mine.params, grads_a)
    torch_impl.optim.SGD(lr, weight_decay).step(theirs.params, grads_b)
    for name in mine.params:
        report.errors[f"step {name}"] = assert_close(f"after one step {name}",
                                                     mine.params[name], theirs.params[name],
                                                     grad_tol)
    return report

