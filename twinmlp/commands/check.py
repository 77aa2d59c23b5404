"""``twinmlp check TARGET…``: hold any MLP to the reference, quantity by quantity."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from twinmlp.conformance.settings import LOG_FORMS, CheckSettings, Conventions
from twinmlp.conformance.targets import BUILTIN_NAMES, RULE
from twinmlp.shared.config import ACTIVATION_NAMES, DTYPE_NAMES
from twinmlp.shared.data import DATASET_NAMES
from twinmlp.shared.errors import TwinMLPError

NAME = "check"
HELP = "hold your own MLP to the reference; name the first difference and its likely cause"
DESCRIPTION = f"""\
Check an MLP against the reference (the numpy twin's plain functions, float64), quantity by
quantity: transplant, forward, loss, gradients, one step, ten steps, a short run; then the
target's own dtype at the float32 tiers; and central differences of its own gradients.

{RULE.replace("``", "")}

Each target runs in its own process with a time limit. Exit codes: 0 agrees, 1 differs
(NaN outputs included), 2 could not be checked; several targets exit with the worst of
their codes (one line each). check executes the code it is given, as
pytest does: grade untrusted submissions in a container (docs/check.md)."""
EXAMPLES = """\
examples:
  twinmlp check my_mlp.py                    # the course exercise: W1, b1, …, forward, backward
  twinmlp check my_mlp.py:MLP --activation relu --weight-decay 0
  twinmlp check torch-nn                     # the built-in adapters; numpy-twin is the control
  twinmlp check submissions/*.py --json report.json   # one line per submission
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``twinmlp check``."""
    parser.description = DESCRIPTION
    parser.epilog = EXAMPLES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("targets", nargs="+", metavar="TARGET",
                        help=f"FILE.py[:Name], module:name, or one of {', '.join(BUILTIN_NAMES)}")
    parser.add_argument("--layers", type=_sizes, default=None,
                        help="layer sizes, e.g. 64,32,10 (default: inputs,32,classes)")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES, default=None,
                        help="hidden activation (default leaky_relu; relu for sklearn)")
    parser.add_argument("--alpha", type=float, default=0.01, help="leaky-ReLU slope (default 0.01)")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="learning rate of the step (default 0.01)")
    parser.add_argument("--weight-decay", type=float, default=0.1,
                        help="L2 coefficient λ, the term λ/(2N)·ΣW² (MATH.md §6); default "
                             "0.1, 0 skips the L2 rows")
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="digits",
                        help="default digits, split and scaled as the course notebook did")
    parser.add_argument("--dtype", choices=DTYPE_NAMES, default=None,
                        help="the target's dtype for the float32 tiers (default: its own)")
    parser.add_argument("--layout", choices=("in-out", "out-in"), default="in-out",
                        help="weights stored (fan_in, fan_out) or, like torch.nn.Linear, "
                             "(fan_out, fan_in)")
    parser.add_argument("--l2-by", choices=("train", "batch"), default="train",
                        help="convention: L2 divided by the training-set size N or by the "
                             "batch size")
    parser.add_argument("--log-eps", type=float, default=None,
                        help="convention: the loss clips its log at ε (see --log-form)")
    parser.add_argument("--log-form", choices=tuple(LOG_FORMS), default="clip",
                        help="convention with --log-eps: log(clip(P, ε, 1−ε)), log(P + ε) "
                             "or log(max(P, ε))")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds each target may run (default 120)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the whole report as JSON")


def settings_for(args: argparse.Namespace, target: str) -> CheckSettings:
    """The engine's settings for one target (the numbers checked here, the network by
    the engine, which reports it in the target's line)."""
    for option, value, ok, expected in (
            ("--lr", args.lr, args.lr > 0, "a number > 0"),
            ("--weight-decay", args.weight_decay, args.weight_decay >= 0, "a number >= 0"),
            ("--timeout", args.timeout, args.timeout > 0, "seconds > 0"),
            ("--alpha", args.alpha, 0 <= args.alpha < 1, "a number in [0, 1)")):
        if not (ok and math.isfinite(value)):
            raise TwinMLPError(f"{option} {value} is not allowed: expected {expected}")
    return CheckSettings(target=target, layers=args.layers, activation=args.activation,
                         alpha=args.alpha, lr=args.lr, weight_decay=args.weight_decay,
                         dataset=args.dataset, dtype=args.dtype, layout=args.layout,
                         conventions=Conventions(args.l2_by, args.log_eps, args.log_form),
                         timeout=args.timeout)


def run(args: argparse.Namespace) -> int:
    """Check every target, each in its own process; the worst exit code."""
    from twinmlp.conformance.isolation import check_in_subprocess
    from twinmlp.conformance.report import one_line, render

    if args.json is not None:  # refused before a batch runs, not after
        where = args.json.parent
        if args.json.is_dir() or not where.is_dir():
            raise TwinMLPError(f"--json {args.json}: " + ("is a folder" if args.json.is_dir()
                                                         else f"no folder {where}"))
    reports = []
    for target in args.targets:
        report = check_in_subprocess(settings_for(args, target))
        reports.append(report)
        print(render(report) if len(args.targets) == 1 else one_line(report), flush=True)
    if args.json is not None:
        payload = [r.to_dict() for r in reports]
        try:
            args.json.write_text(json.dumps(payload[0] if len(payload) == 1 else payload,
                                            indent=2) + "\n")
        except OSError as error:
            raise TwinMLPError(f"--json {args.json}: cannot write it ({error.strerror})"
                               ) from None
    return max(r.exit_code for r in reports)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "integers") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("need at least two positive sizes")
    return sizes
