"""The training loop, written once for both backends (MATH.md §6, §7, §9, §10).

The loop knows nothing of arrays. It drives a model through the small :class:`Trainable`
protocol, which keeps two promises that make it fast on a GPU: the dataset moves into the
backend once, each epoch's permutation moves once, and each step returns its loss as a
backend scalar; the epoch's step losses are read in one transfer after the epoch (on
CUDA: no host sync inside an epoch), which is also where divergence is caught, naming
the step. :func:`run_epoch` is that epoch, the one the benchmark times as well.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.data import validation_given
from twinmlp.shared.dropout import DropoutStep
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.schedules import learning_rate


class _Lines:
    """A stream for tqdm that turns each carriage-return redraw into one plain line."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_options() -> dict[str, Any]:
    """tqdm options: a redrawn bar in a terminal (or a notebook); elsewhere (a log file, a
    pipe) one line at most every 5 seconds instead of a flood of carriage returns."""
    if sys.stderr.isatty() or "ipykernel" in sys.modules:
        return {}
    return {"file": _Lines(sys.stderr), "mininterval": 5.0, "ascii": True}


class Trainable(Protocol):
    """What a backend's model offers the loop; ``Any`` stands for a backend's arrays.

    ``twinmlp.shared.model.TwinMLP`` implements it (its glue methods, plus the abstract
    ones each twin supplies); tests/test_twin_contract.py holds the two to the same
    members and signatures."""

    config: ModelConfig
    backend: str  # the name the progress bar and reports show: "numpy", "torch"

    def prepare_data(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")
                     ) -> tuple[Any, Any]:
        """Validate one split (``names`` for messages) and move it into the backend, once
        per fit."""

    def prepare_order(self, order: np.ndarray) -> Any:
        """Move one epoch's permutation into the backend (once per epoch)."""

    def make_optimizer(self, config: TrainConfig, n_train: int) -> Any:
        """The optimizer of ``config`` over this model's parameters (MATH.md §7)."""

    def train_step(self, data: tuple[Any, Any], batch: Any, optimizer: Any,
                   dropout: DropoutStep | None = None) -> tuple[Any, Any]:
        """One update on the rows ``batch`` (with dropout when given); returns (summed
        loss, correct count) as backend scalars."""

    def evaluate(self, data: tuple[Any, Any]) -> tuple[float, float]:
        """Mean loss (no L2 term) and accuracy on a prepared split."""

    def read_scalars(self, values: list[Any]) -> np.ndarray:
        """Backend scalars as one float64 NumPy vector (one device sync)."""

    def all_finite(self) -> bool:
        """Whether every parameter is finite."""

    def weight_norm_sq(self) -> float:
        """``Σ_l ‖W_l‖²`` for the reported L2 term (MATH.md §6)."""

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays."""

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Put parameters back."""

    def numerics(self) -> AbstractContextManager[Any]:
        """The context training runs in (exact CUDA numerics for a CUDA model)."""


@dataclass
class History:
    """Per-epoch record of a run; the lists are aligned (one entry per epoch run)."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    l2_penalty: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    #: The threads the libraries were given (``twinmlp.shared.threads``), set by ``fit``.
    threads: str = ""
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    COLUMNS = ("epoch", "train_loss", "l2_penalty", "train_acc", "val_loss", "val_acc", "lr",
               "seconds")

    def rows(self) -> list[dict[str, float]]:
        """One dict per epoch, keyed by :attr:`COLUMNS`."""
        return [dict(zip(self.COLUMNS, values, strict=False))
                for values in zip(*(getattr(self, c) for c in self.COLUMNS), strict=False)]

    def copy(self) -> History:
        """A copy whose lists are independent of this one's (cheap: floats are shared)."""
        clone = copy.copy(self)
        for column in self.COLUMNS:
            setattr(clone, column, list(getattr(self, column)))
        return clone

    @property
    def epochs_run(self) -> int:
        """How many epochs were trained."""
        return len(self.epoch)


