"""The ``twinmlp`` command line: the parser, the dispatch, and the one error boundary.

Each subcommand is a module of :mod:`twinmlp.commands` (its options and its ``run``).
Every expected failure (bad option values, missing data, a damaged checkpoint) ends in one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from types import ModuleType
from typing import Any

from twinmlp import __version__
from twinmlp.commands import bench, check, data, evaluate, exercise, parity, show, train
from twinmlp.commands.options import EXAMPLES
from twinmlp.shared.errors import TwinMLPError

#: The subcommands, in the order ``twinmlp --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (train, evaluate, parity, show, bench, data, check,
                                     exercise)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="twinmlp", description="One MLP written twice (NumPy and torch), held equal.",
        epilog=EXAMPLES, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"twinmlp {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, epilog=EXAMPLES,
                                    formatter_class=formatter)
        command.add_arguments(sub)
        sub.set_defaults(command_module=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code. Output goes through
    :class:`QuietWhenClosed`: a reader that stops reading (``| head -1``) ends nothing,
    the command finishes its work and its exit code is its own."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = QuietWhenClosed(sys.stdout), QuietWhenClosed(sys.stderr)
    try:
        code = run_command(argv)
        sys.stdout.flush()  # the last buffered lines, while a closed pipe is still caught
        sys.stderr.flush()
        return code
    finally:
        sys.stdout, sys.stderr = streams


def run_command(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run its command, and turn every expected failure into one line."""
    from twinmlp.runs import RunStoppedError, release_run_folders
    from twinmlp.shared.threads import user_threads

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with cuda_numerics(args), user_threads(getattr(args, "threads", None)):
            return args.command_module.run(args)
    except RunStoppedError as stop:
        print(f"twinmlp: {stop}", file=sys.stderr)
        return stop.code
    except TwinMLPError as error:  # the project's own checks; anything else is a bug
        print(f"twinmlp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twinmlp: interrupted", file=sys.stderr)
        return 130
    finally:
        release_run_folders()


class QuietWhenClosed:
    """An output stream whose reader may go away: the first write or flush that meets a
    closed pipe (``EPIPE``) turns it silent. Later output is dropped, and the file
    descriptor is pointed at ``/dev/null`` so that the interpreter's own flush at exit
    has nowhere to fail. Everything else is the wrapped stream's."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            self._guarded(lambda: self.stream.write(text))
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            self._guarded(self.stream.flush)

    def _guarded(self, action: Any) -> None:
        try:
            action()
        except OSError as error:
            if not isinstance(error, BrokenPipeError) and error.errno != errno.EPIPE:
                raise
            self.closed_by_reader = True
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, self.stream.fileno())
                os.close(null)
            except (OSError, ValueError, io.UnsupportedOperation):
                pass  # a stream without a descriptor (a test's capture) has no exit flush

    def isatty(self) -> bool:
        return not self.closed_by_reader and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def __getattr__(self, name: str) -> Any:  # encoding, buffer, …: the wrapped stream's
        return getattr(self.stream, name)


def cuda_numerics(args: argparse.Namespace) -> AbstractContextManager[Any]:
    """Exact CUDA numerics (IEEE float32 products, deterministic algorithms; README: CUDA
    numerics) around a command that may run on a GPU; nothing for the others."""
    uses_torch = getattr(args.command_module, "USES_TORCH", False) or str(
        getattr(args, "device", "cpu")).startswith("cuda")
    if not uses_torch:
        return nullcontext()
    from twinmlp.torch_impl.cuda import exact_cuda_numerics

    return exact_cuda_numerics()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
