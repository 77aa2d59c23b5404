"""``twinmlp evaluate``: a checkpoint of either backend, scored by the chosen one."""

from __future__ import annotations

import argparse
from pathlib import Path

from twinmlp.commands.options import add_data_root, add_device

NAME = "evaluate"
HELP = "load a checkpoint into either backend and score it on the test set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``evaluate`` options."""
    parser.description = ("Load a checkpoint written by either backend into the chosen "
                          "backend and report test accuracy and agreement with the training "
                          "run's predictions.")
    parser.add_argument("checkpoint", type=Path, help="a run folder or a .safetensors checkpoint")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy",
                        help="backend to evaluate with (default: numpy)")
    add_device(parser)
    add_data_root(parser)


def run(args: argparse.Namespace) -> int:
    """Score the checkpoint; print accuracy and agreement with the training run."""
    import numpy as np

    from twinmlp.arrays import to_numpy
    from twinmlp.checkpoint import CheckpointError, build_model, load_checkpoint
    from twinmlp.shared.errors import UsageError
    from twinmlp.shared.metrics import accuracy
    from twinmlp.training import load_data
    from twinmlp.twins import backend_device

    if args.backend == "numpy" and args.device != "cpu":
        raise UsageError(f"--device {args.device} means nothing with --backend numpy: the "
                         f"NumPy twin runs on the CPU (add --backend torch to use a torch "
                         f"device)")
    point_at_the_checkpoint(args.checkpoint)
    checkpoint = load_checkpoint(args.checkpoint)
    meta = checkpoint.meta
    data = load_data(args, name=meta["dataset"])
    if checkpoint.scaler is not None and not (
            np.array_equal(checkpoint.scaler.mean, data.scaler.mean)
            and np.array_equal(checkpoint.scaler.scale, data.scaler.scale)):
        raise UsageError(f"the {data.name} data under this data root is scaled differently "
                         f"from the data {args.checkpoint} was trained on")
    model = build_model(checkpoint, args.backend, args.device)
    predictions = to_numpy(model.predict(data.X_test))
    line = (f"{args.checkpoint}: trained by {meta['backend']} ({meta['device']}, "
            f"{meta['dtype']}) on {data.name}; evaluated by {args.backend} "
            f"({backend_device(args.backend, args.device)}): "
            f"test accuracy {100 * accuracy(data.y_test, predictions):.2f} %")
    if checkpoint.test_predictions is not None:
        if checkpoint.test_predictions.shape != predictions.shape:
            raise CheckpointError(
                f"checkpoint {args.checkpoint}: test_predictions holds "
                f"{len(checkpoint.test_predictions)} predictions but the {data.name} test set "
                f"has {len(predictions)} rows; the file does not belong to this dataset")
        agreement = np.mean(predictions == checkpoint.test_predictions)
        line += f", identical predictions to the training run {100 * agreement:.2f} %"
    print(line)
    return 0


def point_at_the_checkpoint(path: Path) -> None:
    """A folder without ``model.safetensors`` that holds run folders (``--backend both``,
    ``--seeds``) or an unfinished run: refuse it naming the paths to evaluate instead."""
    import json

    from twinmlp.checkpoint import FILENAME, LAST
    from twinmlp.shared.errors import UsageError

    if not path.is_dir() or (path / FILENAME).exists():
        return
    missing = f"no checkpoint at {path / FILENAME}"
    seeds = sorted((p for p in path.glob("seed*") if p.is_dir() and p.name[4:].isdigit()),
                   key=lambda p: int(p.name[4:]))
    halves = [path / b for b in ("numpy", "torch") if (path / b).is_dir()]
    if seeds or halves:
        leaves = [leaf / b for leaf in (seeds or halves)
                  for b in (("numpy", "torch") if (leaf / "numpy").is_dir() else ("",))]
        kind = "one run folder per seed (--seeds)" if seeds else (
            "one run folder per backend (--backend both)")
        names = ", ".join(map(str, leaves[:4])) + (", …" if len(leaves) > 4 else "")
        raise UsageError(f"{missing}: {path} holds {kind}; evaluate one of them: {names}")
    if (path / LAST).exists():
        try:
            status = f" (status: {json.loads((path / 'config.json').read_text())['status']})"
        except (OSError, ValueError, KeyError, TypeError):
            status = ""
        raise UsageError(f"{missing}: the run in {path} has not finished{status}; finish it "
                         f"with twinmlp train --resume {path}, or evaluate its last epoch "
                         f"checkpoint: twinmlp evaluate {path / LAST}")
