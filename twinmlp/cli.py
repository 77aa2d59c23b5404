"""The ``twinmlp`` command line.

Every expected failure (bad option values, bad data) ends in one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from shared.config import ACTIVATION_NAMES, DTYPE_NAMES, INIT_NAMES
from shared.data import Dataset, load_digits
from shared.metrics import accuracy
from twinmlp.parity import compare_twins, to_numpy

EXAMPLES = """\
examples:
  twinmlp train                          # both twins on digits, the notebook's configuration
  twinmlp train --backend numpy --dtype float64
  twinmlp train --backend torch --device cuda --epochs 500 --lr 0.01
"""


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="twinmlp", description="One MLP written twice (NumPy and torch), held equal.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train one twin or both and report test accuracy",
        description="Train on a dataset and print test accuracy; with --backend both, also "
                    "the parity verdict of the two twins.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--backend", choices=("both", "numpy", "torch"), default="both",
                       help="which twin to train (default: both, then compare them)")
    train.add_argument("--device", default="cpu",
                       help="torch device: cpu, cuda or cuda:N (default: cpu)")
    train.add_argument("--dataset", choices=("digits",), default="digits",
                       help="dataset (default: digits, bundled with scikit-learn)")
    train.add_argument("--layers", type=_layer_list, default=None,
                       help="comma-separated layer sizes, inputs first (default: "
                            "FEATURES,32,CLASSES)")
    train.add_argument("--activation", choices=ACTIVATION_NAMES, default="leaky_relu",
                       help="hidden activation (default: leaky_relu)")
    train.add_argument("--alpha", type=float, default=0.01,
                       help="negative slope of leaky_relu (default: 0.01)")
    train.add_argument("--init", choices=INIT_NAMES, default="he_normal",
                       help="weight initialisation (default: he_normal)")
    train.add_argument("--dtype", choices=DTYPE_NAMES, default="float32",
                       help="computation dtype (default: float32)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the initial parameters and the batch order (default: 0)")
    train.add_argument("--epochs", type=int, default=2000, help="maximum epochs (default: 2000)")
    train.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default: 64)")
    train.add_argument("--lr", type=float, default=0.001, help="learning rate (default: 0.001)")
    train.add_argument("--weight-decay", type=float, default=1e-4,
                       help="L2 strength λ, normalised by the training-set size "
                            "(MATH.md §6; default: 1e-4)")
    train.add_argument("--patience", type=_optional_int, default=10,
                       help="early-stopping patience in epochs on the validation loss, or "
                            "'none' (default: 10)")
    train.add_argument("--min-delta", type=float, default=0.0,
                       help="smallest validation-loss drop that counts (default: 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, ValueError, TypeError) as error:
        print(f"twinmlp: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twinmlp: interrupted", file=sys.stderr)
        return 130


def run_train(args: argparse.Namespace) -> int:
    """``twinmlp train``: train, report accuracy, and with both twins the parity verdict."""
    data = load_dataset(args.dataset)
    print(data.summary())
    layers = args.layers or [data.n_features, 32, data.n_classes]
    backends = ["numpy", "torch"] if args.backend == "both" else [args.backend]
    models, predictions = {}, {}
    for backend in backends:
        model = make_model(backend, args, layers)
        started = time.perf_counter()
        history = model.fit(data.X_train, data.y_train, data.X_val, data.y_val,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            weight_decay=args.weight_decay, patience=args.patience,
                            min_delta=args.min_delta, verbose=not args.quiet)
        seconds = time.perf_counter() - started
        predictions[backend] = to_numpy(model.predict(data.X_test))
        models[backend] = model
        stop = f", stopped early, best epoch {history.best_epoch}" if history.stopped_early else ""
        print(f"{describe(backend, args)}: test accuracy "
              f"{100 * accuracy(data.y_test, predictions[backend]):.2f} % "
              f"({history.epochs_run} epochs{stop}, {seconds:.1f} s)")
    if len(models) == 2:
        verdict = compare_twins(models["numpy"].state_dict(), models["torch"].state_dict(),
                                predictions["numpy"], predictions["torch"], args.dtype)
        print(verdict.line())
        return 0 if verdict.passed else 1
    return 0


def load_dataset(name: str) -> Dataset:
    """The dataset called ``name``."""
    if name == "digits":
        return load_digits()
    raise UsageError(f"unknown dataset {name!r}")


def make_model(backend: str, args: argparse.Namespace, layers: list[int]) -> Any:
    """A fresh twin of ``backend`` built from the command-line options."""
    options = dict(activation=args.activation, alpha=args.alpha, init=args.init,
                   seed=args.seed, dtype=args.dtype)
    if backend == "numpy":
        import numpy_impl
        return numpy_impl.MLP(layers, **options)
    import torch_impl
    return torch_impl.MLP(layers, device=args.device, **options)


def describe(backend: str, args: argparse.Namespace) -> str:
    """``numpy (cpu, float32)``-style label."""
    device = "cpu" if backend == "numpy" else args.device
    return f"{backend:<5} ({device}, {args.dtype})"


def _layer_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32,10, got {text!r}") from None
    return sizes


def _optional_int(text: str) -> int | None:
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
