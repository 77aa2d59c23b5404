"""``twinmlp exercise numpy|torch FOLDER``: the course exercise as a skeleton to fill in.

Writes ``mlp.py`` (the network class, ``forward`` and ``backward`` left as ``TODO``),
``train.py`` (data loading and the training loop, given) and a ``README.md`` that ends in
``twinmlp check FOLDER/mlp.py``; the templates ship inside the package.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from twinmlp.shared.errors import TwinMLPError

NAME = "exercise"
HELP = "write the course exercise's skeleton to fill in, then check it with twinmlp check"
FILES = ("mlp.py", "train.py")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``twinmlp exercise``."""
    parser.description = ("Write the course exercise: mlp.py (forward and backward left as "
                          "TODO),\ntrain.py (data and training loop) and README.md.")
    parser.epilog = ("example:\n  twinmlp exercise numpy my_mlp    # then fill in "
                     "my_mlp/mlp.py\n  twinmlp check my_mlp/mlp.py")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("backend", choices=("numpy", "torch"),
                        help="NumPy arrays, or torch tensors without autograd")
    parser.add_argument("folder", type=Path, help="where to write (made if missing)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    """Write the skeleton; refuse to overwrite a student's work without ``--force``."""
    templates = resources.files("twinmlp") / "templates" / "exercise"
    folder: Path = args.folder
    targets = {name: folder / name for name in (*FILES, "README.md")}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not args.force:
        raise TwinMLPError(f"{existing[0]} exists: pass --force to overwrite it")
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        targets[name].write_text((templates / args.backend / name).read_text())
    math = resources.files("twinmlp.shared") / "MATH.md"  # where it is installed
    readme = (templates / "README.md").read_text().replace("FOLDER", str(folder))
    readme = readme.replace("MATH_PATH", str(math))
    targets["README.md"].write_text(readme)
    print(f"wrote {', '.join(str(p) for p in targets.values())}")
    print(f"fill in the TODOs of {targets['mlp.py']}, then: twinmlp check {targets['mlp.py']}")
    return 0
