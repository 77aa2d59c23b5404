"""File-system failures and run folders: a bad ``--out`` fails before the
computing, with one line naming the path and the fix; results are written as a set; a
run folder belongs to one run (lock), refuses others' files, never stays "running" after
a failure the program survived, loses its stale temporaries, and ``--resume`` refuses an
epoch checkpoint of another run."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli_refusals import no_computing, one_error_line  # noqa: F401 (a fixture)
from twinmlp import files
from twinmlp.checkpoint import FILENAME, LAST, load_train_state
from twinmlp.cli import main
from twinmlp.files import FileSystemError, write_set
from twinmlp.runs import LOCK, RunRecorder
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import Dataset
from twinmlp.shared.trainer import TrainState
from twinmlp.training import TrainedTwin

QUICK = ["train", "--backend", "numpy", "--epochs", "3", "--lr", "0.05", "--quiet"]


def config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch):
    """Make writes under a folder fail with an injected ``OSError`` (root ignores chmod,
    so a read-only folder or a full disk is simulated where twinmlp creates files)."""
    real = files.tempfile.mkstemp
    real_mkdtemp = files.tempfile.mkdtemp

    def make(folder: Path, code: int = errno.EROFS) -> None:
        def refuse(*args: object, dir: str | None = None, **kwargs: object):
            if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
                raise OSError(code, os.strerror(code))
            return real(*args, dir=dir, **kwargs)

        def refuse_dir(*args: object, dir: str | None = None, **kwargs: object):
            if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
                raise OSError(code, os.strerror(code))
            return real_mkdtemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
        monkeypatch.setattr(files.tempfile, "mkdtemp", refuse_dir)

    return make


# --- an --out that cannot be written fails before the computing ---

@pytest.mark.parametrize("command", [
    QUICK,
    ["parity", "--epochs", "1", "--quiet"],
    ["bench", "--dataset", "digits", "--hidden", "8", "--batch-sizes", "64", "--repeats", "1",
     "--warmup", "0", "--no-anchors", "--backends", "numpy", "--quiet"],
], ids=["train", "parity", "bench"])
@pytest.mark.parametrize("where", ["a file", "under a file", "read-only", "full"])
@pytest.mark.usefixtures("no_computing")
def test_an_unwritable_out_fails_at_once_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], refusing,
        command: list[str], where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("mine")
    out = {"a file": blocker, "under a file": blocker / "run"}.get(where, tmp_path / "out")
    if where in ("read-only", "full"):
        out.mkdir()
        refusing(out, errno.EROFS if where == "read-only" else errno.ENOSPC)
    assert main([*command, "--out", str(out)]) == 2
    err = one_error_line(capsys)
    expected = {"a file": f"{blocker} is a file, not a folder: choose another path",
                "under a file": "a part of the path is a file, not a folder",
                "read-only": "the file system is read-only: choose a writable place",
                "full": "the disk is full: free some space"}[where]
    assert expected in err and str(out) in err
    assert blocker.read_text() == "mine"


def test_resume_in_a_read_only_folder_is_one_line(tmp_path: Path, refusing,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*QUICK, "--out", str(tmp_path / "run")]) == 0
    (tmp_path / "run" / "config.json").write_text(
        json.dumps({**config(tmp_path / "run"), "status": "interrupted after epoch 3"}))
    capsys.readouterr()
    refusing(tmp_path / "run")
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 2
    assert "the file system is read-only" in one_error_line(capsys)


def test_a_full_disk_at_the_end_leaves_a_failed_run_that_resumes_identically(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """ENOSPC while writing curves.png must not leave "running" or a traceback, and
    --resume must finish the run identically."""
    from twinmlp import runs

    assert main([*QUICK, "--out", str(tmp_path / "whole")]) == 0
    real = runs.plot_curves

    def disk_full(history: object, path: Path, title: str) -> None:
        def write(temporary: Path) -> None:
            temporary.write_bytes(b"\x89PNG half")
            raise OSError(errno.ENOSPC, "No space left on device")

        files.atomic_write_with(path, write)

    monkeypatch.setattr(runs, "plot_curves", disk_full)
    run = tmp_path / "run"
    capsys.readouterr()
    assert main([*QUICK, "--out", str(run)]) == 2
    err = one_error_line(capsys)
    assert f"cannot write {run / 'curves.png'}: the disk is full: free some space" in err
    assert f"resume with: twinmlp train --resume {run}" in err
    assert config(run)["status"].startswith("failed: cannot write")
    # no half file
    assert not [p for p in run.iterdir() if p.name.startswith(files.TEMPORARY_PREFIX)]
    monkeypatch.setattr(runs, "plot_curves", real)
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert config(run)["status"] == "finished"
    assert (run / FILENAME).read_bytes() == (tmp_path / "whole" / FILENAME).read_bytes()


def test_a_failure_the_program_survives_never_leaves_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug keeps its traceback, but the run folder says it failed."""
    from twinmlp import runs

    def bug(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(runs, "plot_confusion", bug)
    with pytest.raises(ZeroDivisionError):
        main([*QUICK, "--out", str(tmp_path / "run")])
    assert config(tmp_path / "run")["status"] == "failed: ZeroDivisionError: a bug"


# --- results as a set ---

def test_write_set_keeps_the_old_set_when_a_write_fails(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("old")
    (tmp_path / "a.png").write_text("old")

    def write(folder: Path) -> None:
        (folder / "a.json").write_text("new")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(FileSystemError, match=f"cannot write into {tmp_path}: the disk is"):
        write_set(tmp_path, write)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.json": "old",
                                                                   "a.png": "old"}


def test_write_set_holds_ctrl_c_back_until_the_whole_set_is_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weak spot: Ctrl-C during bench/parity's final writes left new JSON beside old PNG."""
    for name in ("a.json", "a.png"):
        (tmp_path / name).write_text("old")
    real_replace = os.replace

    def replace_then_interrupt(source: str, target: str) -> None:
        real_replace(source, target)
        os.kill(os.getpid(), signal.SIGINT)  # arrives between the two renames

    monkeypatch.setattr(files.os, "replace", replace_then_interrupt)

    def write(folder: Path) -> None:
        for name in ("a.json", "a.png"):
            (folder / name).write_text("new")

    with pytest.raises(KeyboardInterrupt):
        write_set(tmp_path, write)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.json": "new",
                                                                   "a.png": "new"}


