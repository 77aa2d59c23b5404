"""IDX files (the MNIST family's format) and importing them into torchvision's layout.

torchvision's ``MNIST``/``FashionMNIST`` read ``ROOT/<Class>/raw/<name>-idx?-ubyte``
(unzipped). :func:`import_idx_folder` puts a folder of the four ``.gz`` files there, after
checking each file's MD5 against what is known of it.

Known MD5s: torchvision's own table (of the ``.gz`` files it downloads). Debian's
``dataset-fashion-mnist`` package re-compresses the upstream files, so its ``.gz`` bytes
(and MD5s) differ while the images do not; for Fashion-MNIST the MD5s of the *unzipped*
files are known too (taken from the Debian package 0.0~git20200523.55506a9-1, whose
``.gz`` files dpkg's own md5sums vouch for), and either match is accepted.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinmlp.shared.errors import TwinMLPError

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class IdxSource:
    """One dataset of the MNIST family as torchvision lays it out."""

    name: str
    torchvision_class: str
    gz_md5: dict[str, str]
    content_md5: dict[str, str]
    n_classes: int = 10

    def raw_folder(self, root: Path) -> Path:
        """Where torchvision looks for the unzipped files."""
        return Path(root) / self.torchvision_class / "raw"

    def is_ready(self, root: Path) -> bool:
        """All four unzipped files are in place (see :meth:`state` for their contents)."""
        return all((self.raw_folder(root) / name).is_file() for name in FILES)

    def state(self, root: Path) -> tuple[str, str]:
        """``("ready", "")``, ``("missing", "")`` or ``("damaged", the reason)``."""
        if not self.is_ready(root):
            return "missing", ""
        try:
            check_raw_folder(self, root)
        except DatasetDamagedError as error:
            return "damaged", str(error)
        return "ready", ""


class DatasetDamagedError(TwinMLPError):
    """A dataset file that is present but not a whole IDX file of the expected kind."""


SOURCES = {
    "mnist": IdxSource("mnist", "MNIST", {
        "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
    }, {}),
    "fashion-mnist": IdxSource("fashion-mnist", "FashionMNIST", {
        "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
    }, {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    }),
}

_DTYPE_CODES = {0x08: np.uint8}


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (magic ``0x0000 08 ndim``, big-endian sizes)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                      *array.shape)
    Path(path).write_bytes(header + array.tobytes())


def read_idx_header(data: bytes, size: int | None = None) -> tuple[int, ...]:
    """The shape an IDX file declares, from its first bytes ``data`` (``size``: the whole
    file's length, default ``len(data)``); raises :class:`TwinMLPError` when the magic
    number is wrong or the declared shape does not fill the file exactly."""
    size = len(data) if size is None else size
    if size == 0:
        raise TwinMLPError("the file is empty")
    if size < 4:
        raise TwinMLPError(f"{size} bytes is too short to be an IDX file")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPE_CODES or not 1 <= ndim <= 3:
        raise TwinMLPError(f"bad magic number 0x{data[:4].hex()}: not an IDX file of "
                           f"unsigned bytes (expected 0x000008 then 01..03)")
    if size < 4 + 4 * ndim:
        raise TwinMLPError(f"the header is cut short at {size} bytes (truncated)")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(shape, dtype=np.int64))
    if size != expected:
        raise TwinMLPError(f"declares shape {shape}, {expected} bytes, but holds {size} bytes "
                           f"({'truncated' if size < expected else 'trailing bytes'})")
    return tuple(shape)


def read_idx(path: Path, ndim: int, what: str = "") -> np.ndarray:
    """An IDX file of ``ndim`` dimensions as a uint8 array, checked (magic number, the
    declared shape against the file size); raises :class:`DatasetDamagedError` naming it."""
    path = Path(path)
    data = path.read_bytes()
    try:
        shape = read_idx_header(data)
    except TwinMLPError as error:
        raise DatasetDamagedError(damaged_message(path, str(error), what)) from None
    if len(shape) != ndim:
        raise DatasetDamagedError(damaged_message(
            path, f"holds a {len(shape)}-D array, expected {ndim}-D", what))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def damaged_message(path: Path, reason: str, name: str = "") -> str:
    """One line: which file is damaged, how, and the fix."""
    fix = (f"twinmlp data import {name} DIR again" if name else "import the dataset again")
    return f"{path} is damaged: {reason}; fix: {fix}, or delete the file and add --download"


def load_raw_folder(source: IdxSource, root: Path
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train images, train labels, test images, test labels of ``source`` under ``root``,
    each file checked (header, size), then the pairs (equal counts) and the labels (in
    ``[0, n_classes)``); every failure names the file."""
    folder = source.raw_folder(root)
    arrays = [read_idx(folder / name, 3 if "images" in name else 1, source.name)
              for name in FILES]
    for images, labels, image_file, label_file in ((arrays[0], arrays[1], FILES[0], FILES[1]),
                                                   (arrays[2], arrays[3], FILES[2], FILES[3])):
        if len(images) != len(labels):
            raise DatasetDamagedError(damaged_message(
                folder / label_file, f"holds {len(labels)} labels but {image_file} holds "
                f"{len(images)} images", source.name))
        if len(labels) and labels.max() >= source.n_classes:
            raise DatasetDamagedError(damaged_message(
                folder / label_file, f"holds label {int(labels.max())}, outside the "
                f"{source.n_classes} classes 0..{source.n_classes - 1}", source.name))
    return arrays[0], arrays[1], arrays[2], arrays[3]


def check_raw_folder(source: IdxSource, root: Path) -> None:
    """What :func:`load_raw_folder` checks, for ``data list``."""
    load_raw_folder(source, root)


def md5(data: bytes) -> str:
    """Hex MD5 of ``data``."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def verify(source: IdxSource, name: str, gz_bytes: bytes, content: bytes) -> str:
    """Which known MD5 the file matches ("torchvision" or "content"); raises otherwise."""
    if source.gz_md5.get(name) == md5(gz_bytes):
        return "torchvision"
    if source.content_md5.get(name) == md5(content):
        return "content"
    raise TwinMLPError(
        f"{name}.gz has MD5 {md5(gz_bytes)} (unzipped {md5(content)}), which matches no known "
        f"copy of {source.name} (torchvision's is {source.gz_md5.get(name)}): not importing it")


def import_idx_folder(name: str, source_dir: Path, root: Path) -> Path:
    """Check and unzip the four ``.gz`` files of ``source_dir`` into torchvision's layout
    under ``root``; returns the raw folder. Nothing is written unless all four pass. The
    raw folder gets the umask's usual mode (a shared data root stays readable); when
    ``source_dir`` is that raw folder (or inside it), the unzipped files are put beside
    the sources, which are never deleted."""
    source = SOURCES[name]
    source_dir = Path(source_dir)
    missing = [f"{f}.gz" for f in FILES if not (source_dir / f"{f}.gz").is_file()]
    if missing:
        raise TwinMLPError(f"{source_dir} lacks {', '.join(missing)}: expected the four IDX .gz "
                         f"files of {name}")
    target = source.raw_folder(root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
        staging.chmod(folder_mode())  # mkdtemp's 0700 would hide a shared data root
    except OSError as error:
        from twinmlp.shared.data import data_root_message

        raise TwinMLPError(data_root_message(root, error)) from None
    try:
        counts = []
        for file in FILES:
            gz_bytes = (source_dir / f"{file}.gz").read_bytes()
            try:
                content = gzip.decompress(gz_bytes)
                shape = read_idx_header(content)
            except (OSError, EOFError, ValueError) as error:
                raise TwinMLPError(f"{source_dir / (file + '.gz')} is not a gzipped IDX file: "
                                 f"{error}") from None
            verify(source, file, gz_bytes, content)
            counts.append(shape[0])
            try:
                (staging / file).write_bytes(content)
            except OSError as error:
                raise TwinMLPError(f"cannot write {target.parent}: {error.strerror}; fix: free "
                                   f"space or choose a writable --data-root") from None
        for images, labels in ((0, 1), (2, 3)):
            if counts[images] != counts[labels]:
                raise TwinMLPError(f"{source_dir / (FILES[labels] + '.gz')} holds "
                                   f"{counts[labels]} labels but {FILES[images]}.gz holds "
                                   f"{counts[images]} images: not importing them")
        try:
            if _holds(target, source_dir):  # never delete the files being imported
                _move_files_into(staging, target)
            else:
                _replace_folder(staging, target)
        except OSError as error:
            raise TwinMLPError(f"cannot write {target}: {error.strerror}; fix: free space "
                               f"or choose a writable --data-root") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder: ``0o777`` less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _holds(folder: Path, path: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (links resolved)."""
    folder, path = folder.resolve(), path.resolve()
    return path == folder or folder in path.parents


def _move_files_into(staging: Path, target: Path) -> None:
    """Importing a folder into itself (torchvision's own ``raw`` folder, which holds the
    ``.gz`` files beside the unzipped ones): each unzipped file replaces its old copy
    (``os.replace``, atomic), and every other file — the sources — stays."""
    for file in staging.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(file, target / file.name)


def _replace_folder(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``, replacing an older copy only after the move works."""
    for file in staging.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
    old = target.with_name(target.name + ".old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
