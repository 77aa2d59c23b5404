"""Reliability of runs: a training process killed (SIGKILL) or interrupted (SIGINT) and
then resumed ends byte-identical to an uninterrupted run; divergence stops training with
a message naming epoch and step and keeps the last good epoch; one seed, one result."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from twinmlp import numpy_impl, torch_impl
from twinmlp.checkpoint import FILENAME, LAST, load_checkpoint, load_train_state
from twinmlp.cli import main
from twinmlp.shared.data import Dataset
from twinmlp.shared.trainer import DivergenceError

TRAIN = ["train", "--dataset", "digits", "--epochs", "60", "--lr", "0.01", "--batch-size",
         "16", "--optimizer", "adam", "--dropout", "0.2", "--schedule", "cosine",
         "--warmup-epochs", "3", "--patience", "none", "--checkpoint-seconds", "0", "--quiet"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "twinmlp", *args]


def wait_for_epoch(folder: Path, epoch: int, process: subprocess.Popen, timeout: float = 120
                   ) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "training ended before it could be stopped"
        try:
            if load_train_state(folder / LAST)[0].epoch >= epoch:
                return
        except Exception:  # not written yet
            pass
        time.sleep(0.05)
    raise AssertionError(f"epoch {epoch} was not reached in {timeout} s")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reference runs, trained in one go, per backend."""
    runs = {}
    for backend in ("numpy", "torch"):
        folder = tmp_path_factory.mktemp("whole") / backend
        result = subprocess.run(cli(*TRAIN, "--backend", backend, "--out", str(folder)),
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        runs[backend] = folder
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_stopped_then_resumed_run_is_byte_identical(backend: str, how: signal.Signals,
                                                    uninterrupted: dict[str, Path],
                                                    tmp_path: Path) -> None:
    folder = tmp_path / "run"
    process = subprocess.Popen(cli(*TRAIN, "--backend", backend, "--out", str(folder)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_epoch(folder, 5, process)
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    if how == signal.SIGINT:
        assert process.returncode == 130
        assert "interrupted after epoch" in err and f"--resume {folder}" in err
        assert "Traceback" not in err
        assert json.loads((folder / "config.json").read_text())["status"].startswith(
            "interrupted after epoch")
    else:
        assert process.returncode == -signal.SIGKILL
    stopped_at = load_train_state(folder / LAST)[0].epoch
    assert 5 <= stopped_at < 60 and not (folder / FILENAME).exists()

    resumed = subprocess.run(cli("train", "--resume", str(folder), "--quiet"),
                             capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {folder} after epoch {stopped_at}" in resumed.stdout
    reference = uninterrupted[backend]
    assert (folder / FILENAME).read_bytes() == (reference / FILENAME).read_bytes()
    strip = [line.rsplit(",", 1)[0] for line in (folder / "history.csv").read_text().split()]
    expected = [line.rsplit(",", 1)[0]  # all columns but the wall-clock seconds
                for line in (reference / "history.csv").read_text().split()]
    assert strip == expected


def test_resume_of_a_finished_run_says_so(uninterrupted: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", str(uninterrupted["numpy"]), "--quiet"]) == 0
    assert "already finished" in capsys.readouterr().out


def test_resume_needs_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", str(tmp_path), "--quiet"]) == 2
    assert "is not a run folder" in capsys.readouterr().err


@pytest.mark.parametrize("model_cls", [numpy_impl.MLP, torch_impl.MLP])
def test_divergence_names_epoch_and_step_and_restores_the_last_good_epoch(
        model_cls, digits: Dataset) -> None:
    model = model_cls([64, 32, 10], dtype="float32", seed=1)
    epochs_seen = []
    with pytest.raises(DivergenceError, match=r"training diverged in epoch \d+, step \d+ of "
                                              r"18: the loss became (nan|inf)") as caught:
        model.fit(digits.X_train, digits.y_train, epochs=50, lr=1e4, verbose=False,
                  on_epoch_end=lambda state: epochs_seen.append(state.epoch))
    good = caught.value.last_good
    assert good.epoch == (epochs_seen[-1] if epochs_seen else 0)
    assert model.all_finite()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, good.params[name])
    assert caught.value.history.epochs_run == good.epoch


def test_divergence_in_the_cli_keeps_the_last_good_checkpoint(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "run"
    code = main(["train", "--backend", "numpy", "--lr", "3e3", "--epochs", "30", "--quiet",
                 "--out", str(folder)])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged in epoch" in err and "step" in err
    status = json.loads((folder / "config.json").read_text())["status"]
    assert status.startswith("diverged: training diverged in epoch")
    if (folder / LAST).exists():
        state, _ = load_train_state(folder / LAST)
        assert all(np.isfinite(v).all() for v in state.params.values())
    assert not (folder / FILENAME).exists()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_one_seed_gives_bit_identical_runs(backend: str, tmp_path: Path) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        assert main([*TRAIN[:4], "12", *TRAIN[5:], "--backend", backend, "--seed", "7",
                     "--out", str(folder)]) == 0
    assert (folders[0] / FILENAME).read_bytes() == (folders[1] / FILENAME).read_bytes()
    first = load_checkpoint(folders[0])
    assert int(first.optimizer_state["step"]) == 12 * 72  # 1149 rows / 16 per batch


@pytest.mark.cuda
def test_one_seed_is_bit_identical_on_cuda(digits: Dataset) -> None:
    states = []
    for _ in range(2):
        model = torch_impl.MLP([64, 128, 10], seed=5, device="cuda")
        model.fit(digits.X_train, digits.y_train, epochs=5, optimizer="adam", lr=1e-3,
                  dropout=0.2, dropout_rng="device", verbose=False)
        states.append(model.state_dict())
    for name in states[0]:
        assert states[0][name].tobytes() == states[1][name].tobytes(), name


@pytest.mark.parametrize(("seconds", "expected"), [("10", [1, 12]),
                                                   ("0", list(range(1, 13)))])
def test_epoch_checkpoints_follow_checkpoint_seconds(seconds: str, expected: list[int],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The epoch checkpoint is written on the first epoch, then when the last one is
    ``--checkpoint-seconds`` old (0: after every epoch), and always at the end (each write
    fsyncs). The clock stands still here, so the test does not depend on the machine's
    speed."""
    import types

    import twinmlp.runs

    writes = []
    original = twinmlp.runs.save_train_state
    monkeypatch.setattr(twinmlp.runs, "time", types.SimpleNamespace(monotonic=lambda: 0.0))
    monkeypatch.setattr(twinmlp.runs, "save_train_state", lambda path, state, meta: (
        writes.append(state.epoch), original(path, state, meta)))
    assert main(["train", "--backend", "numpy", "--epochs", "12", "--patience", "none",
                 "--checkpoint-seconds", seconds, "--quiet", "--out", str(tmp_path / "run")]) == 0
    assert writes == expected
    assert load_train_state(tmp_path / "run" / LAST)[0].epoch == 12


def test_a_resumed_run_with_device_dropout_is_bit_identical(digits: Dataset) -> None:
    """Dropout masks drawn by torch on the device: a run stopped after epoch 2 and resumed
    by a new model ends with the bytes of the run trained in one go."""
    options = dict(epochs=4, batch_size=128, lr=0.05, dropout=0.3, dropout_rng="device",
                   verbose=False)
    whole = torch_impl.MLP([64, 16, 10], seed=3)
    states = []
    whole.fit(digits.X_train, digits.y_train, on_epoch_end=states.append, **options)
    resumed = torch_impl.MLP([64, 16, 10], seed=3)
    resumed.fit(digits.X_train, digits.y_train, resume=states[1], **options)
    for name, value in whole.state_dict().items():
        assert value.tobytes() == resumed.state_dict()[name].tobytes(), name


# --- resume means the same run, for every kind of run ---

SMALL = ["train", "--epochs", "4", "--lr", "0.05", "--batch-size", "128", "--layers", "64,16,10",
         "--patience", "none", "--checkpoint-seconds", "0", "--quiet"]


def ctrl_c_at(monkeypatch: pytest.MonkeyPatch, epoch: int, where: str = "") -> list[Path]:
    """Ctrl-C arrives once, when the epoch checkpoint of ``epoch`` of a run folder whose
    path contains ``where`` is about to be written; returns where it arrived."""
    from twinmlp import runs

    real, fired = runs.save_train_state, []

    def save(path: Path, state, meta: dict) -> None:
        if not fired and state.epoch == epoch and where in str(path):
            fired.append(Path(path))
            raise KeyboardInterrupt
        real(path, state, meta)

    monkeypatch.setattr(runs, "save_train_state", save)
    return fired


def stopped_and_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str], argv: list[str], where: str = ""
                        ) -> tuple[tuple[int, str], tuple[int, str], Path, Path]:
    """``argv`` run in one go into ``whole``, and into ``run`` stopped by Ctrl-C after
    epoch 2 (in the folder containing ``where``) then resumed: each one's exit code and
    standard output, and the two folders."""
    whole, run = tmp_path / "whole", tmp_path / "run"
    code = main([*argv, "--out", str(whole)])
    once = code, capsys.readouterr().out
    fired = ctrl_c_at(monkeypatch, 2, where)
    assert main([*argv, "--out", str(run)]) == 130
    assert fired, "Ctrl-C never arrived"
    assert f"resume with: twinmlp train --resume {run}" in capsys.readouterr().err
    code = main(["train", "--resume", str(run), "--quiet"])
    return once, (code, capsys.readouterr().out), whole, run


def test_a_resumed_numpy_nproc_run_keeps_its_ranks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    once, resumed, whole, run = stopped_and_resumed(
        tmp_path, monkeypatch, capsys, [*SMALL, "--backend", "numpy", "--nproc", "3"])
    assert once[0] == resumed[0] == 0
    assert "×3 ranks" in resumed[1]
    assert json.loads((run / "config.json").read_text())["nproc"] == 3
    assert (run / FILENAME).read_bytes() == (whole / FILENAME).read_bytes()


def verdicts(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith("parity")]


def test_a_resumed_pair_gets_the_verdict_and_exit_code_of_the_whole_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """With dropout drawn on the device the twins part ways: the chaos floor fails the
    whole run (exit 1), and so must the run stopped in its torch half and resumed."""
    once, resumed, whole, run = stopped_and_resumed(
        tmp_path, monkeypatch, capsys,
        [*SMALL, "--dropout", "0.3", "--dropout-rng", "device", "--floor-copies", "1"],
        where="torch")
    assert verdicts(once[1])[0].startswith("parity FAIL (chaos floor)")
    assert verdicts(resumed[1]) == verdicts(once[1])
    assert resumed[0] == once[0] == 1
    for half in ("numpy", "torch"):
        assert (run / half / FILENAME).read_bytes() == (whole / half / FILENAME).read_bytes()


def test_a_resumed_seeds_run_trains_every_seed_and_sums_them_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C in the first of three seeds: --resume on the parent folder finishes it,
    trains the two not begun, and prints the summary of the uninterrupted run."""
    once, resumed, whole, run = stopped_and_resumed(
        tmp_path, monkeypatch, capsys, [*SMALL, "--backend", "numpy", "--seeds", "4,5,6"],
        where="seed4")
    summary = [line for line in once[1].splitlines() if "over seeds 4,5,6" in line]
    assert summary and summary == [line for line in resumed[1].splitlines()
                                   if "over seeds 4,5,6" in line]
    assert resumed[0] == once[0] == 0
    for seed in (4, 5, 6):
        folder = f"seed{seed}"
        assert (run / folder / FILENAME).read_bytes() == (whole / folder / FILENAME).read_bytes()


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


@pytest.mark.slow
def test_a_resumed_torch_run_of_two_ranks_runs_two_ranks_again(tmp_path: Path) -> None:
    """Two torchrun ranks killed mid-run (the launcher and its ranks, paused first so
    that the run is surely unfinished) resume as two ranks, byte-identical."""
    import contextlib
    import os

    argv = ["train", "--backend", "torch", "--nproc", "2", "--epochs", "40", "--batch-size",
            "256", "--layers", "64,16,10", "--patience", "none", "--checkpoint-seconds", "0",
            "--quiet"]
    whole, run = tmp_path / "whole", tmp_path / "run"
    done = subprocess.run(cli(*argv, "--out", str(whole)), capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    process = subprocess.Popen(cli(*argv, "--out", str(run)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_epoch(run, 2, process, timeout=300)
        family = [process.pid, *descendants(process.pid)]
        for pid in family:
            os.kill(pid, signal.SIGSTOP)
        assert json.loads((run / "config.json").read_text())["status"] == "running"
    finally:
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=60)
    for pid in family:  # the ranks are gone (and with them the run folder's lock)
        while Path(f"/proc/{pid}").exists() and "Z" not in (
                Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[:1] or ["Z"]):
            time.sleep(0.05)
    resumed = subprocess.run(cli("train", "--resume", str(run), "--quiet"),
                             capture_output=True, text=True, check=False, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "2 data-parallel ranks (gloo); resuming" in resumed.stdout
    assert json.loads((run / "config.json").read_text())["nproc"] == 2
    assert (run / FILENAME).read_bytes() == (whole / FILENAME).read_bytes()