def test_parity_writes_its_pair_through_a_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp import plots

    out = tmp_path / "parity"
    out.mkdir()
    (out / "drift.csv").write_text("old")
    (out / "drift.png").write_text("old")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots, "plot_drift", full)
    assert main(["parity", "--epochs", "1", "--layers", "64,4,10", "--quiet", "--out",
                 str(out)]) == 2
    assert "the disk is full" in one_error_line(capsys)
    assert {p.name: p.read_text() for p in out.iterdir()} == {"drift.csv": "old",
                                                              "drift.png": "old"}


# --- one run per folder, nobody else's files replaced ---

def test_a_folder_holding_a_users_files_is_refused_unless_overwrite(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.json").write_text('{"my": "settings"}')
    (out / "history.csv").write_text("my,history\n")
    (out / "notes.txt").write_text("keep me")
    assert main([*QUICK, "--out", str(out)]) == 2
    err = one_error_line(capsys)
    assert (f"{out} holds files twinmlp did not write (notes.txt, config.json, history.csv)"
            in err and "--overwrite" in err)
    assert (out / "config.json").read_text() == '{"my": "settings"}'
    assert main([*QUICK, "--out", str(out), "--overwrite"]) == 0
    assert config(out)["status"] == "finished" and (out / "notes.txt").read_text() == "keep me"
    capsys.readouterr()
    assert main([*QUICK, "--out", str(out), "--seed", "1"]) == 2  # notes.txt is still there


def test_rerunning_into_a_run_folder_of_its_own_is_fine(tmp_path: Path) -> None:
    assert main([*QUICK, "--out", str(tmp_path / "run")]) == 0
    assert main([*QUICK, "--out", str(tmp_path / "run"), "--seed", "1"]) == 0
    assert config(tmp_path / "run")["model_config"]["seed"] == 1


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "twinmlp", *args]


LONG = ["train", "--backend", "numpy", "--epochs", "40", "--batch-size", "256",
        "--patience", "none", "--checkpoint-seconds", "0", "--quiet"]


