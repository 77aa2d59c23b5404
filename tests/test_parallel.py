"""Data parallelism (MATH.md §14): sharded gradients summed by an all-reduce equal the
single-process run — in one process (numpy_impl) and across 2 gloo processes (torch_impl)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import assert_close
from twinmlp import numpy_impl
from twinmlp.checkpoint import load_checkpoint
from twinmlp.shared.data import Dataset
from twinmlp.shared.parallel import shard_bounds


def test_shards_cover_the_batch_in_order() -> None:
    assert [shard_bounds(10, 3, r) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    assert [shard_bounds(2, 3, r) for r in range(3)] == [(0, 1), (1, 2), (2, 2)]
    with pytest.raises(ValueError, match="rank = 3 is not allowed"):
        shard_bounds(10, 3, 3)


OPTIONS = dict(epochs=4, batch_size=50, lr=0.05, weight_decay=1e-3, optimizer="momentum",
               dropout=0.1, verbose=False)


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("world_size", [2, 3, 7])
def test_in_process_data_parallel_equals_single_process(digits: Dataset, dtype: str,
                                                        tol: float, world_size: int) -> None:
    single = numpy_impl.MLP([64, 32, 16, 10], seed=4, dtype=dtype)
    single.fit(digits.X_train, digits.y_train, **OPTIONS)
    parallel = numpy_impl.DataParallelMLP(numpy_impl.MLP([64, 32, 16, 10], seed=4, dtype=dtype),
                                          world_size)
    parallel.fit(digits.X_train, digits.y_train, **OPTIONS)
    for name in single.params:
        assert_close(f"{world_size} ranks {name}", parallel.model.params[name],
                     single.params[name], tol)
    if dtype == "float64":
        np.testing.assert_array_equal(parallel.predict(digits.X_test),
                                      single.predict(digits.X_test))


def test_a_batch_smaller_than_the_world_leaves_ranks_empty(digits: Dataset) -> None:
    X, y = digits.X_train[:5], digits.y_train[:5]
    single = numpy_impl.MLP([64, 8, 10], dtype="float64")
    single.fit(X, y, epochs=3, batch_size=2, verbose=False)
    parallel = numpy_impl.DataParallelMLP(numpy_impl.MLP([64, 8, 10], dtype="float64"), 4)
    parallel.fit(X, y, epochs=3, batch_size=2, verbose=False)
    for name in single.params:
        assert_close(name, parallel.model.params[name], single.params[name], 1e-12)


TRAIN = ["train", "--epochs", "4", "--batch-size", "50", "--lr", "0.05", "--weight-decay",
         "1e-3", "--optimizer", "momentum", "--dropout", "0.1", "--quiet"]


def run(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "twinmlp", *TRAIN, *args],
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.slow
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-10), ("float32", 1e-5)])
def test_two_gloo_processes_equal_the_single_process_run(tmp_path: Path, dtype: str,
                                                         tol: float) -> None:
    run("--backend", "torch", "--dtype", dtype, "--out", str(tmp_path / "single"))
    result = run("--backend", "torch", "--nproc", "2", "--dtype", dtype, "--out",
                 str(tmp_path / "ddp"))
    assert "2 data-parallel ranks (gloo)" in result.stdout and "×2 ranks" in result.stdout
    run("--backend", "numpy", "--nproc", "2", "--dtype", dtype, "--out",
        str(tmp_path / "simulated"))
    single, ddp, simulated = (load_checkpoint(tmp_path / name)
                              for name in ("single", "ddp", "simulated"))
    assert ddp.meta["nproc"] == 2 and simulated.meta["nproc"] == 2
    for name in single.params:
        assert_close(f"torch 2 ranks vs 1: {name}", ddp.params[name], single.params[name], tol)
        assert_close(f"torch 2 processes vs numpy 2 simulated ranks: {name}",
                     ddp.params[name], simulated.params[name], tol)
    if dtype == "float64":
        np.testing.assert_array_equal(ddp.test_predictions, single.test_predictions)
        np.testing.assert_array_equal(ddp.test_predictions, simulated.test_predictions)


def test_an_option_error_under_nproc_is_one_line_from_the_launching_process(
        tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "twinmlp", *TRAIN, "--backend", "torch",
                             "--nproc", "2", "--lr", "-1", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 2
    assert result.stderr == ("twinmlp: error: TrainConfig.lr = -1.0 is not allowed: expected "
                             "a finite number > 0\n")
    assert not (tmp_path / "run").exists()


def test_the_worker_entry_point_refuses_to_run_outside_torchrun(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    result = subprocess.run([sys.executable, "-m", "twinmlp", *TRAIN, "--backend", "torch",
                             "--distributed-worker", "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, check=False, timeout=300, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "--distributed-worker is the worker entry point that --nproc" in result.stderr
    assert not (tmp_path / "run").exists()
