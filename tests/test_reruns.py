"""A rerun into a folder that holds a run is a transaction: the earlier run's files stay
whole until the rerun has finished, and then the rerun's replace them. A diverged rerun
is discarded and says so; a rerun stopped by Ctrl-C or killed waits beside the earlier
run, which ``evaluate`` still reads, and ``train --resume`` finishes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli_refusals import one_error_line
from twinmlp.checkpoint import FILENAME, LAST, load_train_state
from twinmlp.cli import main
from twinmlp.runs import STAGING

QUICK = ["train", "--backend", "numpy", "--epochs", "3", "--lr", "0.05", "--quiet"]


def contents(folder: Path) -> dict[str, bytes]:
    """Every run file of ``folder`` by name (the lock aside)."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()
            and not p.name.startswith(".")}


def config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


@pytest.fixture
def finished_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict]:
    run = tmp_path / "run"
    assert main([*QUICK, "--out", str(run)]) == 0
    capsys.readouterr()
    return run, contents(run)


def test_a_diverged_rerun_leaves_the_finished_run_and_says_so(
        finished_run: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    run, before = finished_run
    assert main([*QUICK, "--epochs", "30", "--lr", "3e3", "--out", str(run)]) == 1
    err = one_error_line(capsys)
    assert "training diverged in epoch" in err
    assert err.endswith(f"this rerun is discarded: {run} keeps the previous run, unchanged\n")
    assert "the last good epoch is in" not in err
    assert contents(run) == before and not (run / STAGING).exists()
    assert main(["evaluate", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "this run already finished" in capsys.readouterr().out


def test_a_finished_rerun_replaces_the_earlier_run(
        finished_run: tuple[Path, dict], tmp_path: Path) -> None:
    run, before = finished_run
    assert main([*QUICK, "--seed", "4", "--out", str(run)]) == 0
    assert main([*QUICK, "--seed", "4", "--out", str(tmp_path / "alone")]) == 0
    assert not (run / STAGING).exists()
    assert config(run)["model_config"]["seed"] == 4
    assert (run / FILENAME).read_bytes() == (tmp_path / "alone" / FILENAME).read_bytes()
    assert set(contents(run)) == set(before)


# --- stopped reruns, in real processes ---

LONG = ["train", "--backend", "numpy", "--epochs", "400", "--batch-size", "256",
        "--patience", "none", "--checkpoint-seconds", "0", "--quiet"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "twinmlp", *args]


def stop_rerun(run: Path, how: signal.Signals) -> str:
    """Rerun ``LONG`` (seed 7) into ``run``; once its epoch 2 is checkpointed, pause it
    (so that it is surely mid-run), send ``how`` and let it go; returns its stderr."""
    process = subprocess.Popen(cli(*LONG, "--seed", "7", "--out", str(run)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the rerun ended before it could be stopped"
            assert time.monotonic() < deadline, "epoch 2 was not reached in 120 s"
            try:
                if load_train_state(run / STAGING / LAST)[0].epoch >= 2:
                    break
            except Exception:  # not written yet
                pass
            time.sleep(0.02)
        process.send_signal(signal.SIGSTOP)
        assert process.poll() is None
        process.send_signal(how)
        process.send_signal(signal.SIGCONT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), err
    return err


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_a_stopped_rerun_keeps_the_earlier_run_until_resume_finishes_it(
        finished_run: tuple[Path, dict], capsys: pytest.CaptureFixture[str],
        how: signal.Signals) -> None:
    run, before = finished_run
    err = stop_rerun(run, how)
    if how == signal.SIGINT:
        assert (f"; {run} keeps the previous run until this one finishes; resume with: "
                f"twinmlp train --resume {run}\n") in err
        assert config(run / STAGING)["status"].startswith("interrupted after epoch")
    assert contents(run) == before
    assert main(["evaluate", str(run)]) == 0  # the earlier, finished model
    assert f"{config(run)['test_accuracy'] * 100:.2f}" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert f"resuming {run / STAGING} after epoch" in capsys.readouterr().out
    assert not (run / STAGING).exists()
    assert config(run)["status"] == "finished"
    assert config(run)["model_config"]["seed"] == 7
    assert load_train_state(run / LAST)[0].epoch == 400
    assert set(contents(run)) == set(before)


def test_a_new_rerun_replaces_a_stopped_one(finished_run: tuple[Path, dict],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_resume_and_divergence import ctrl_c_at

    run, before = finished_run
    ctrl_c_at(monkeypatch, 2)
    assert main([*QUICK, "--seed", "5", "--checkpoint-seconds", "0", "--out", str(run)]) == 130
    assert contents(run) == before and (run / STAGING).exists()
    assert main([*QUICK, "--seed", "6", "--out", str(run)]) == 0
    assert not (run / STAGING).exists() and config(run)["model_config"]["seed"] == 6


# --- a pair (--backend both) ---

BOTH = ["train", "--epochs", "3", "--lr", "0.05", "--batch-size", "128", "--layers",
        "64,16,10", "--floor-copies", "0", "--checkpoint-seconds", "0", "--quiet"]


def test_ctrl_c_in_the_numpy_half_of_a_rerun_resumes_and_replaces_the_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_resume_and_divergence import ctrl_c_at

    out, alone = tmp_path / "pair", tmp_path / "alone"
    assert main([*BOTH, "--out", str(out)]) == 0
    assert main([*BOTH, "--seed", "3", "--out", str(alone)]) == 0
    before = {half: contents(out / half) for half in ("numpy", "torch")}
    ctrl_c_at(monkeypatch, 2, "numpy")
    assert main([*BOTH, "--seed", "3", "--out", str(out)]) == 130
    assert f"resume with: twinmlp train --resume {out}\n" in capsys.readouterr().err
    assert {half: contents(out / half) for half in ("numpy", "torch")} == before
    assert config(out / "torch" / STAGING)["status"] == "pending"
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "numpy (cpu" in printed and "torch (cpu" in printed and "parity" in printed
    for half in ("numpy", "torch"):
        assert not (out / half / STAGING).exists()
        assert config(out / half)["status"] == "finished"
        assert (out / half / FILENAME).read_bytes() == (alone / half / FILENAME).read_bytes()


def test_a_rerun_whose_torch_half_diverges_keeps_the_whole_earlier_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp.shared.trainer import DivergenceError, History, TrainState
    from twinmlp.torch_impl import MLP

    out = tmp_path / "pair"
    assert main([*BOTH, "--out", str(out)]) == 0
    before = {half: contents(out / half) for half in ("numpy", "torch")}

    def diverge(self: MLP, *args: object, **kwargs: object) -> object:
        start = TrainState(0, self.state_dict(), {}, History())
        raise DivergenceError(1, 1, 9, "the loss became nan", start)

    monkeypatch.setattr(MLP, "fit", diverge)
    capsys.readouterr()
    assert main([*BOTH, "--seed", "3", "--out", str(out)]) == 1
    assert f"{out} keeps the previous run, unchanged" in one_error_line(capsys)
    assert {half: contents(out / half) for half in ("numpy", "torch")} == before
    assert not (out / "numpy" / STAGING).exists() and not (out / "torch" / STAGING).exists()


def test_a_diverged_rerun_over_a_stopped_pair_keeps_that_pair_resumable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The earlier pair stopped in its numpy half (its torch half only described); a
    rerun that diverges must not leave its own description in the torch half."""
    from tests.test_resume_and_divergence import ctrl_c_at
    from twinmlp.shared.trainer import DivergenceError, History, TrainState
    from twinmlp.torch_impl import MLP

    out = tmp_path / "pair"
    ctrl_c_at(monkeypatch, 2, "numpy")
    assert main([*BOTH, "--out", str(out)]) == 130
    before = {half: contents(out / half) for half in ("numpy", "torch")}

    def diverge(self: MLP, *args: object, **kwargs: object) -> object:
        raise DivergenceError(1, 1, 9, "the loss became nan",
                              TrainState(0, self.state_dict(), {}, History()))

    monkeypatch.setattr(MLP, "fit", diverge)
    assert main([*BOTH, "--seed", "3", "--out", str(out)]) == 1
    assert {half: contents(out / half) for half in ("numpy", "torch")} == before
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    for half in ("numpy", "torch"):
        assert config(out / half)["status"] == "finished"
        assert config(out / half)["model_config"]["seed"] == 0
