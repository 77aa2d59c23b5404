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