class EarlyStopping:
    """Watches the validation loss (MATH.md §10) and keeps the best parameters."""

    def __init__(self, patience: int | None, min_delta: float) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = np.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.bad_epochs = 0

    def update(self, epoch: int, val_loss: float, model: Trainable | None = None) -> bool:
        """Record epoch ``epoch``; return True when training should stop. Without a
        ``model`` only the epochs are tracked (no parameters kept), e.g. to replay a curve."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = None if model is None else model.state_dict()
            return False
        self.bad_epochs += 1
        return self.patience is not None and self.bad_epochs >= self.patience


@dataclass
class TrainState:
    """A run after a whole epoch: everything needed to continue it bit for bit."""

    epoch: int
    params: dict[str, np.ndarray]
    optimizer_state: dict[str, np.ndarray]
    history: History
    best_loss: float = np.inf
    best_epoch: int | None = None
    bad_epochs: int = 0
    best_params: dict[str, np.ndarray] | None = None


#: The advice a divergence carries unless its cause is known to be another.
SMALLER_LEARNING_RATE = "try a smaller learning rate"


class DivergenceError(ArithmeticError):
    """Training produced a non-finite loss or parameter; the model holds the parameters
    of the last good epoch, and ``history`` the epochs up to it.

    It carries the facts — ``epoch``, ``step`` of ``n_steps`` (``None`` when a parameter,
    not a step's loss, was found non-finite), ``cause`` and ``advice`` — and builds its
    message from them in one place; :meth:`with_advice` is the same divergence with other
    advice (``TwinMLP.fit`` names an unscaled input instead of the learning rate).
    """

    def __init__(self, epoch: int, step: int | None, n_steps: int, cause: str,
                 last_good: TrainState, advice: str = SMALLER_LEARNING_RATE) -> None:
        self.epoch, self.step, self.n_steps = epoch, step, n_steps
        self.cause, self.advice = cause, advice
        self.last_good = last_good
        self.history = last_good.history.copy()
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"step {self.step} of {self.n_steps}" if self.step else "its last steps"
        which = (f"epoch {self.last_good.epoch}" if self.last_good.epoch
                 else "epoch 0 (the initial ones)")
        return (f"training diverged in epoch {self.epoch}, {where}: {self.cause}; the "
                f"parameters of {which} were put back; {self.advice}")

    def with_advice(self, advice: str) -> DivergenceError:
        """This divergence with ``advice`` instead of its own."""
        return DivergenceError(self.epoch, self.step, self.n_steps, self.cause,
                               self.last_good, advice)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:  # pickles by its facts
        return DivergenceError, (self.epoch, self.step, self.n_steps, self.cause,
                                 self.last_good, self.advice)


def train(model: Trainable, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None,
          y_val: np.ndarray | None, config: TrainConfig, verbose: bool = True,
          resume: TrainState | None = None,
          on_epoch_end: Callable[[TrainState], None] | None = None) -> History:
    """Fit ``model`` in place and return its :class:`History`.

    Mini-batches follow the shared order (MATH.md §9); with validation data every epoch is
    evaluated on it, and ``config.patience`` stops early on the validation loss
    (MATH.md §10), restoring the best parameters when ``config.restore_best`` is set.
    ``resume`` continues a run from a :class:`TrainState` (the result is bit-identical to
    an uninterrupted run); ``on_epoch_end`` receives one after every epoch (for epoch
    checkpoints). A non-finite loss or parameter raises :class:`DivergenceError`.
    """
    has_val = validation_given(X_val, y_val)
    if config.patience is not None and not has_val:
        raise TwinMLPError("early stopping (patience) watches the validation loss: "
                           "pass X_val and y_val, or set patience=None")
    n_train = len(X)
    seed = model.config.seed if config.seed is None else config.seed
    train_data = model.prepare_data(X, y)
    val_data = model.prepare_data(X_val, y_val, ("X_val", "y_val")) if has_val else None
    optimizer = model.make_optimizer(config, n_train)
    l2_scale = config.weight_decay / (2 * n_train)
    stopper = EarlyStopping(config.patience, config.min_delta)
    history = History()
    if resume is not None:
        model.load_state_dict(resume.params)
        optimizer.load_state_dict(resume.optimizer_state)
        history = resume.history.copy()
        stopper.best_loss, stopper.best_epoch = resume.best_loss, resume.best_epoch
        stopper.bad_epochs, stopper.best_state = resume.bad_epochs, resume.best_params
    last_good = resume or snapshot(model, optimizer, history, stopper, 0)

    first = last_good.epoch + 1
    bar = tqdm(range(first, config.epochs + 1), desc=f"train {model.backend}", unit="epoch",
               initial=first - 1, total=config.epochs, disable=not verbose, leave=False,
               dynamic_ncols=True, **progress_options())
    with model.numerics():
        for epoch in bar:
            if history.stopped_early:  # also when resuming a run that had stopped
                break
            start_time = time.perf_counter()
            losses, corrects = run_epoch(model, train_data, optimizer, config, seed, epoch)
            check_finite(model, losses, epoch, last_good, optimizer)
            # Mean cross-entropy over the epoch's batches, comparable with val_loss; the L2
            # term is reported beside it, not inside it (for AdamW it is no part of the
            # objective).
            train_loss = float(losses.sum()) / n_train
            l2_penalty = l2_scale * model.weight_norm_sq()
            train_acc = float(corrects.sum()) / n_train
            val_loss, val_acc = model.evaluate(val_data) if has_val else (np.nan, np.nan)

            history.epoch.append(epoch)
            history.train_loss.append(train_loss)
            history.l2_penalty.append(l2_penalty)
            history.train_acc.append(train_acc)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            history.lr.append(optimizer.lr)
            history.seconds.append(time.perf_counter() - start_time)
            bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{train_acc:.3f}",
                            val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.3f}",
                            refresh=False)
            if has_val and stopper.update(epoch, val_loss, model):
                history.stopped_early = True
            last_good = snapshot(model, optimizer, history, stopper, epoch)
            if on_epoch_end is not None:
                on_epoch_end(last_good)
    bar.close()

    history.best_epoch = stopper.best_epoch
    history.optimizer_state = optimizer.state_dict()
    if config.patience is not None and config.restore_best and stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    return history


def run_epoch(model: Trainable, data: Any, optimizer: Any, config: TrainConfig, seed: int,
              epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """Epoch ``epoch`` (counted from 1) of training on prepared ``data``: the schedule's
    learning rate (MATH.md §12), the shared batch order (§9), one ``train_step`` per batch
    with its dropout masks (§13). Returns every step's summed loss and correct count as
    float64 vectors, read from the backend in one transfer after the last step."""
    n_train = len(data[0])
    bounds = batch_bounds(n_train, config.batch_size)
    optimizer.lr = learning_rate(config, epoch - 1)
    order = model.prepare_order(epoch_permutation(seed, epoch - 1, n_train))
    step_losses, step_correct = [], []
    # Overflow is caught by the caller, by epoch and step; NumPy need not warn of it too.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step, (start, stop) in enumerate(bounds):
            dropout = (DropoutStep(config.dropout, seed, epoch - 1, step, config.dropout_rng)
                       if config.dropout > 0 else None)
            loss_sum, correct = model.train_step(data, order[start:stop], optimizer, dropout)
            step_losses.append(loss_sum)
            step_correct.append(correct)
    scalars = model.read_scalars(step_losses + step_correct)
    return scalars[:len(bounds)], scalars[len(bounds):]


def snapshot(model: Trainable, optimizer: Any, history: History, stopper: EarlyStopping,
             epoch: int) -> TrainState:
    """The run's :class:`TrainState` after ``epoch`` whole epochs."""
    return TrainState(epoch, model.state_dict(), optimizer.state_dict(), history.copy(),
                      stopper.best_loss, stopper.best_epoch, stopper.bad_epochs,
                      stopper.best_state)


def check_finite(model: Trainable, losses: np.ndarray, epoch: int, last_good: TrainState,
                 optimizer: Any) -> None:
    """Raise :class:`DivergenceError` (after putting back the last good epoch) when a step
    loss or a parameter is not finite."""
    bad_steps = np.flatnonzero(~np.isfinite(losses))
    if len(bad_steps) == 0 and model.all_finite():
        return
    step = int(bad_steps[0]) + 1 if len(bad_steps) else None
    cause = (f"the loss became {losses[step - 1]}" if step
             else "a parameter became non-finite")
    model.load_state_dict(last_good.params)
    optimizer.load_state_dict(last_good.optimizer_state)
    raise DivergenceError(epoch, step, len(losses), cause, last_good)
