"""Datasets as both backends see them: standardised float64 features, integer labels.

``digits`` (scikit-learn's 8×8 handwritten digits) is split exactly as the course notebook
split it, and works offline. ``mnist`` and ``fashion-mnist`` come through torchvision's
``MNIST``/``FashionMNIST`` classes from a data root (``--data-root``, else
``$TWINMLP_DATA``, else the user's cache folder); they download only when asked.
Every loader returns a :class:`Dataset`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.idx import (  # noqa: F401 (DatasetDamagedError: the loaders raise it)
    SOURCES,
    DatasetDamagedError,
    load_raw_folder,
)

DATASET_NAMES = ("digits", "mnist", "fashion-mnist")
#: Rows of the MNIST-family training files held out for validation, drawn with this seed.
VALIDATION_SIZE = 5000
SPLIT_SEED = 0


class DatasetMissingError(TwinMLPError):
    """A dataset is not on this machine (and was not, or could not be, downloaded)."""


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x − mean) / scale``, fitted on the training rows only.

    Features that are constant on the training rows get ``scale = 1`` (as scikit-learn's
    ``StandardScaler`` does), so they map to 0 instead of dividing by zero.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Statistics of the rows of ``X``."""
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        return cls(mean=mean, scale=scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X`` with the fitted statistics (float64 out)."""
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.scale


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test splits with integer labels ``0 … n_classes−1``."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    scaler: Standardizer
    class_names: tuple[str, ...]

    @property
    def n_features(self) -> int:
        """Width of one input row."""
        return int(self.X_train.shape[1])

    def summary(self) -> str:
        """One line: name and split sizes."""
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} val / "
                f"{len(self.y_test)} test, {self.n_features} features, {self.n_classes} classes")


def validation_given(X_val: object, y_val: object) -> bool:
    """Whether a validation split was passed: both ``X_val`` and ``y_val``, or neither
    (``False``); one without the other is refused, naming both, rather than silently
    training without validation."""
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise TwinMLPError(f"{given} was given without {missing}: a validation split needs "
                           f"both X_val and y_val (or neither)")
    return X_val is not None


def split_and_scale(name: str, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
                    y_val: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                    class_names: tuple[str, ...]) -> Dataset:
    """Fit the scaler on the training rows and apply it to all three splits."""
    scaler = Standardizer.fit(np.asarray(X_train, dtype=np.float64))
    labels = [np.asarray(y, dtype=np.int64) for y in (y_train, y_val, y_test)]
    return Dataset(name, scaler.transform(X_train), labels[0], scaler.transform(X_val),
                   labels[1], scaler.transform(X_test), labels[2], len(class_names), scaler,
                   class_names)


def load_digits(validation: bool = True) -> Dataset:
    """scikit-learn's digits, split as the notebook did: 1149 / 288 / 360.

    Test is 20 % (``random_state=42``), validation 20 % of the rest (``random_state=42``).
    The notebook scaled train and test but forgot validation; here all three are scaled
    with the training statistics. ``validation=False`` keeps the same 360 test rows and
    trains on all the other 1437 (no validation rows), as the notebook's printed run did.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    X, y = sklearn_digits(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    if not validation:
        return split_and_scale("digits", X_rest, y_rest, X_rest[:0], y_rest[:0], X_test,
                               y_test, tuple(str(d) for d in range(10)))
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.2,
                                                      random_state=42)
    return split_and_scale("digits", X_train, y_train, X_val, y_val, X_test, y_test,
                           tuple(str(d) for d in range(10)))


