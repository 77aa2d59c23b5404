"""``twinmlp data list`` and ``twinmlp data import NAME FOLDER``."""

from __future__ import annotations

import argparse
from pathlib import Path

from twinmlp.commands.options import add_data_root

NAME = "data"
HELP = "list datasets, import IDX folders"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``data`` actions and their options."""
    parser.description = "Manage the datasets under the data root."
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show which datasets are ready")
    add_data_root(listing)
    importing = actions.add_parser(
        "import", help="place a folder of the four IDX .gz files into torchvision's layout",
        description="Check the MD5 of each .gz file (torchvision's, or the known content) "
                    "and unzip them into DATA_ROOT/<Class>/raw/.")
    importing.add_argument("name", choices=("mnist", "fashion-mnist"))
    importing.add_argument("folder", type=Path, help="folder holding the four .gz files")
    add_data_root(importing)


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    from twinmlp.shared.data import default_data_root

    root = args.data_root or default_data_root()
    if args.data_command == "import":
        from twinmlp.shared.idx import import_idx_folder

        target = import_idx_folder(args.name, args.folder, root)
        print(f"imported {args.name} from {args.folder} into {target} (MD5 checked)")
        return 0
    from twinmlp.shared.idx import SOURCES

    print(f"data root: {root}")
    print(f"{'digits':<14} ready      (bundled with scikit-learn)")
    for name, source in SOURCES.items():
        state, reason = source.state(root)
        print(f"{name:<14} {state:<10} {reason or source.raw_folder(root)}")
    return 0
