"""Every subcommand on digits and on a tiny IDX dataset in torchvision's layout; data
import and the offline message; checkpoints crossing backends; valid PNGs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tiny_idx_arrays, write_tiny_gz_files
from twinmlp.checkpoint import FILENAME, load_checkpoint
from twinmlp.cli import main
from twinmlp.runs import LOCK
from twinmlp.shared.idx import FILES, SOURCES, write_idx

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FILES = {"config.json", "history.csv", FILENAME, "last.safetensors", "curves.png",
             "confusion.png", LOCK}


def assert_valid_png(path: Path, min_size: tuple[int, int] = (300, 300)) -> None:
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], image.size


@pytest.fixture
def tiny_gz_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The four .gz files of a tiny fashion-mnist stand-in, with their MD5s made known."""
    write_tiny_gz_files(tmp_path / "download", monkeypatch)
    return tmp_path / "download"


@pytest.fixture
def tiny_root(data_root: Path) -> Path:
    """A tiny dataset already in torchvision's layout under the data root (as MNIST)."""
    raw = SOURCES["mnist"].raw_folder(data_root)
    raw.mkdir(parents=True)
    for name, array in tiny_idx_arrays(seed=1).items():
        write_idx(raw / name, array)
    return data_root


# --- data ---

def test_data_import_then_list(data_root: Path, tiny_gz_folder: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    assert "fashion-mnist  missing" in capsys.readouterr().out
    assert main(["data", "import", "fashion-mnist", str(tiny_gz_folder)]) == 0
    assert "MD5 checked" in capsys.readouterr().out
    raw = data_root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(FILES)
    assert main(["data", "list"]) == 0
    assert "fashion-mnist  ready" in capsys.readouterr().out


def test_data_import_refuses_a_wrong_md5_and_writes_nothing(
        data_root: Path, tiny_gz_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tiny_gz_folder / "t10k-labels-idx1-ubyte.gz"
    labels = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(labels[:-1] + b"\x03", mtime=0))
    assert main(["data", "import", "fashion-mnist", str(tiny_gz_folder)]) == 2
    err = capsys.readouterr().err
    assert "t10k-labels-idx1-ubyte.gz has MD5" in err and "matches no known copy" in err
    assert not SOURCES["fashion-mnist"].raw_folder(data_root).exists()


def test_data_import_names_missing_files(data_root: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "mnist", str(tmp_path)]) == 2
    assert "lacks train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_offline_without_a_copy_exits_2_and_writes_nothing(
        data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"mnist is not in {data_root / 'MNIST' / 'raw'}" in err
    assert "twinmlp data import mnist DIR" in err and "--download" in err
    assert err.count("\n") == 1 and not out.exists() and not data_root.exists()


