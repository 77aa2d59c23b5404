"""Writing files so that a reader never sees half of one, and file-system failures told
in one line.

Single files are written atomically (:func:`atomic_write_bytes`); a command's set of
result files is written with :func:`write_set`, so that an interrupted or failed write
leaves the old set or the whole new one. A file-system failure the user can fix
(missing folder, a file where a folder should be, no permission, read-only, disk full)
becomes a :class:`FileSystemError` naming the path and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from twinmlp.shared.errors import TwinMLPError

#: What the user can do about each ``errno``; the rest get a generic fix.
_FIXES = {
    errno.ENOSPC: "the disk is full: free some space",
    errno.EDQUOT: "the disk quota is used up: free some space",
    errno.EROFS: "the file system is read-only: choose a writable place",
    errno.EACCES: "permission denied: choose a folder you may write to",
    errno.EPERM: "permission denied: choose a folder you may write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EEXIST: "a file of that name is in the way: choose another path",
    errno.EISDIR: "a folder of that name is in the way: choose another path",
    errno.ENOENT: "no such file or folder",
}


class FileSystemError(TwinMLPError):
    """A file or folder could not be read or written, for a reason the user can fix."""


def describe(error: OSError, path: Path | str | None = None, doing: str = "write") -> str:
    """One line: what failed, where, and the fix."""
    where = path if path is not None else (error.filename or "?")
    fix = _FIXES.get(error.errno, error.strerror or type(error).__name__)
    return f"cannot {doing} {where}: {fix}"


@contextlib.contextmanager
def fs_errors(path: Path | str | None = None, doing: str = "write") -> Iterator[None]:
    """Turn an ``OSError`` inside the block into a :class:`FileSystemError`; ``path`` is
    what the message names (else the path the error names)."""
    try:
        yield
    except OSError as error:
        raise FileSystemError(describe(error, path, doing)) from error


def ensure_folder(path: Path, what: str = "folder") -> Path:
    """Create ``path`` (and its parents) if missing and prove it takes a file; raises
    :class:`FileSystemError` naming the path otherwise. Called by commands before their
    long computation, so a bad ``--out`` fails at once."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileSystemError(f"{what} {path} is a file, not a folder: choose another path")
    with fs_errors(path, f"create the {what}"):
        path.mkdir(parents=True, exist_ok=True)
    with fs_errors(path, f"write into the {what}"):
        handle, name = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}probe.", dir=path)
        os.close(handle)
        os.unlink(name)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one:
    temporary file in the same folder, flush, fsync, rename, fsync the folder."""
    atomic_write_with(path, lambda temporary: temporary.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


#: What every temporary file twinmlp writes begins with: distinctive, so that a later start
#: removes only its own leftovers, never a user's ``.config.json`` or ``.probe.x``.
TEMPORARY_PREFIX = ".twinmlp-tmp-"


def temporary_name(path: Path) -> tuple[str, str]:
    """The prefix and suffix of :func:`atomic_write_with`'s temporary files for ``path``
    (so that a later start can recognise and remove those a killed run left)."""
    path = Path(path)
    return f"{TEMPORARY_PREFIX}{path.stem}.", path.suffix


def atomic_write_with(path: Path, write: Callable[[Path], object]) -> None:
    """Let ``write`` fill a temporary path (e.g. ``savefig``), then move it over ``path``.
    An ``OSError`` becomes a :class:`FileSystemError` naming ``path``."""
    path = Path(path)
    prefix, suffix = temporary_name(path)
    with fs_errors(path):
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        os.close(handle)
        temporary = Path(name)
        try:
            write(temporary)
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 is for secrets, not runs
            _fsync_file(temporary)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_folder(path.parent)


def write_set(folder: Path, write: Callable[[Path], object]) -> list[Path]:
    """Let ``write`` fill a fresh staging folder inside ``folder`` with a command's result
    files, then move them into ``folder`` together; returns their new paths.

    Nothing in ``folder`` changes until every file is written, so a failed write (disk
    full) leaves the old set; the moves (renames in one folder, microseconds) run with
    Ctrl-C held back, so it leaves the old set or the new one, never a mixture.
    """
    folder = ensure_folder(Path(folder))
    with fs_errors(folder, "write into"):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        with fs_errors(folder, "write into"):
            write(staging)
            files = sorted(p for p in staging.iterdir() if p.is_file())
            for file in files:
                os.chmod(file, 0o666 & ~_umask())
                _fsync_file(file)
        with _sigint_held(), fs_errors(folder, "write into"):
            for file in files:
                os.replace(file, folder / file.name)
            _fsync_folder(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / file.name for file in files]


def move_set(source: Path, folder: Path, last: str, stale: tuple[str, ...] = ()) -> None:
    """Move every file of the folder ``source`` into ``folder`` (``last`` after the others:
    while it is still in ``source`` the move is unfinished and can be done again), delete
    the names in ``stale`` that ``source`` did not hold, then remove ``source``. The moves
    are renames in one file system, run with Ctrl-C held back."""
    source, folder = Path(source), Path(folder)
    with fs_errors(folder, "write into"):
        files = sorted((p for p in source.iterdir() if p.is_file()),
                       key=lambda p: p.name == last)
        names = {file.name for file in files}
        with _sigint_held():
            for file in files:
                os.replace(file, folder / file.name)
            for name in stale:
                if name not in names:
                    (folder / name).unlink(missing_ok=True)
            _fsync_folder(folder)
        shutil.rmtree(source, ignore_errors=True)


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back inside the block and deliver it after. (A signal mask would not
    do: the kernel hands a process's SIGINT to any thread that does not block it, and
    Python then raises in the main thread anyway.) A no-op off the main thread."""
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main thread: only it may set handlers
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _fsync_folder(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
