"""The command line refuses bad options and inputs with one line on stderr and exit code
2, before it computes or creates anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinmlp.cli import main

QUICK = ["train", "--backend", "numpy", "--epochs", "3", "--lr", "0.05", "--quiet"]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def no_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command reaches its long computation."""
    from twinmlp import bench, drift
    from twinmlp.shared import trainer

    def reached(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command computed before checking its options")

    monkeypatch.setattr(drift, "lockstep", reached)
    monkeypatch.setattr(bench, "run_bench", reached)
    monkeypatch.setattr(trainer, "train", reached)


@pytest.mark.parametrize(("args", "message"), [
    (["--lr", "-1"], "TrainConfig.lr = -1.0 is not allowed"),
    (["--layers", "64,0,10"], "ModelConfig.layer_sizes = (64, 0, 10) is not allowed"),
    (["--layers", "65,32,10"], "--layers 65,32,10 does not fit digits: it needs 64 inputs"),
    (["--backend", "torch", "--device", "tpu"], "device = 'tpu' is not allowed"),
    (["--checkpoint-seconds", "nan"], "--checkpoint-seconds nan is not allowed: expected a "
                                      "finite number of seconds >= 0"),
    (["--checkpoint-seconds", "-1"], "--checkpoint-seconds -1.0 is not allowed"),
    (["--seeds", "0,1,0"], "--seeds 0,1,0 names seed 0 more than once"),
    (["--nproc", "0"], "--nproc 0 is not allowed: expected an integer >= 1"),
    (["--backend", "both", "--floor-copies", "-1"],
     "--floor-copies -1 is not allowed: expected an integer >= 0"),
    (["--device", "cuda:0"], "--device cuda:0 means nothing with --backend numpy"),
    (["--dropout", "0.1", "--dropout-rng", "device"],
     "--dropout-rng device means nothing with --backend numpy"),
    (["--floor-copies", "3"], "--floor-copies 3 means nothing with --backend numpy"),
    (["--backend", "both", "--dtype", "float64", "--floor-copies", "2"],
     "--floor-copies 2 means nothing here: this float64 run of at most 54 steps lies within "
     "the strict tiers"),
    (["--distributed-worker"], "--distributed-worker is the worker entry point that --nproc "
                               "(or torchrun) starts, and runs only inside a torchrun launch"),
])
def test_train_options_refused(args: list[str], message: str, tmp_path: Path,
                               no_computing: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*QUICK, *args, "--out", str(tmp_path / "run")]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "run").exists()


TORCH_RANKS = ["train", "--backend", "torch", "--nproc", "2", "--epochs", "2", "--quiet"]