def test_failed_download_exits_2_and_leaves_no_partial_files(
        data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from torchvision import datasets

    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    out = tmp_path / "run"
    code = main(["train", "--dataset", "mnist", "--download", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "download failed" in err and err.count("\n") == 1
    assert not out.exists()
    assert [p.name for p in data_root.iterdir()] == []  # no scratch, no half file


# --- train, evaluate, checkpoints ---

def train_run(out: Path, *extra: str, dataset: str = "digits") -> None:
    args = ["train", "--dataset", dataset, "--epochs", "8", "--lr", "0.05", "--quiet",
            "--out", str(out), *extra]
    assert main(args) == 0


def test_train_writes_a_complete_run_folder(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    train_run(tmp_path / "run", "--backend", "numpy")
    out = capsys.readouterr().out
    assert "numpy (cpu, float32): test accuracy" in out
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == RUN_FILES
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"] == "digits" and config["backend"] == "numpy"
    assert config["model_config"]["layer_sizes"] == [64, 32, 10]
    assert len((run / "history.csv").read_text().splitlines()) == 1 + config["epochs_run"]
    assert_valid_png(run / "curves.png")
    assert_valid_png(run / "confusion.png")


def test_train_both_writes_one_folder_per_backend(tmp_path: Path) -> None:
    train_run(tmp_path / "run", "--dtype", "float64")
    for backend in ("numpy", "torch"):
        assert {p.name for p in (tmp_path / "run" / backend).iterdir()} == RUN_FILES


@pytest.mark.parametrize(("dtype", "trained_by", "evaluated_by"), [
    ("float64", "numpy", "torch"), ("float64", "torch", "numpy"),
    ("float32", "numpy", "torch"), ("float32", "torch", "numpy"),
])
def test_checkpoints_cross_load(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                dtype: str, trained_by: str, evaluated_by: str) -> None:
    train_run(tmp_path / "run", "--backend", trained_by, "--dtype", dtype)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--backend", evaluated_by]) == 0
    out = capsys.readouterr().out
    assert f"trained by {trained_by}" in out and f"evaluated by {evaluated_by}" in out
    agreement = float(out.split("identical predictions to the training run ")[1].split()[0])
    assert agreement == 100.0 if dtype == "float64" else agreement >= 99.9


QUICK_RUN = ["train", "--epochs", "2", "--quiet"]


@pytest.mark.parametrize(("extra", "kind", "leaves"), [
    ([], "one run folder per backend (--backend both)", ["numpy", "torch"]),
    (["--backend", "numpy", "--seeds", "0,1"], "one run folder per seed (--seeds)",
     ["seed0", "seed1"]),
    (["--seeds", "0,1"], "one run folder per seed (--seeds)",
     ["seed0/numpy", "seed0/torch", "seed1/numpy", "seed1/torch"]),
])
def test_evaluate_on_a_parent_folder_names_the_run_folders_inside(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], kind: str,
        leaves: list[str]) -> None:
    run = tmp_path / "run"
    assert main([*QUICK_RUN, *extra, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert err == (f"twinmlp: error: no checkpoint at {run / FILENAME}: {run} holds {kind}; "
                   f"evaluate one of them: {', '.join(str(run / leaf) for leaf in leaves)}\n")
    assert main(["evaluate", str(run / leaves[0])]) == 0


def test_evaluate_on_an_unfinished_run_points_at_resume_and_last(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main([*QUICK_RUN, "--backend", "numpy", "--out", str(run)]) == 0
    (run / FILENAME).unlink()
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "status": "interrupted after "
                                                                     "epoch 2"}))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 2
    assert capsys.readouterr().err == (
        f"twinmlp: error: no checkpoint at {run / FILENAME}: the run in {run} has not "
        f"finished (status: interrupted after epoch 2); finish it with twinmlp train "
        f"--resume {run}, or evaluate its last epoch checkpoint: twinmlp evaluate "
        f"{run / 'last.safetensors'}\n")
    assert main(["evaluate", str(run / "last.safetensors")]) == 0


def test_evaluate_refuses_a_device_the_numpy_twin_cannot_use(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path), "--backend", "numpy", "--device", "cuda"]) == 2
    assert capsys.readouterr().err == (
        "twinmlp: error: --device cuda means nothing with --backend numpy: the NumPy twin "
        "runs on the CPU (add --backend torch to use a torch device)\n")


def test_tiny_idx_dataset_end_to_end(tiny_root: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    train_run(tmp_path / "run", "--backend", "torch", "--layers", "784,32,10",
              dataset="mnist")
    out = capsys.readouterr().out
    assert "mnist: 480 train / 120 val / 100 test, 784 features, 10 classes" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy >= 90.0  # the patches are easy to tell apart
    assert main(["evaluate", str(tmp_path / "run" / FILENAME), "--backend", "numpy"]) == 0
    assert "identical predictions to the training run 100.00 %" in capsys.readouterr().out
    assert main(["parity", "--dataset", "mnist", "--layers", "784,16,10", "--epochs", "1",
                 "--out", str(tmp_path / "parity"), "--quiet"]) == 0
    assert "parity PASS" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "version"])
def test_damaged_checkpoints_are_refused_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    train_run(tmp_path / "run", "--backend", "numpy")
    path = tmp_path / "run" / FILENAME
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
        expected = "is malformed or truncated"
    elif damage == "flip":
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))
        expected = "fails its checksum"
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
        expected = "is malformed or truncated"
    else:
        version = b'\\"format_version\\": '
        path.write_bytes(bytes(data).replace(version + b"1", version + b"9"))
        expected = "has format version 9"
    capsys.readouterr()
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_checkpoint_holds_parameters_metadata_and_scaler(tmp_path: Path) -> None:
    train_run(tmp_path / "run", "--backend", "torch", "--dtype", "float64")
    checkpoint = load_checkpoint(tmp_path / "run")
    assert set(checkpoint.params) == {"W1", "b1", "W2", "b2"}
    assert checkpoint.params["W1"].dtype == np.float64
    meta = checkpoint.meta
    assert meta["format_version"] == 1 and meta["backend"] == "torch"
    assert meta["dataset"] == "digits" and meta["dtype"] == "float64"
    assert meta["train_config"]["lr"] == 0.05
    assert checkpoint.scaler is not None and checkpoint.scaler.mean.shape == (64,)