@pytest.mark.slow
def test_two_trains_into_one_folder_the_second_fails_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two trains into one folder must not both "succeed", mixing their files: the
    second fails at once (the first is paused meanwhile, so it is surely mid-run), and
    the first finishes with files all of its own."""
    from twinmlp.checkpoint import load_checkpoint

    run = tmp_path / "run"
    first = subprocess.Popen(cli(*LONG, "--out", str(run)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / LAST).exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.02)
        first.send_signal(signal.SIGSTOP)
        second = subprocess.run(cli(*LONG, "--seed", "7", "--out", str(run)),
                                capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 2
        assert second.stderr == (f"twinmlp: error: run folder {run} is in use by another "
                                 f"twinmlp process (pid {first.pid}): wait for it to end, or "
                                 f"choose another folder\n")
        assert main(["train", "--resume", str(run), "--quiet"]) == 2
        assert "is in use by another twinmlp process" in one_error_line(capsys)
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
    assert config(run)["status"] == "finished"
    assert config(run)["model_config"]["seed"] == 0
    assert load_checkpoint(run).meta["model_config"]["seed"] == 0
    assert load_train_state(run / LAST)[1]["model_config"]["seed"] == 0
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert "this run already finished" in capsys.readouterr().out


def test_the_lock_is_released_when_the_command_ends(tmp_path: Path) -> None:
    assert main([*QUICK, "--out", str(tmp_path / "run")]) == 0
    # another process can take it now
    probe = subprocess.run(
        [sys.executable, "-c", "import fcntl, os, sys; h = os.open(sys.argv[1], os.O_RDWR); "
         "fcntl.flock(h, fcntl.LOCK_EX | fcntl.LOCK_NB)", str(tmp_path / "run" / LOCK)],
        check=False)
    assert probe.returncode == 0


# --- weak spots of --resume ---

def interrupted_run(tmp_path: Path, name: str, *extra: str) -> Path:
    run = tmp_path / name
    assert main([*QUICK, "--out", str(run), *extra]) == 0
    (run / FILENAME).unlink()
    (run / "config.json").write_text(json.dumps({**config(run), "status": "interrupted"}))
    return run


def test_resume_refuses_an_epoch_checkpoint_of_another_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours = interrupted_run(tmp_path, "ours")
    theirs = interrupted_run(tmp_path, "theirs", "--lr", "0.02")
    (ours / LAST).write_bytes((theirs / LAST).read_bytes())
    capsys.readouterr()
    assert main(["train", "--resume", str(ours), "--quiet"]) == 2
    err = one_error_line(capsys)
    assert (f"{ours / LAST} belongs to another run: its train_config.lr is 0.02 but "
            f"{ours / 'config.json'} says 0.05; not resuming" in err)


def test_resume_removes_the_temporary_files_a_killed_run_left(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = interrupted_run(tmp_path, "run")
    stale = [run / (prefix + "k2j4h5" + suffix) for prefix, suffix in (
        files.temporary_name(run / LAST), files.temporary_name(run / "config.json"))]
    for path in stale:
        path.write_bytes(b"half a file")
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    assert not any(path.exists() for path in stale)
    assert config(run)["status"] == "finished"


def test_a_users_files_that_look_like_temporaries_are_never_deleted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    mine = {".config.json": "my settings", ".history.csv": "my,history\n",
            ".probe.notes": "keep me", ".last.abc.safetensors": "mine too"}
    for name, text in mine.items():
        (out / name).write_text(text)
    assert main([*QUICK, "--out", str(out)]) == 2  # someone else's files: refused
    assert "holds files twinmlp did not write (.config.json" in one_error_line(capsys)
    assert main([*QUICK, "--out", str(out), "--overwrite"]) == 0  # written beside them
    assert config(out)["status"] == "finished"
    assert {name: (out / name).read_text() for name in mine} == mine


@pytest.mark.parametrize("edit", ["key removed", "a list", "unknown key", "wrong type",
                                  "bad value"])
def test_a_hand_edited_config_json_is_one_line_naming_file_and_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str) -> None:
    """A config.json edited by hand (a key gone, a misspelt key such as 'lrr', a wrong
    type) is refused in one line naming the file and the key."""
    run = interrupted_run(tmp_path, "run")
    meta = config(run)
    if edit == "key removed":
        del meta["model_config"]
        expected = "the metadata lacks key 'model_config'"
    elif edit == "a list":
        meta = [meta]
        expected = "the metadata must be a JSON object, got array"
    elif edit == "unknown key":
        meta["train_config"]["lrr"] = meta["train_config"].pop("lr")
        expected = "train_config holds unknown key 'lrr'; expected keys: epochs, batch_size"
    elif edit == "wrong type":
        meta["backend"] = 3
        expected = "backend must be a JSON string, got integer"
    else:
        meta["train_config"]["lr"] = -1
        expected = "train_config: TrainConfig.lr = -1 is not allowed"
    (run / "config.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = one_error_line(capsys)
    assert f"{run / 'config.json'}: {expected}" in err


# --- Ctrl-C with --backend both ---

def test_ctrl_c_in_the_numpy_half_resumes_both_halves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Weak spot: the message suggested resuming the numpy half only."""
    from twinmlp import runs

    calls = []
    real = runs.save_train_state

    def interrupt_once(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(*args)

    monkeypatch.setattr(runs, "save_train_state", interrupt_once)
    out = tmp_path / "both"
    both = ["train", "--epochs", "3", "--lr", "0.05", "--checkpoint-seconds", "0", "--quiet"]
    assert main([*both, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"resume with: twinmlp train --resume {out}\n" in err
    assert config(out / "torch")["status"] == "pending"
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "numpy (cpu" in printed and "torch (cpu" in printed and "parity" in printed.lower()
    assert config(out / "numpy")["status"] == config(out / "torch")["status"] == "finished"
    assert load_train_state(out / "torch" / LAST)[0].epoch == 3


def read_only_tmpfs(path: Path) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                          capture_output=True, check=False)
    return done.returncode == 0


def test_a_real_read_only_file_system(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The injected errors above, once for real where a tmpfs can be mounted (root
    ignores permission bits, not a read-only mount)."""
    mount = tmp_path / "ro"
    if not read_only_tmpfs(mount):
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert main([*QUICK, "--out", str(mount / "run")]) == 2
        err = one_error_line(capsys)
        assert f"cannot create the run folder {mount / 'run'}: the file system is read-only" in err
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# --- forged checkpoint metadata, and predictions of the wrong length ---

@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("finished") / "run"
    assert main([*QUICK, "--out", str(run)]) == 0
    return run


def forge(path: Path, source: Path, change) -> None:
    """Rewrite ``source``'s checkpoint with ``change(meta)`` as metadata and a valid
    checksum (``change`` may return any JSON value)."""
    from safetensors.numpy import load, save

    from twinmlp.checkpoint import _safetensors_metadata, checksum

    data = source.read_bytes()
    tensors = load(data)
    meta = change(json.loads(_safetensors_metadata(data)["twinmlp"]))
    if isinstance(meta, dict):
        meta["checksum"] = checksum(tensors, meta)
    path.write_bytes(save(tensors, metadata={"twinmlp": json.dumps(meta)}))


def without(key: str):
    return lambda meta: {k: v for k, v in meta.items() if k != key}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda meta: [meta], "the metadata must be a JSON object, got array"),
    (lambda meta: "twinmlp", "the metadata must be a JSON object, got string"),
    (without("backend"), "the metadata lacks key 'backend'"),
    (lambda meta: {**meta, "backend": "jax"}, "backend 'jax' is not one of numpy, torch"),
    (lambda meta: {**meta, "model_config": [64, 32, 10]},
     "model_config must be a JSON object, got array"),
    (lambda meta: {**meta, "model_config": {**meta["model_config"], "widht": 3}},
     "model_config holds unknown key 'widht'"),
], ids=["list", "string", "no backend", "backend jax", "model_config list", "unknown key"])
def test_evaluate_refuses_forged_metadata_naming_the_key(
        finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change,
        expected: str) -> None:
    path = tmp_path / "forged.safetensors"
    forge(path, finished / FILENAME, change)
    assert main(["evaluate", str(path)]) == 2
    assert f"checkpoint {path}: {expected}" in one_error_line(capsys)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda state: {k: v for k, v in state.items() if k != "history"},
     "train_state lacks key 'history'"),
    (lambda state: {**state, "epoch": "3"}, "train_state.epoch has the wrong type"),
    (lambda state: {**state, "history": {**state["history"], "lr": [0.1]}},
     "train_state.history.lr must be a list of 3 numbers"),
    (lambda state: [state], "train_state must be a JSON object, got array"),
], ids=["no history", "epoch string", "short history", "list"])
def test_resume_refuses_a_forged_train_state(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], change, expected: str) -> None:
    run = interrupted_run(tmp_path, "run")
    forge(run / LAST, run / LAST, lambda meta: {**meta,
                                                "train_state": change(meta["train_state"])})
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    assert f"checkpoint {run / LAST}: {expected}" in one_error_line(capsys)


def test_evaluate_names_predictions_of_the_wrong_length(
        finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Weak spot: "operands could not be broadcast"."""
    from safetensors.numpy import load

    from twinmlp.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

    good: Checkpoint = load_checkpoint(finished)
    params = {k.removeprefix("params."): v for k, v in load((finished / FILENAME).read_bytes()
                                                            ).items() if k.startswith("params.")}
    path = tmp_path / "short.safetensors"
    save_checkpoint(path, params, good.meta, good.scaler, good.test_predictions[:5])
    assert main(["evaluate", str(path)]) == 2
    assert (f"checkpoint {path}: test_predictions holds 5 predictions but the digits test set "
            f"has 360 rows" in one_error_line(capsys))


def test_seeds_claim_every_folder_before_the_first_seed_trains(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seeds"
    (out / "seed1").mkdir(parents=True)
    (out / "seed1" / "notes.txt").write_text("mine")
    assert main([*QUICK, "--seeds", "0,1", "--out", str(out)]) == 2
    assert f"{out / 'seed1'} holds files twinmlp did not write (notes.txt)" in one_error_line(
        capsys)
    assert not (out / "seed0" / FILENAME).exists()
    (out / "seed1" / "notes.txt").unlink()
    assert main([*QUICK, "--seeds", "0,1", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["seed0", "seed1"]
    assert {p.name for p in (out / "seed0").iterdir()} >= {FILENAME, "config.json"}


def test_resume_of_a_missing_folder_makes_none(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "is not a run folder" in one_error_line(capsys)
    assert not (tmp_path / "nowhere").exists()


# --- the run recorder: checkpoint throttle, stops, what train_and_report returns ---

def recorded_run(folder: Path | None, digits: Dataset, checkpoint_seconds: float,
                 stop_after: int | None = None) -> tuple[RunRecorder, TrainedTwin]:
    """Train numpy for 4 epochs through a RunRecorder; Ctrl-C after ``stop_after``."""
    from twinmlp.runs import run_metadata
    from twinmlp.training import train_and_report
    from twinmlp.twins import make_twin

    model = make_twin("numpy", ModelConfig((64, 8, 10)))
    training = TrainConfig(epochs=4, batch_size=256, lr=0.05, patience=None)
    recorder = RunRecorder(folder, run_metadata(model, "numpy", "cpu", digits, training),
                           checkpoint_seconds=checkpoint_seconds)
    if stop_after is not None:
        remember = recorder.epoch_end

        def epoch_end(state: TrainState) -> None:
            remember(state)
            if state.epoch == stop_after:
                raise KeyboardInterrupt

        recorder.epoch_end = epoch_end
    return recorder, train_and_report(model, digits, training, recorder, quiet=True)


def test_the_recorder_checkpoints_on_the_way_out_whatever_the_throttle(
        tmp_path: Path, digits: Dataset) -> None:
    from twinmlp.arrays import to_numpy

    _, trained = recorded_run(tmp_path / "run", digits, checkpoint_seconds=float("inf"))
    assert trained.history.epochs_run == 4
    assert load_train_state(tmp_path / "run" / LAST)[0].epoch == 4
    assert config(tmp_path / "run")["status"] == "finished"
    predictions = to_numpy(trained.model.predict(digits.X_test))
    assert (trained.predictions == predictions).all()


def test_the_recorder_notes_an_interrupt_and_keeps_the_epoch_it_reached(
        tmp_path: Path, digits: Dataset) -> None:
    from twinmlp.runs import RunStoppedError

    with pytest.raises(RunStoppedError, match="interrupted after epoch 2; resume with: "
                                              "twinmlp train --resume ") as stop:
        recorded_run(tmp_path / "run", digits, checkpoint_seconds=float("inf"), stop_after=2)
    assert stop.value.code == 130
    assert config(tmp_path / "run")["status"] == "interrupted after epoch 2"
    assert load_train_state(tmp_path / "run" / LAST)[0].epoch == 2


def test_the_recorder_without_a_folder_writes_nothing(tmp_path: Path, digits: Dataset,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    recorder, trained = recorded_run(None, digits, checkpoint_seconds=0.0)
    assert recorder.latest.epoch == trained.history.epochs_run == 4
    assert list(tmp_path.iterdir()) == []


def test_seeds_leave_the_parsed_options_as_they_were(tmp_path: Path) -> None:
    from twinmlp.cli import build_parser
    from twinmlp.training import run_seeds

    args = build_parser().parse_args([*QUICK, "--epochs", "1", "--seeds", "3,4",
                                      "--out", str(tmp_path / "runs")])
    before = dict(vars(args))
    assert run_seeds(args, copies=0) == 0
    assert vars(args) == before
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["seed3", "seed4"]


# --- a reader that stops reading ends nothing ---

def piped(command: list[str], close_after_lines: int, unbuffered: bool
          ) -> subprocess.CompletedProcess:
    """Run ``twinmlp command`` with stdout into a pipe whose reader goes away after
    ``close_after_lines`` lines (0: before any), as ``| head -1`` does."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(cli(*command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env)
    for _ in range(close_after_lines):
        assert process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, "", err)


@pytest.mark.parametrize(("lines", "unbuffered"), [(1, True), (0, False)],
                         ids=["closed after the first line", "closed before any line"])
def test_a_closed_stdout_leaves_a_finished_run(tmp_path: Path, lines: int,
                                               unbuffered: bool) -> None:
    """``twinmlp train --out R | head -1``: the run finishes and writes every file, and
    the command ends quietly with its own exit code."""
    run = tmp_path / "run"
    done = piped([*QUICK, "--out", str(run)], lines, unbuffered)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert config(run)["status"] == "finished"
    assert {FILENAME, LAST, "curves.png", "confusion.png", "history.csv"} <= {
        p.name for p in run.iterdir()}


@pytest.mark.parametrize("command", [["data", "list"], ["show", "softmax"]],
                         ids=["data list", "show"])
def test_a_closed_stdout_ends_other_commands_quietly(command: list[str]) -> None:
    done = piped(command, 0, unbuffered=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_closed_stdout_leaves_a_benchmarks_results(tmp_path: Path) -> None:
    bench = ["bench", "--dataset", "digits", "--hidden", "8", "--batch-sizes", "64",
             "--repeats", "1", "--warmup", "0", "--no-anchors", "--backends", "numpy",
             "--quiet", "--out", str(tmp_path / "bench")]
    done = piped(bench, 0, unbuffered=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "bench" / "bench.json").is_file()


# --- --resume continues the same run: on the same data ---

@pytest.mark.parametrize("change", ["fewer rows", "other values"])
def test_resume_refuses_other_data_naming_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        digits: Dataset, change: str) -> None:
    import dataclasses

    from twinmlp import training

    run = interrupted_run(tmp_path, "run")
    before = config(run)
    if change == "fewer rows":
        other = dataclasses.replace(digits, X_train=digits.X_train[:480],
                                    y_train=digits.y_train[:480])
    else:
        other = dataclasses.replace(digits, X_train=digits.X_train[::-1].copy())
    monkeypatch.setattr(training, "load_data", lambda args, name=None: other)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 2
    err = one_error_line(capsys)
    assert f"{run} trained on other data: {run / 'config.json'} records digits 1149 train" in err
    assert ("the data found now is 480 train / 288 val / 360 test" if change == "fewer rows"
            else "the data found now is 1149 train / 288 val / 360 test") in err
    assert before["data"]["sha256"][:12] in err
    assert config(run) == before
