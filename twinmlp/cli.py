"""The ``twinmlp`` command line: the parser, the dispatch, and the one error boundary.

Each subcommand is a module of :mod:`twinmlp.commands` (its options and its ``run``).
Every expected failure (bad option values, missing data, a damaged checkpoint) ends in one
line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
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
    """Run the command line; returns the exit code."""
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