# --- parity ---

def test_parity_on_digits_writes_table_csv_and_png(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "parity"
    assert main(["parity", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "torch-cpu grad W1" in text and "torch-cpu b2" in text and "parity PASS" in text
    header = (out / "drift.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "step" and "torch-cpu grad W1" in header and len(header) == 9
    assert len((out / "drift.csv").read_text().splitlines()) == 1 + 18  # 1149 rows / 64
    assert_valid_png(out / "drift.png")


def test_parity_exits_1_when_a_tolerance_breaks(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp import tolerances

    monkeypatch.setitem(tolerances.TRAJECTORY, "float32", 1e-12)
    assert main(["parity", "--epochs", "1", "--dtype", "float32", "--out",
                 str(tmp_path / "p"), "--quiet"]) == 1
    assert "BROKEN" in capsys.readouterr().out


# --- show ---

@pytest.mark.parametrize("name", ["softmax", "MLP.backward_pass", "backward_pass", "SGD.step",
                                  "functional.leaky_relu_derivative"])
def test_show_prints_both_sources_side_by_side(name: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name, "--width", "160"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("numpy_impl/") and "torch_impl/" in lines[0]
    assert any(line.startswith("def ") and line.count("def ") == 2 for line in lines)
    assert all(len(line) <= 160 for line in lines)


def test_show_names_what_the_twins_share(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "MLP.backward"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("shared/model.py:") and "written once, for both twins" in lines[0]
    assert any(line.lstrip().startswith("def backward(") for line in lines)


# --- real data: Debian's Fashion-MNIST, where installed ---

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="dataset-fashion-mnist not installed")
def test_debian_fashion_mnist_import_and_train(data_root: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import", "fashion-mnist", str(DEBIAN_FASHION)]) == 0
    assert main(["train", "--dataset", "fashion-mnist", "--backend", "both", "--epochs", "1",
                 "--floor-copies", "1", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "fashion-mnist: 55000 train / 5000 val / 10000 test" in out
    accuracies = [float(part.split()[0]) for part in out.split("test accuracy ")[1:]]
    assert len(accuracies) == 2 and min(accuracies) > 75.0
    assert "parity PASS" in out


def test_altered_metadata_fails_the_checksum(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    train_run(tmp_path / "run", "--backend", "numpy")
    path = tmp_path / "run" / FILENAME
    data = path.read_bytes()
    altered = data.replace(b'\\"dtype\\": \\"float32\\"', b'\\"dtype\\": \\"float64\\"')
    assert altered != data
    path.write_bytes(altered)
    assert main(["evaluate", str(path)]) == 2
    assert "fails its checksum" in capsys.readouterr().err


def test_optimizer_state_round_trips_through_the_checkpoint(tmp_path: Path) -> None:
    from twinmlp import torch_impl

    train_run(tmp_path / "run", "--backend", "numpy", "--dtype", "float64", "--optimizer",
              "adam", "--lr", "0.01", "--schedule", "cosine", "--warmup-epochs", "2",
              "--dropout", "0.2")
    checkpoint = load_checkpoint(tmp_path / "run")
    state = checkpoint.optimizer_state
    assert int(state["step"]) == 8 * 18  # 8 epochs of 18 steps
    assert set(state) == {"step"} | {f"{k}.{m}" for k in ("W1", "b1", "W2", "b2")
                                     for m in ("exp_avg", "exp_avg_sq")}
    optimizer = torch_impl.optim.make_optimizer("adam", 0.01)
    optimizer.load_state_dict(state)
    for key, value in optimizer.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train_config"]
    assert config["optimizer"] == "adam" and config["dropout"] == 0.2


def test_train_help_lists_every_training_option(capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp.shared.config import TrainConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for name in TrainConfig.__dataclass_fields__:
        if name not in ("seed", "restore_best"):
            assert f"--{name.replace('_', '-')}" in text, name
