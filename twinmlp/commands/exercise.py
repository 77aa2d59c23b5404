"""``twinmlp exercise numpy|torch FOLDER``: the course exercise as a skeleton to fill in."""

from __future__ import annotations

import argparse

NAME = "exercise"
HELP = "write the course exercise's skeleton (forward and backward left as TODO)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``twinmlp exercise``."""
    parser.add_argument("backend", choices=("numpy", "torch"))
    parser.add_argument("folder")


def run(args: argparse.Namespace) -> int:
    """Write the skeleton."""
    raise NotImplementedError
