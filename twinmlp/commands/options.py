"""Option groups and value parsers that several commands share."""

from __future__ import annotations

import argparse
from pathlib import Path

from twinmlp.shared.config import (
    ACTIVATION_NAMES,
    DROPOUT_RNG_NAMES,
    DTYPE_NAMES,
    INIT_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
)
from twinmlp.shared.data import DATASET_NAMES

EXAMPLES = """\
examples:
  twinmlp train                                   # both twins on digits, the notebook's setup
  twinmlp train --backend numpy --dtype float64 --out runs/digits
  twinmlp data import fashion-mnist /usr/share/datasets/fashion-mnist
  twinmlp train --backend torch --dataset fashion-mnist --out runs/fashion
  twinmlp evaluate runs/fashion --backend numpy   # a torch checkpoint, evaluated by NumPy
  twinmlp parity --epochs 3 --out runs/parity     # drift table, drift.csv, drift.png
  twinmlp show MLP.backward_pass                  # the two implementations side by side
  twinmlp exercise numpy my_mlp                   # the course exercise's skeleton to fill in
  twinmlp check my_mlp/mlp.py                     # hold your own MLP to the reference
"""


def int_list(text: str) -> list[int]:
    """``64,32,10`` as a list of integers."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 64,32,10, got {text!r}") from None


def name_list(text: str) -> list[str]:
    """``numpy,torch`` or ``cpu,cuda:1`` as a list of names."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    allowed = {"numpy", "torch", "cpu", "cuda"}
    for name in names:
        if name not in allowed and not name.startswith("cuda:"):
            raise argparse.ArgumentTypeError(f"unknown name {name!r}")
    return names


def optional_int(text: str) -> int | str:
    """An integer, or ``none``."""
    if text.lower() == "none":
        return "none"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from None


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``."""
    parser.add_argument("--device", default="cpu",
                        help="torch device: cpu, cuda or cuda:N (default: cpu)")


def add_data_root(parser: argparse.ArgumentParser) -> None:
    """``--data-root``."""
    parser.add_argument("--data-root", type=Path, default=None,
                        help="folder of downloaded or imported datasets (default: "
                             "$TWINMLP_DATA or ~/.cache/twinmlp/datasets)")


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """``--dataset``, ``--data-root``, ``--download``."""
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="digits",
                        help="dataset (default: digits, bundled with scikit-learn)")
    add_data_root(parser)
    parser.add_argument("--download", action="store_true",
                        help="download MNIST/Fashion-MNIST through torchvision if missing")


def add_model_options(parser: argparse.ArgumentParser, default_dtype: str) -> None:
    """The architecture: layers, activation, initialisation, dtype, seed."""
    parser.add_argument("--layers", type=int_list, default=None,
                        help="comma-separated layer sizes, inputs first, e.g. 784,256,10 "
                             "(default: FEATURES,32,CLASSES on digits, FEATURES,256,CLASSES "
                             "on the MNIST family)")
    parser.add_argument("--activation", choices=ACTIVATION_NAMES, default="leaky_relu",
                        help="hidden activation (default: leaky_relu)")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="negative slope of leaky_relu (default: 0.01)")
    parser.add_argument("--init", choices=INIT_NAMES, default="he_normal",
                        help="weight initialisation (default: he_normal)")
    parser.add_argument("--dtype", choices=DTYPE_NAMES, default=default_dtype,
                        help=f"computation dtype (default: {default_dtype})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial parameters and the batch order (default: 0)")


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: the thread count for NumPy's BLAS and torch, over the policy."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads for NumPy's BLAS and torch (default: chosen from the "
                             "size of the products, one for small networks; "
                             "OMP_NUM_THREADS and friends in the environment also win over "
                             "that choice)")


def add_floor_copies(parser: argparse.ArgumentParser, help: str) -> None:
    """``--floor-copies K`` (checked by :func:`twinmlp.training.floor_copies`)."""
    parser.add_argument("--floor-copies", type=int, default=None, metavar="K", help=help)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """Epochs, batches, learning rate, early stopping, optimiser, schedule, dropout."""
    parser.add_argument("--epochs", type=int, default=None,
                        help="maximum epochs (default: 2000 on digits, 30 on the MNIST family)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="mini-batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 0.001 on digits, 0.05 on the MNIST family)")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="L2 strength λ, normalised by the training-set size "
                             "(MATH.md §6; default: 1e-4)")
    parser.add_argument("--patience", type=optional_int, default=None,
                        help="early-stopping patience in epochs on the validation loss, or "
                             "'none' (default: 10 on digits, 5 on the MNIST family)")
    parser.add_argument("--min-delta", type=float, default=0.0,
                        help="smallest validation-loss drop that counts (default: 0)")
    group = parser.add_argument_group("optimizer, schedule and dropout (MATH.md §11–§13)")
    group.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="sgd",
                       help="sgd, momentum, nesterov, adam or adamw (default: sgd)")
    group.add_argument("--momentum", type=float, default=0.9,
                       help="momentum μ of momentum/nesterov (default: 0.9)")
    group.add_argument("--beta1", type=float, default=0.9, help="Adam β₁ (default: 0.9)")
    group.add_argument("--beta2", type=float, default=0.999, help="Adam β₂ (default: 0.999)")
    group.add_argument("--eps", type=float, default=1e-8, help="Adam ε (default: 1e-8)")
    group.add_argument("--schedule", choices=SCHEDULE_NAMES, default="constant",
                       help="learning-rate schedule: constant, step or cosine (with linear "
                            "warm-up) (default: constant)")
    group.add_argument("--step-size", type=int, default=10,
                       help="epochs between decays of the step schedule (default: 10)")
    group.add_argument("--gamma", type=float, default=0.1,
                       help="decay factor of the step schedule (default: 0.1)")
    group.add_argument("--warmup-epochs", type=int, default=0,
                       help="linear warm-up epochs of the cosine schedule (default: 0)")
    group.add_argument("--min-lr", type=float, default=0.0,
                       help="final learning rate of the cosine schedule (default: 0)")
    group.add_argument("--dropout", type=float, default=0.0,
                       help="dropout rate p on hidden layers (default: 0, off)")
    group.add_argument("--dropout-rng", choices=DROPOUT_RNG_NAMES, default="shared",
                       help="shared: masks from the shared seeded generator (parity holds); "
                            "device: the torch twin draws them on its device (default: shared)")