def default_data_root() -> Path:
    """``$TWINMLP_DATA``, else ``$XDG_CACHE_HOME/twinmlp/datasets`` (``~/.cache`` by default)."""
    if os.environ.get("TWINMLP_DATA"):
        return Path(os.environ["TWINMLP_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "twinmlp" / "datasets"


def missing_message(name: str, root: Path, reason: str = "") -> str:
    """What is missing, where it was looked for, and the commands that fix it."""
    folder = SOURCES[name].raw_folder(root)
    hint = " (Debian: apt-get install dataset-fashion-mnist, then DIR=" \
           "/usr/share/datasets/fashion-mnist)" if name == "fashion-mnist" else ""
    because = f" ({reason})" if reason else ""
    return (f"{name} is not in {folder}{because}; fix: twinmlp data import {name} DIR{hint}, "
            f"or add --download where the network allows")


def data_root_message(root: Path, error: OSError) -> str:
    """One line for a data root that cannot be written (a file, read-only, full)."""
    if Path(root).exists() and not Path(root).is_dir():
        why = "is a file, not a folder"
    else:
        why = f"cannot be written ({error.strerror or type(error).__name__})"
    return (f"data root {root} {why}; fix: point TWINMLP_DATA or --data-root at a writable "
            f"folder")


def load_dataset(name: str, root: Path | None = None, download: bool = False) -> Dataset:
    """The dataset called ``name`` (one of :data:`DATASET_NAMES`)."""
    if name == "digits":
        return load_digits()
    if name not in SOURCES:
        raise TwinMLPError(f"dataset = {name!r} is not allowed: expected one of "
                         + ", ".join(DATASET_NAMES))
    return load_mnist_family(name, default_data_root() if root is None else Path(root),
                             download)


def load_mnist_family(name: str, root: Path, download: bool = False) -> Dataset:
    """MNIST or Fashion-MNIST through torchvision: pixels scaled to [0, 1], a seeded
    validation split of :data:`VALIDATION_SIZE` training rows (of a fifth of a smaller
    file, at least one row: :func:`validation_rows`), then standardised with the
    statistics of the remaining training rows. The test split is untouched."""
    source = SOURCES[name]
    if not source.is_ready(root):
        if not download:
            raise DatasetMissingError(missing_message(name, root))
        _download(name, root)
    try:
        arrays = load_raw_folder(source, root)
    except OSError as error:
        raise DatasetMissingError(missing_message(name, root, error.strerror or str(error))
                                  ) from None
    train_images, test_images = (a.reshape(len(a), -1).astype(np.float64) / 255.0
                                 for a in arrays[0::2])
    train_labels, test_labels = (a.astype(np.int64) for a in arrays[1::2])
    n_val = validation_rows(name, len(train_labels), source.raw_folder(root))
    order = np.random.default_rng(SPLIT_SEED).permutation(len(train_labels))
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    classes = _class_names(name)
    return split_and_scale(name, train_images[train_rows], train_labels[train_rows],
                           train_images[val_rows], train_labels[val_rows], test_images,
                           test_labels, classes)


def validation_rows(name: str, n_rows: int, folder: Path) -> int:
    """How many of ``n_rows`` training rows are held out for validation: a fifth, at most
    :data:`VALIDATION_SIZE`, at least one (so a tiny file of 2–4 rows still trains, with
    or without early stopping); fewer than 2 rows cannot be split and are refused."""
    if n_rows < 2:
        raise TwinMLPError(f"{name} in {folder} holds {n_rows} training row"
                           f"{'' if n_rows == 1 else 's'}: at least 2 are needed, one to "
                           f"train on and one held out for validation")
    return min(VALIDATION_SIZE, max(1, n_rows // 5))


def _class_names(name: str) -> tuple[str, ...]:
    from torchvision import datasets

    return tuple(getattr(datasets, SOURCES[name].torchvision_class).classes)


def _download(name: str, root: Path) -> None:
    """torchvision's download into a scratch folder, moved into ``root`` only when whole."""
    from torchvision import datasets

    source = SOURCES[name]
    try:
        root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    except OSError as error:
        raise DatasetMissingError(data_root_message(root, error)) from None
    try:
        getattr(datasets, source.torchvision_class)(str(scratch), train=True, download=True)
        target = source.raw_folder(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        source.raw_folder(scratch).rename(target)
    except Exception as error:  # torchvision raises RuntimeError or URLError subclasses
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise DatasetMissingError(missing_message(name, root, f"download failed: {first_line}")
                             ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
