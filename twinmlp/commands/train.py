"""``twinmlp train``: train one twin or both (what a run does is in ``twinmlp.training``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from twinmlp.commands.options import (
    add_dataset_options,
    add_device,
    add_floor_copies,
    add_model_options,
    add_threads,
    add_training_options,
    int_list,
)

NAME = "train"
HELP = "train one twin or both; report accuracy (and parity with both)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train`` options."""
    parser.description = ("Train on a dataset and print test accuracy; with --backend both "
                          "(the default) train both twins from one seed and print the parity "
                          "verdict.")
    parser.add_argument("--backend", choices=("both", "numpy", "torch"), default="both",
                        help="which twin to train (default: both, then compare them)")
    add_device(parser)
    add_dataset_options(parser)
    add_model_options(parser, default_dtype="float32")
    add_training_options(parser)
    parser.add_argument("--out", type=Path, default=None,
                        help="run folder for config.json, history.csv, model.safetensors, "
                             "curves.png, confusion.png (with --backend both: one subfolder "
                             "per backend)")
    parser.add_argument("--nproc", type=int, default=1,
                        help="data-parallel ranks (MATH.md §14): with --backend torch, "
                             "torchrun starts N processes (gloo on cpu, NCCL on cuda, one GPU "
                             "per rank); with --backend numpy, N ranks simulated in one "
                             "process (default: 1)")
    parser.add_argument("--distributed-worker", action="store_true",
                        help="run as one rank of a torchrun launch you started yourself "
                             "(docs/distributed.md); --nproc does this for one node")
    parser.add_argument("--checkpoint-seconds", type=float, default=10.0, metavar="S",
                        help="with --out, rewrite the epoch checkpoint last.safetensors at "
                             "most every S seconds (0: after every epoch), and always when "
                             "training stops (default: 10)")
    parser.add_argument("--seeds", type=int_list, default=None,
                        help="comma-separated seeds: one run per seed, then the mean and "
                             "spread of test accuracy per twin (with --out: one subfolder "
                             "each)")
    parser.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                        help="continue an interrupted run from its epoch checkpoint, with the "
                             "run's own configuration (other options are ignored); the result "
                             "is bit-identical to an uninterrupted run")
    add_floor_copies(parser, "with --backend both, runs beyond the strict parity tiers "
                             "(float32, float64 past 1,000 steps) are judged against K copies "
                             "of the numpy twin trained from weights nudged by one ulp; each "
                             "costs one more numpy run, 0 skips the verdict (default: 3; "
                             "docs/parity.md)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write the run into an --out folder that holds files twinmlp "
                             "did not write (its run files are replaced, other files left "
                             "alone); without it such a folder is refused")
    add_threads(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Train, report accuracy, and with both twins the parity verdict."""
    from twinmlp.training import run_train

    return run_train(args)
