"""Damaged dataset files: every IDX file is checked when it is loaded —
magic number, declared shape against the file size, image against label counts, labels
within the classes — each failure one line naming the file; ``data list`` says
"damaged"; a data root that is a file is one line too."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tiny_idx_arrays
from twinmlp.cli import main
from twinmlp.shared.idx import FILES, SOURCES, IdxSource, read_idx, write_idx


@pytest.fixture
def raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny MNIST stand-in in torchvision's layout; returns its raw folder."""
    monkeypatch.setenv("TWINMLP_DATA", str(tmp_path / "data"))
    folder = SOURCES["mnist"].raw_folder(tmp_path / "data")
    folder.mkdir(parents=True)
    for name, array in tiny_idx_arrays(n_train=60, n_test=20, seed=2).items():
        write_idx(folder / name, array)
    return folder


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


DAMAGE = {
    "empty": (lambda data: b"", "the file is empty"),
    "truncated": (lambda data: data[:-7], "(truncated)"),
    "trailing bytes": (lambda data: data + b"\0\0", "(trailing bytes)"),
    "bad magic": (lambda data: b"\x1f\x8b" + data[2:], "bad magic number 0x1f8b"),
    "short header": (lambda data: data[:6], "the header is cut short at 6 bytes"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("file", [FILES[0], FILES[3]])
def test_a_damaged_file_is_named_when_training_and_listed_as_damaged(
        raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str,
        file: str) -> None:
    change, reason = DAMAGE[damage]
    (raw / file).write_bytes(change((raw / file).read_bytes()))
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--out", str(out), "--quiet"]) == 2
    err = one_error_line(capsys)
    assert f"{raw / file} is damaged: " in err and reason in err
    assert "twinmlp data import mnist DIR again" in err
    assert not out.exists()  # checked before any folder is made
    assert main(["data", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("mnist "))
    assert "damaged" in line and str(raw / file) in line


def test_a_test_label_outside_the_classes_stops_before_training(
        raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bug 2: label 10 in t10k-labels gave 11 % accuracy, or a crash after training."""
    labels = read_idx(raw / FILES[3], 1).copy()
    labels[3] = 10
    write_idx(raw / FILES[3], labels)
    for extra in ([], ["--out", str(tmp_path / "run")]):
        assert main(["train", "--dataset", "mnist", "--quiet", *extra]) == 2
        err = one_error_line(capsys)
        assert (f"{raw / FILES[3]} is damaged: holds label 10, outside the 10 classes 0..9"
                in err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("pair", [(0, 1), (2, 3)], ids=["train", "test"])
def test_image_and_label_counts_must_agree(raw: Path, capsys: pytest.CaptureFixture[str],
                                           pair: tuple[int, int]) -> None:
    """Bug 3: 600 images with 550 labels dropped 50 silently (the test split failed only
    after training, naming no file)."""
    images, labels = FILES[pair[0]], FILES[pair[1]]
    kept = read_idx(raw / labels, 1)[:-5]
    write_idx(raw / labels, kept)
    assert main(["train", "--dataset", "mnist", "--quiet"]) == 2
    err = one_error_line(capsys)
    n = len(read_idx(raw / images, 3))
    assert (f"{raw / labels} is damaged: holds {n - 5} labels but {images} holds {n} images"
            in err)


def test_data_import_refuses_unequal_counts_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from twinmlp.shared import idx

    folder = tmp_path / "gz"
    folder.mkdir()
    sums = {}
    arrays = tiny_idx_arrays(n_train=60, n_test=20)
    arrays[FILES[1]] = arrays[FILES[1]][:55]
    for name, array in arrays.items():
        write_idx(folder / name, array)
        data = gzip.compress((folder / name).read_bytes(), mtime=0)
        (folder / f"{name}.gz").write_bytes(data)
        sums[name] = idx.md5(data)
    monkeypatch.setitem(SOURCES, "mnist", IdxSource("mnist", "MNIST", sums, {}))
    assert main(["data", "import", "mnist", str(folder), "--data-root",
                 str(tmp_path / "data")]) == 2
    err = one_error_line(capsys)
    assert f"{folder / FILES[1]}.gz holds 55 labels but {FILES[0]}.gz holds 60 images" in err
    assert not SOURCES["mnist"].raw_folder(tmp_path / "data").exists()


def test_data_list_says_ready_only_for_whole_files(raw: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    assert "mnist          ready" in capsys.readouterr().out


def test_a_data_root_that_is_a_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Bug 1: TWINMLP_DATA naming a file gave tracebacks for data import and --download."""
    from twinmlp.shared import idx

    blocker = tmp_path / "datafile"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TWINMLP_DATA", str(blocker))
    # --download: the data root is made before any network access
    assert main(["train", "--dataset", "mnist", "--download", "--quiet"]) == 2
    err = one_error_line(capsys)
    assert f"data root {blocker} is a file, not a folder" in err and "TWINMLP_DATA" in err
    folder = tmp_path / "gz"
    folder.mkdir()
    sums = {}
    for name, array in tiny_idx_arrays(n_train=10, n_test=5).items():
        data = gzip.compress(_idx_bytes(array), mtime=0)
        (folder / f"{name}.gz").write_bytes(data)
        sums[name] = idx.md5(data)
    monkeypatch.setitem(SOURCES, "mnist", IdxSource("mnist", "MNIST", sums, {}))
    assert main(["data", "import", "mnist", str(folder)]) == 2
    err = one_error_line(capsys)
    assert f"data root {blocker} is a file, not a folder" in err
    assert blocker.read_text() == "not a folder"


def _idx_bytes(array: np.ndarray) -> bytes:
    import io
    import struct

    buffer = io.BytesIO()
    buffer.write(struct.pack(">HBB", 0, 0x08, array.ndim))
    buffer.write(struct.pack(f">{array.ndim}I", *array.shape))
    buffer.write(np.ascontiguousarray(array, np.uint8).tobytes())
    return buffer.getvalue()
