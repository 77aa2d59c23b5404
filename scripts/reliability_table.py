"""Try every kind of bad input on the Python API and the command line, and print what each
one gets, as the Markdown table of ``docs/reliability.md``.

    python scripts/reliability_table.py           # print the table
    python scripts/reliability_table.py --write   # put it into docs/reliability.md

``tests/test_reliability_table.py`` regenerates the table and fails when the document and
the code disagree. Run on a machine without a CUDA GPU (the ``cuda`` rows say so).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from twinmlp import files, numpy_impl, runs, torch_impl
from twinmlp.checkpoint import FILENAME, LAST, load_checkpoint
from twinmlp.cli import main
from twinmlp.shared.idx import FILES, SOURCES, write_idx
from twinmlp.sklearn import TwinMLPClassifier


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
        ("X beyond float32's range (1e39) for a float32 model",
         lambda: numpy_impl.MLP([4, 3, 3], dtype="float32").predict(np.full((1, 4), 1e39))),
        ("the same, through TwinMLPClassifier",
         lambda: TwinMLPClassifier(dtype="float32", epochs=1).fit(np.full((6, 4), 1e39), y)),
        ("TwinMLPClassifier fed unscaled input that diverges",
         lambda: TwinMLPClassifier(dtype="float32", optimizer="sgd", epochs=5).fit(
             X * 1e36, y)),
        ("partial_fit with other classes than the first call",
         lambda: TwinMLPClassifier(epochs=1).partial_fit(X, y, classes=[0, 1, 2]).partial_fit(
             X, y, classes=[0, 1, 2, 3])),
    ]


@contextlib.contextmanager
def failing_writes(folder: Path, code: int) -> Iterator[None]:
    """Make twinmlp's writes under ``folder`` fail with ``code`` (a read-only or full file
    system, which the table cannot count on being able to mount)."""
    real = files.tempfile.mkstemp

    def refuse(*args: object, dir: str | None = None, **kwargs: object):
        if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
            raise OSError(code, os.strerror(code))
        return real(*args, dir=dir, **kwargs)

    files.tempfile.mkstemp = refuse
    try:
        yield
    finally:
        files.tempfile.mkstemp = real


@contextlib.contextmanager
def disk_full_at_curves() -> Iterator[None]:
    """The disk fills up while the run writes curves.png."""
    real = runs.plot_curves

    def full(history: object, path: Path, title: str) -> None:
        def write(temporary: Path) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        files.atomic_write_with(path, write)

    runs.plot_curves = full
    try:
        yield
    finally:
        runs.plot_curves = real


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Another process (played by this one's second open file) holds the run folder."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / runs.LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(handle, fcntl.LOCK_EX)
    os.pwrite(handle, b"4242\n", 0)
    try:
        yield
    finally:
        os.close(handle)


QUICK = ["train", "--backend", "numpy", "--epochs", "2"]
BENCH = ["bench", "--dataset", "digits", "--no-anchors", "--repeats", "1", "--warmup", "0"]


def cli_cases(scratch: Path) -> list[tuple[str, list[str]] | tuple[str, list[str], object]]:
    run = scratch / "run"
    blocker, mine, data = scratch / "a-file", scratch / "mine", scratch / "data"
    both = scratch / "both"
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
        ("--out naming a file", [*QUICK, "--out", str(blocker)]),
        ("--out under a file", [*QUICK, "--out", str(blocker / "run")]),
        ("--out on a read-only file system", [*QUICK, "--out", str(scratch / "ro")],
         failing_writes(scratch / "ro", errno.EROFS)),
        ("the disk fills up while curves.png is written", [*QUICK, "--out",
                                                           str(scratch / "full")],
         disk_full_at_curves()),
        ("--resume after that, with the disk still full",
         ["train", "--resume", str(scratch / "full")],
         failing_writes(scratch / "full", errno.ENOSPC)),
        ("--out that another train is using", [*QUICK, "--out", str(scratch / "busy")],
         locked(scratch / "busy")),
        ("--out holding a user's own config.json and history.csv",
         [*QUICK, "--out", str(mine)]),
        ("--resume with the last.safetensors of another run",
         ["train", "--resume", str(scratch / "swapped")]),
        ("--resume with a misspelt key (lrr) in config.json",
         ["train", "--resume", str(scratch / "edited")]),
        ("evaluate a checkpoint whose metadata is a list",
         ["evaluate", str(scratch / "list.safetensors")]),
        ("evaluate a checkpoint without its backend",
         ["evaluate", str(scratch / "nobackend.safetensors")]),
        ("--checkpoint-seconds nan", [*QUICK, "--checkpoint-seconds", "nan"]),
        ("--seeds 0,0", [*QUICK, "--seeds", "0,0"]),
        ("a test label outside the classes (t10k-labels)",
         ["train", "--dataset", "mnist", "--data-root", str(data / "label")]),
        ("600 images but 595 labels (train-labels)",
         ["train", "--dataset", "mnist", "--data-root", str(data / "count")]),
        ("an empty train-images file",
         ["train", "--dataset", "mnist", "--data-root", str(data / "empty")]),
        ("a gzip file in place of t10k-images",
         ["train", "--dataset", "mnist", "--data-root", str(data / "magic")]),
        ("a data root that is a file, with --download",
         ["train", "--dataset", "mnist", "--download", "--data-root", str(blocker)]),
        ("parity --out naming a file", ["parity", "--out", str(blocker)]),
        ("bench --out naming a file", [*BENCH, "--out", str(blocker)]),
        ("bench --devices numpy", [*BENCH, "--devices", "numpy"]),
        ("bench --backends cpu", [*BENCH, "--backends", "cpu"]),
        ("bench --backends ''", [*BENCH, "--backends", ""]),
        ("bench --samples 0", [*BENCH, "--samples", "0"]),
        ("bench --scaling 0", [*BENCH, "--scaling", "0"]),
        ("bench --batch-sizes 64,64", [*BENCH, "--batch-sizes", "64,64"]),
        ("--lr -1 under --nproc 2 (checked before the ranks start)",
         ["train", "--backend", "torch", "--nproc", "2", "--lr", "-1"]),
        ("--distributed-worker outside torchrun", ["train", "--backend", "torch",
                                                   "--distributed-worker"]),
        ("--device cuda with --backend numpy", [*QUICK, "--device", "cuda"]),
        ("--dropout-rng device with --backend numpy", [*QUICK, "--dropout-rng", "device"]),
        ("--floor-copies 3 with --backend numpy", [*QUICK, "--floor-copies", "3"]),
        ("parity --floor-copies 2 on a float64 run the strict tiers judge",
         ["parity", "--floor-copies", "2"]),
        ("--out holding a user's .config.json and .probe.notes",
         [*QUICK, "--out", str(scratch / "dotfiles")]),
        ("evaluate the parent folder of a --backend both run", ["evaluate", str(both)]),
        ("evaluate an unfinished run (no model.safetensors yet)",
         ["evaluate", str(scratch / "swapped")]),
        ("evaluate --backend numpy --device cuda", ["evaluate", str(scratch / "good"),
                                                    "--backend", "numpy", "--device", "cuda"]),
    ]


def outcome(call: Callable[[], object]) -> str:
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            call()
    except Exception as error:  # the point: what reaches the user
        return f"`{type(error).__name__}`: {error}"
    return "(accepted)"


def cli_outcome(argv: list[str], scratch: Path, context: object = None) -> str:
    err = io.StringIO()
    with (contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()),
          context or contextlib.nullcontext()):
        try:
            code = main([*argv, "--quiet"] if argv[0] == "train" else argv)
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code
    lines = [line for line in err.getvalue().splitlines() if not line.startswith("usage:")
             and line.strip() and not line.startswith(" ")]
    text = " ".join(lines).replace(str(scratch), "<tmp>").replace("pid 4242", "pid <pid>")
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


def forged_files(scratch: Path) -> None:
    """Folders and files for the new cases: a user's folder, swapped and edited run
    folders, forged checkpoint metadata, damaged IDX datasets."""
    from safetensors.numpy import load, save

    (scratch / "a-file").write_text("mine")
    (scratch / "mine").mkdir()
    (scratch / "mine" / "config.json").write_text('{"my": "settings"}')
    (scratch / "mine" / "history.csv").write_text("my,history\n")
    (scratch / "dotfiles").mkdir()
    (scratch / "dotfiles" / ".config.json").write_text('{"my": "settings"}')
    (scratch / "dotfiles" / ".probe.notes").write_text("mine")
    main(["train", "--epochs", "2", "--quiet", "--out", str(scratch / "both")])
    for name, extra in (("swapped", []), ("other", ["--lr", "0.02"]), ("edited", [])):
        main([*QUICK, "--lr", "0.01", "--quiet", "--out", str(scratch / name), *extra])
        (scratch / name / FILENAME).unlink()
    (scratch / "swapped" / LAST).write_bytes((scratch / "other" / LAST).read_bytes())
    for name in ("swapped", "edited"):
        meta = json.loads((scratch / name / "config.json").read_text())
        meta["status"] = "interrupted after epoch 2"
        if name == "edited":
            meta["train_config"]["lrr"] = meta["train_config"].pop("lr")
        (scratch / name / "config.json").write_text(json.dumps(meta))
    tensors = load((scratch / "good" / FILENAME).read_bytes())
    (scratch / "list.safetensors").write_bytes(save(tensors, metadata={"twinmlp": "[1, 2]"}))
    good = load_checkpoint(scratch / "good")
    from twinmlp.checkpoint import save_checkpoint

    meta = {k: v for k, v in good.meta.items() if k not in ("backend", "checksum")}
    save_checkpoint(scratch / "nobackend.safetensors", good.params, meta)
    for damage in ("label", "count", "empty", "magic"):
        raw = SOURCES["mnist"].raw_folder(scratch / "data" / damage)
        raw.mkdir(parents=True)
        rng = np.random.default_rng(0)
        arrays = {FILES[0]: rng.integers(0, 256, (600, 28, 28)), FILES[1]: np.arange(600) % 10,
                  FILES[2]: rng.integers(0, 256, (100, 28, 28)), FILES[3]: np.arange(100) % 10}
        if damage == "label":
            arrays[FILES[3]][7] = 10
        if damage == "count":
            arrays[FILES[1]] = arrays[FILES[1]][:595]
        for name, array in arrays.items():
            write_idx(raw / name, array)
        if damage == "empty":
            (raw / FILES[0]).write_bytes(b"")
        if damage == "magic":
            (raw / FILES[2]).write_bytes(b"\x1f\x8b\x08\x00" + b"\0" * 12)


def table() -> str:
    os.environ["TWINMLP_DATA"] = "/nonexistent/twinmlp-data"
    rows = ["| where | bad input | what the user gets |", "|---|---|---|"]
    for name, call in api_cases():
        rows.append(f"| Python API | {name} | {outcome(call)} |")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
                io.StringIO()):
            damaged_checkpoints(scratch)
            forged_files(scratch)
        for name, argv, *context in cli_cases(scratch):
            outcome_ = cli_outcome(argv, scratch, *context)
            rows.append(f"| `twinmlp {argv[0]}` | {name} | {outcome_} |")
    return "\n".join(row.replace("\n", " ") for row in rows) + "\n"


DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
START, END = "<!-- table:start -->\n", "\n<!-- table:end -->"


def write_doc(doc: Path = DOC) -> None:
    """Replace the table between the markers of ``doc`` with :func:`table`."""
    text = doc.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    doc.write_text(head + START + table().strip() + END + tail)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write"]:
        write_doc()
        print(f"wrote the table into {DOC}")
    else:
        print(table(), end="")
