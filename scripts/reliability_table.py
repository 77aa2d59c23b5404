"""Try every kind of bad input on the Python API and the command line, and print what each
one gets, as the Markdown table of ``docs/reliability.md``.

    python scripts/reliability_table.py > table.md

``tests/test_reliability_doc.py`` regenerates the table and fails when the document and
the code disagree. Run on a machine without a CUDA GPU (the ``cuda`` rows say so).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twinmlp import numpy_impl, torch_impl
from twinmlp.checkpoint import FILENAME, load_checkpoint
from twinmlp.cli import main


def api_cases() -> list[tuple[str, Callable[[], object]]]:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])

    def fit(**kwargs: object) -> Callable[[], object]:
        args = {"X": X, "y": y, "verbose": False, **kwargs}
        return lambda: numpy_impl.MLP([4, 3, 3]).fit(**args)

    def predict(value: object) -> Callable[[], object]:
        return lambda: numpy_impl.MLP([4, 3, 3]).predict(value)

    def state() -> object:
        model = numpy_impl.MLP([4, 3, 3])
        bad = model.state_dict()
        bad["W1"] = np.zeros((5, 3))
        return model.load_state_dict(bad)

    return [
        ("X of one dimension", predict(np.zeros(4))),
        ("X with no rows", predict(np.zeros((0, 4)))),
        ("X with 5 features for a 4-input model", predict(np.zeros((2, 5)))),
        ("X holding NaN", predict(np.array([[0.0, np.nan, 0.0, 0.0]]))),
        ("X holding infinity", predict(np.array([[0.0, np.inf, 0.0, 0.0]]))),
        ("X of strings", predict(np.array([["a", "b", "c", "d"]]))),
        ("X with rows of unequal length", predict([[1, 2, 3, 4], [1, 2]])),
        ("y with a label past the last class", fit(y=np.array([0, 1, 2, 3, 0, 1]))),
        ("y with a negative label", fit(y=np.array([0, 1, 2, -1, 0, 1]))),
        ("y of non-integer numbers", fit(y=np.array([0.5, 1, 2, 0, 1, 2]))),
        ("y shorter than X", fit(y=np.array([0, 1]))),
        ("one-hot y of the wrong width",
         lambda: numpy_impl.MLP([4, 3, 3]).loss_and_grads(X, np.eye(4)[[0, 1, 2, 0, 1, 2]])),
        ("X_val with the wrong width", fit(X_val=np.zeros((2, 5)), y_val=np.array([0, 1]))),
        ("patience without validation data", fit(patience=5)),
        ("lr = 0", fit(lr=0.0)),
        ("epochs = 0", fit(epochs=0)),
        ("batch_size = 0", fit(batch_size=0)),
        ("weight_decay = -1", fit(weight_decay=-1.0)),
        ("dropout = 1", fit(dropout=1.0)),
        ("momentum = 1.5", fit(optimizer="momentum", momentum=1.5)),
        ("a misspelt option (momentun)", fit(momentun=0.9)),
        ("unknown activation", lambda: numpy_impl.MLP([4, 3], activation="swish")),
        ("unknown optimizer", fit(optimizer="lbfgs")),
        ("unknown schedule", fit(schedule="linear")),
        ("unknown dtype", lambda: numpy_impl.MLP([4, 3], dtype="float16")),
        ("layer sizes with a zero", lambda: numpy_impl.MLP([4, 0, 3])),
        ("device 'cuda' where torch finds no GPU", lambda: torch_impl.MLP([4, 3], device="cuda")),
        ("device 'tpu'", lambda: torch_impl.MLP([4, 3], device="tpu")),
        ("a state dict of the wrong shape", state),
        ("a learning rate that diverges (lr = 1e4)",
         lambda: numpy_impl.MLP([4, 3, 3], seed=1).fit(X * 100, y, epochs=50, lr=1e4,
                                                        verbose=False)),
    ]


def cli_cases(scratch: Path) -> list[tuple[str, list[str]]]:
    run = scratch / "run"
    return [
        ("a dataset that is not on this machine", ["train", "--dataset", "fashion-mnist"]),
        ("--lr -1", ["train", "--lr", "-1"]),
        ("--layers that do not fit the data", ["train", "--layers", "65,32,10"]),
        ("--activation swish", ["train", "--activation", "swish"]),
        ("--device cuda where torch finds no GPU", ["train", "--backend", "torch", "--device",
                                                    "cuda"]),
        ("--patience -3", ["train", "--patience", "-3"]),
        ("--lr 3e3 (training diverges)", ["train", "--backend", "numpy", "--lr", "3e3",
                                          "--epochs", "20", "--out", str(run)]),
        ("evaluate a path with no checkpoint", ["evaluate", str(scratch / "nowhere")]),
        ("evaluate a truncated checkpoint", ["evaluate", str(scratch / "half.safetensors")]),
        ("evaluate a checkpoint with one byte changed",
         ["evaluate", str(scratch / "flipped.safetensors")]),
        ("train --resume on a folder that is no run", ["train", "--resume", str(scratch)]),
        ("data import from a folder without the files", ["data", "import", "mnist",
                                                         str(scratch)]),
        ("show a name that is not a twin function", ["show", "frobnicate"]),
    ]


def outcome(call: Callable[[], object]) -> str:
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            call()
    except Exception as error:  # the point: what reaches the user
        return f"`{type(error).__name__}`: {error}"
    return "(accepted)"


def cli_outcome(argv: list[str], scratch: Path) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([*argv, "--quiet"] if argv[0] == "train" else argv)
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code
    lines = [line for line in err.getvalue().splitlines() if not line.startswith("usage:")
             and line.strip() and not line.startswith(" ")]
    text = " ".join(lines).replace(str(scratch), "<tmp>")
    return f"exit {code}: {text}"


def damaged_checkpoints(scratch: Path) -> None:
    main(["train", "--backend", "numpy", "--epochs", "2", "--quiet", "--out",
          str(scratch / "good")])
    data = (scratch / "good" / FILENAME).read_bytes()
    load_checkpoint(scratch / "good")
    (scratch / "half.safetensors").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[-3] ^= 0x01
    (scratch / "flipped.safetensors").write_bytes(bytes(flipped))


def table() -> str:
    os.environ["TWINMLP_DATA"] = "/nonexistent/twinmlp-data"
    rows = ["| where | bad input | what the user gets |", "|---|---|---|"]
    for name, call in api_cases():
        rows.append(f"| Python API | {name} | {outcome(call)} |")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        with contextlib.redirect_stdout(io.StringIO()):
            damaged_checkpoints(scratch)
        for name, argv in cli_cases(scratch):
            rows.append(f"| `twinmlp {argv[0]}` | {name} | {cli_outcome(argv, scratch)} |")
    return "\n".join(row.replace("\n", " ") for row in rows) + "\n"


if __name__ == "__main__":
    print(table(), end="")
