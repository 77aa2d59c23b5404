"""``twinmlp data import`` and the MNIST family's loader: the raw folder's mode, importing
torchvision's own download folder in place, and training files too small to split."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tiny_idx_arrays, write_tiny_gz_files
from twinmlp.cli import main
from twinmlp.shared.data import load_dataset
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.idx import FILES, SOURCES, read_idx, write_idx


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def write_gz_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The four .gz files of a tiny fashion-mnist stand-in in ``folder``, their MD5s known."""
    return write_tiny_gz_files(folder, monkeypatch, n_train=50, n_test=10)


def test_import_gives_the_raw_folder_the_umask_mode(data_root: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    umask_022: None) -> None:
    write_gz_files(tmp_path / "download", monkeypatch)
    assert main(["data", "import", "fashion-mnist", str(tmp_path / "download")]) == 0
    raw = SOURCES["fashion-mnist"].raw_folder(data_root)
    assert stat.S_IMODE(raw.stat().st_mode) == 0o755  # as mkdir: 0o777 & ~umask, not 0o700
    for name in FILES:
        assert stat.S_IMODE((raw / name).stat().st_mode) == 0o644


def test_import_of_the_data_roots_own_raw_folder_keeps_its_sources(
        data_root: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    raw = SOURCES["fashion-mnist"].raw_folder(data_root)  # torchvision's download layout
    contents = write_gz_files(raw, monkeypatch)
    gz_before = {f: (raw / f"{f}.gz").read_bytes() for f in FILES}
    assert main(["data", "import", "fashion-mnist", str(raw)]) == 0
    for name in FILES:
        assert (raw / f"{name}.gz").read_bytes() == gz_before[name]  # sources kept
        assert (raw / name).read_bytes() == contents[name]  # and unzipped beside them
    assert main(["data", "import", "fashion-mnist", str(raw)]) == 0  # again: still whole
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        [*FILES, *(f"{f}.gz" for f in FILES)])
    assert read_idx(raw / FILES[1], 1).shape == (50,)
    assert "imported fashion-mnist" in capsys.readouterr().out


def write_mnist(root: Path, n_train: int) -> None:
    raw = SOURCES["mnist"].raw_folder(root)
    raw.mkdir(parents=True)
    arrays = tiny_idx_arrays(n_train=n_train, n_test=6, seed=2)
    for name, array in arrays.items():
        write_idx(raw / name, array)


@pytest.mark.parametrize("n_train", [2, 3, 4])
def test_tiny_mnist_files_split_and_train(n_train: int, data_root: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_mnist(data_root, n_train)
    data = load_dataset("mnist", data_root)
    assert (len(data.y_train), len(data.y_val)) == (n_train - 1, 1)
    code = main(["train", "--dataset", "mnist", "--backend", "numpy", "--layers", "784,4,10",
                 "--epochs", "2", "--patience", "none", "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    assert "test accuracy" in capsys.readouterr().out


def test_a_single_mnist_training_row_is_refused_clearly(data_root: Path) -> None:
    write_mnist(data_root, 1)
    with pytest.raises(TwinMLPError, match=r"mnist in .*MNIST/raw holds 1 training row: at "
                                           r"least 2 are needed, one to train on and one "
                                           r"held out for validation"):
        load_dataset("mnist", data_root)


def test_mnist_split_of_a_large_file_is_unchanged(data_root: Path) -> None:
    write_mnist(data_root, 600)
    data = load_dataset("mnist", data_root)
    assert (len(data.y_train), len(data.y_val)) == (480, 120)
    assert np.isfinite(data.X_train).all()
