"""``twinmlp show NAME``: the two implementations of a name side by side."""

from __future__ import annotations

import argparse

NAME = "show"
HELP = "print the NumPy and torch implementations of NAME side by side"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``show`` options."""
    parser.description = ("Print numpy_impl's and torch_impl's source of NAME in two "
                          "columns; '≠' marks lines that differ.")
    parser.add_argument("name", help="a function or method: softmax, MLP.forward, "
                                     "MLP.backward_pass, SGD.step, …")
    parser.add_argument("--width", type=int, default=None,
                        help="total width in characters (default: the terminal's)")


def run(args: argparse.Namespace) -> int:
    """Print both sources in two columns."""
    from twinmlp.show import side_by_side

    print(side_by_side(args.name, args.width))
    return 0