@pytest.fixture
def no_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command starts a process (torchrun's ranks)."""
    import subprocess

    def launched(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ranks were started before the options were checked")

    monkeypatch.setattr(subprocess, "run", launched)


@pytest.mark.parametrize(("args", "message"), [
    (["--lr", "-1"], "TrainConfig.lr = -1.0 is not allowed"),
    (["--layers", "65,32,10"], "--layers 65,32,10 does not fit digits"),
    (["--alpha", "-1"], "ModelConfig.alpha = -1.0 is not allowed"),
    (["--device", "tpu"], "device = 'tpu' is not allowed"),
    (["--device", "cuda:7"], "--nproc 2 on cuda:7 needs one GPU per rank"),
    (["--floor-copies", "2"], "--floor-copies 2 means nothing with --backend torch"),
    (["--dataset", "mnist", "--data-root", "/nonexistent"],
     "mnist is not in /nonexistent/MNIST/raw"),
    (["--backend", "both"], "--nproc with --backend both is not supported"),
    (["--seeds", "0,1"], "--nproc does not combine with --seeds"),
])
def test_options_under_nproc_are_refused_before_any_rank_starts(
        args: list[str], message: str, tmp_path: Path, no_launch: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*TORCH_RANKS, *args, "--out", str(tmp_path / "run")]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_a_folder_of_someone_elses_files_is_refused_before_any_rank_starts(
        tmp_path: Path, no_launch: None, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main([*TORCH_RANKS, "--out", str(tmp_path)]) == 2
    assert "holds files twinmlp did not write (notes.txt)" in one_error_line(capsys)


@pytest.mark.parametrize(("args", "message"), [
    (["--backend", "numpy"], "--distributed-worker trains the torch twin, not --backend "
                             "numpy: add --backend torch"),
    (["--backend", "torch", "--seeds", "0,1"], "--seeds does not combine with "
                                               "--distributed-worker"),
    (["--backend", "torch", "--nproc", "2"], "--nproc does not combine with "
                                             "--distributed-worker"),
])
def test_a_rank_refuses_options_it_cannot_honour(
        args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, no_computing: None,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("MASTER_ADDR", "127.0.0.1"),
                        ("MASTER_PORT", "29500")):
        monkeypatch.setenv(name, value)
    assert main(["train", "--distributed-worker", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--shadow"], "--shadow runs a float64 twin beside float32 ones: add --dtype float32"),
    (["--floor-copies", "-1"], "--floor-copies -1 is not allowed: expected an integer >= 0"),
    (["--epochs", "0"], "TrainConfig.epochs = 0 is not allowed"),
    (["--layers", "65,32,10"], "--layers 65,32,10 does not fit digits"),
    (["--floor-copies", "2"], "--floor-copies 2 means nothing here: this float64 run of 54 "
                              "steps lies within the strict tiers (<= 1,000 steps)"),
])
def test_parity_options_refused(args: list[str], message: str, tmp_path: Path,
                                no_computing: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parity", *args, "--out", str(tmp_path / "parity"), "--quiet"]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "parity").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--devices", "numpy"], "--devices 'numpy' is not a torch device"),
    (["--backends", "cpu"], "--backends 'cpu' is not a twin"),
    (["--backends", ""], "--backends is empty"),
    (["--samples", "-5"], "--samples -5 is not allowed"),
    (["--samples", "0"], "--samples 0 is not allowed"),
    (["--dataset", "digits", "--scaling", "0"], "--scaling 0 is not allowed"),
    (["--dataset", "digits", "--scaling", "2,2"], "--scaling 2,2 is not allowed"),
    (["--scaling", "2"], "--scaling trains through twinmlp train"),
    (["--dataset", "digits", "--scaling", "2", "--scaling-epochs", "1"],
     "--scaling-epochs 1 is not allowed"),
    (["--hidden", "0"], "--hidden 0 is not allowed"),
    (["--batch-sizes", "0"], "--batch-sizes must be positive integers"),
    (["--repeats", "0"], "--repeats 0 --warmup 1: expected at least 1 timed epoch"),
    (["--batch-sizes", "64,128,64"], "--batch-sizes names 64 more than once"),
    (["--hidden", "16", "--hidden", "16"], "--hidden names 16 more than once"),
    (["--backends", "numpy,torch,numpy"], "--backends names numpy more than once"),
])
def test_bench_options_refused_before_anything_runs(
        args: list[str], message: str, tmp_path: Path, no_computing: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", *args, "--out", str(tmp_path / "bench")]) == 2
    assert message in one_error_line(capsys)
    assert not (tmp_path / "bench").exists()


def test_bench_refuses_a_missing_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["bench", "--devices", "cuda", "--out", str(tmp_path / "bench"),
                 "--quiet"]) == 2
    assert "torch finds no CUDA GPU" in one_error_line(capsys)
    assert not (tmp_path / "bench").exists()


def test_bench_that_would_measure_nothing_is_refused_and_old_results_stay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_computing: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU, as far as asked
    out = tmp_path / "bench"
    out.mkdir()
    (out / "bench.json").write_text('{"cells": ["earlier results"]}')
    assert main(["bench", "--backends", "numpy", "--devices", "cuda", "--no-anchors",
                 "--out", str(out)]) == 2
    assert ("--backends numpy on --devices cuda with --no-anchors measures nothing (the "
            "numpy twin runs on the cpu only)" in one_error_line(capsys))
    assert [p.name for p in out.iterdir()] == ["bench.json"]
    assert (out / "bench.json").read_text() == '{"cells": ["earlier results"]}'


@pytest.mark.parametrize(("name", "message"), [
    ("frobnicate", "no twin implementation called 'frobnicate'; try e.g. softmax"),
    ("sofmax", "did you mean softmax"),
    ("step", "'step' names several twin implementations: "),
])
def test_show_refuses_a_name_it_cannot_resolve(name: str, message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name]) == 2
    assert message in one_error_line(capsys)


def test_evaluate_refuses_a_folder_that_is_no_run(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert str(tmp_path) in one_error_line(capsys)
