"""What the two twins' ``MLP`` share that is not arithmetic, written once.

:class:`TwinMLP` holds the public API of both twins (``forward``, ``backward``,
``loss_and_grads``, ``predict``, ``fit``), the validation of what a user passes in, and
the parts of the trainer's protocol that only glue calls together. Each twin's
``model.py`` subclasses it with the array code alone: the forward and backward passes
(MATH.md §1–§5), the training step, and the conversions into and out of its arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import numpy as np

from twinmlp.shared.cache import ForwardCache
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.dropout import DropoutStep
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.init import init_params
from twinmlp.shared.layout import column_major_params
from twinmlp.shared.memory import check_model_fits
from twinmlp.shared.names import fill_names
from twinmlp.shared.threads import choose_threads, thread_limit
from twinmlp.shared.trainer import DivergenceError, History, TrainState, train
from twinmlp.shared.validation import (
    as_array,
    check_features,
    check_fits_dtype,
    check_float_dtype,
    check_targets,
    unscaled_input_advice,
)

Array = Any  # the twin's array type: numpy.ndarray or torch.Tensor


class TwinMLP(ABC):
    """The shell of a twin's ``MLP``; a subclass supplies the array code.

    A subclass sets :attr:`backend`, :attr:`functional` and :attr:`optim`, sets its
    ``dtype`` (and device) and then calls ``TwinMLP.__init__``. It must implement every
    abstract method of the last group below, "what each twin supplies" — the twin
    contract, documented there once; Python refuses to instantiate a subclass that
    misses one. Together with the glue methods here they make up the shared trainer's
    protocol, ``twinmlp.shared.trainer.Trainable`` (tests/test_twin_contract.py holds the
    two to the same names and signatures). A subclass's docstring writes a list of the
    config's names as its placeholder, ``{ACTIVATION_NAMES}``, filled in when the class
    is made (``twinmlp.shared.names``).
    """

    #: The twin's name in reports: ``"numpy"`` or ``"torch"``.
    backend: str
    #: The architecture the model was built with.
    config: ModelConfig
    #: The twin's ``functional`` and ``optim`` modules.
    functional: ModuleType
    optim: ModuleType

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__doc__:  # the documented lists of names are the config's
            cls.__doc__ = fill_names(cls.__doc__)

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        check_model_fits(config.layer_sizes, config.dtype, getattr(self, "device", "cpu"))
        column_major = column_major_params(config.layer_sizes)  # W_L: shared/layout.py
        self.params: dict[str, Array] = {}
        for name, value in init_params(config).items():
            param = self._to_backend(value)
            self.params[name] = self._column_major(param) if name in column_major else param
        self._step_buffers: dict[int, dict[str, Array]] = {}

    @property
    def n_layers(self) -> int:
        """Number of weight layers ``L``."""
        return len(self.config.layer_sizes) - 1

    # --- the public API: validate, then the twin's arithmetic ---

    def forward(self, X: Any) -> tuple[Array, ForwardCache]:
        """Class probabilities ``P`` (n, k) and the cache for :meth:`backward` (MATH.md §1)."""
        cache = self.forward_pass(self._as_input(X))
        return cache.probs, cache

    def backward(self, cache: ForwardCache, y: Any) -> dict[str, Array]:
        """Gradients of the mean cross-entropy, keyed like :attr:`params` (MATH.md §5).

        ``y`` holds integer labels (n,) or one-hot rows (n, k).
        """
        return self.backward_pass(cache, self._as_targets(y, cache.probs.shape[0]))

    def loss_and_grads(self, X: Any, y: Any) -> tuple[Array, dict[str, Array]]:
        """Mean cross-entropy (MATH.md §3, no L2 term) and its gradients."""
        cache = self.forward_pass(self._as_input(X))
        targets = self._as_targets(y, cache.probs.shape[0])
        return (self.functional.cross_entropy(cache.logits, targets),
                self.backward_pass(cache, targets))

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities (n, k)."""
        probs = self.forward_pass(self._as_input(X)).probs
        # Each row sums to 1; an overflow inside the network (input near the dtype's limit,
        # huge weights) leaves NaN, which spoils the sum: one scalar read, not n·k.
        if not np.isfinite(self.read_scalars([probs.sum()])).all():
            raise TwinMLPError(
                f"the model's {self.config.dtype} arithmetic overflowed on X (its outputs "
                f"are not finite): the input or the weights are too large for "
                f"{self.config.dtype}; scale the input (e.g. StandardScaler) or use "
                f"dtype='float64'")
        return probs

    def predict(self, X: Any) -> Array:
        """Most probable class of each row (n,)."""
        return self.predict_proba(X).argmax(1)

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None, epochs: int = 100,
            batch_size: int = 64, lr: float = 0.01, weight_decay: float = 0.0,
            patience: int | None = None, verbose: bool = True,
            resume: TrainState | None = None,
            on_epoch_end: Callable[[TrainState], None] | None = None,
            threads: int | None = None, **options: Any) -> History:
        """Train in place with the shared loop (``twinmlp.shared.trainer.train``) and return
        the history. ``options`` are further ``TrainConfig`` fields (``optimizer``,
        ``dropout``, …); ``resume`` continues from a saved ``TrainState`` and
        ``on_epoch_end`` receives one after every epoch. ``threads`` caps the threads of
        NumPy's BLAS and torch for this call; by default they follow the size of the
        products (``twinmlp.shared.threads``), and the history records the choice."""
        config = TrainConfig.from_options(epochs=epochs, batch_size=batch_size, lr=lr,
                                          weight_decay=weight_decay, patience=patience,
                                          **options)
        choice = choose_threads(self.config.layer_sizes, config.batch_size, threads)
        try:
            with thread_limit(choice):
                history = train(self, X, y, X_val, y_val, config, verbose=verbose,
                                resume=resume, on_epoch_end=on_epoch_end)
            history.threads = choice.describe()
            return history
        except DivergenceError as error:  # same facts, the advice fitted to the cause
            advice = unscaled_input_advice(self._input_peak(X))
            if advice is None:
                raise
            raise error.with_advice(advice) from None

    # --- the shared trainer's protocol (twinmlp.shared.trainer.Trainable), glue part ---

    def prepare_data(self, X: Any, y: Any, names: tuple[str, str] = ("X", "y")
                     ) -> tuple[Array, Array]:
        """Validate one split and convert it once, as ``(features, labels)``."""
        features = self._as_input(X, names[0])
        labels = self._as_targets(y, features.shape[0], names[1])
        if labels.ndim != 1:
            raise TwinMLPError(f"{names[1]} must hold integer class labels of shape (n,) "
                               f"for training, got shape {tuple(labels.shape)}")
        return features, labels

    def make_optimizer(self, config: TrainConfig, n_train: int) -> Any:
        """``config``'s optimizer with the decay coefficient ``λ/N`` (MATH.md §6, §11)."""
        return self.optim.make_optimizer(config.optimizer, config.lr,
                                         config.weight_decay / n_train, config.momentum,
                                         (config.beta1, config.beta2), config.eps)

    def evaluate(self, data: tuple[Array, Array]) -> tuple[float, float]:
        """Mean loss (no L2 term) and accuracy on a prepared split."""
        X, y = data
        cache = self.forward_pass(X)
        correct = (cache.probs.argmax(1) == y).sum()
        return float(self.functional.cross_entropy(cache.logits, y)), float(correct) / len(y)

    # --- validation of what a user passes in ---

    def _as_input(self, X: Any, name: str = "X") -> Array:
        """``X`` checked (2-D, numeric, finite, ``d_0`` features) and converted."""
        X = as_array(X, name)
        check_float_dtype(X.dtype.kind, X.dtype, name)
        finite = X.dtype.kind != "f" or bool(np.isfinite(X).all())
        check_features(X.shape, self.config.layer_sizes[0], finite, name)
        check_fits_dtype(X, self.config.dtype, name)  # finite here, not inf after the cast
        return self._to_backend(X)

    def _as_targets(self, y: Any, n_rows: int, name: str = "y") -> Array:
        """Labels (n,) or one-hot rows (n, k), checked against the model and converted."""
        y = as_array(y, name)
        check_targets(y, n_rows, self.config.layer_sizes[-1], name)
        return self._labels_to_backend(y) if y.ndim == 1 else self._to_backend(y)

    def _input_peak(self, X: Any) -> float:
        """The largest ``|x|`` of ``X``, read through the same checks and conversion as
        training's input (so a tensor is read where it lives)."""
        features = self._as_input(X)
        return float(self.read_scalars([abs(features).max()])[0])

    def _shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(value.shape) for name, value in self.params.items()}

    # --- what each twin supplies: the twin contract ---
    # The forward and backward passes (MATH.md §1–§5) and the training step are the
    # arithmetic; the rest moves values into and out of the twin's arrays.

    @abstractmethod
    def forward_pass(self, X: Array, D: list[Array | None] | None = None,
                     buffers: dict[str, Array] | None = None, y: Array | None = None
                     ) -> ForwardCache:
        """The forward recursion of MATH.md §1 on a prepared input ``X`` (n, d_0): ``Z_l``,
        ``A_l = φ(Z_l)`` (times the dropout mask ``D[l]`` when given, §13) and
        ``P = softmax(Z_L)``. ``buffers`` (the training step's) receive the arrays instead
        of new ones; labels ``y`` make it also return the summed loss (§3)."""

    @abstractmethod
    def backward_pass(self, cache: ForwardCache, y: Array,
                      buffers: dict[str, Array] | None = None,
                      n_total: int | None = None,
                      keep_G: dict[str, Array] | None = None) -> dict[str, Array]:
        """The gradients of MATH.md §5 from a :meth:`forward_pass` cache, keyed like
        :attr:`params`; ``n_total`` makes them one shard's part of a global batch's
        (§14); ``keep_G``, when given, receives a copy of each ``G_l`` as ``"G{l}"``."""

    @abstractmethod
    def train_step(self, data: tuple[Array, Array], batch: Array, optimizer: Any,
                   dropout: DropoutStep | None = None) -> tuple[Array, Array]:
        """One update on the rows ``batch`` of prepared ``data`` (with dropout when given,
        MATH.md §13); returns (summed loss, correct count) as backend scalars."""

    @abstractmethod
    def prepare_order(self, order: np.ndarray) -> Array:
        """One epoch's permutation as the backend index array that steps slice (moved
        into the backend once per epoch)."""

    @abstractmethod
    def read_scalars(self, values: list[Array]) -> np.ndarray:
        """Backend scalars as one float64 NumPy vector (one transfer, one device sync)."""

    @abstractmethod
    def all_finite(self) -> bool:
        """Whether every parameter is finite."""

    @abstractmethod
    def weight_norm_sq(self) -> float:
        """``Σ_l ‖W_l‖²`` for the reported L2 term (MATH.md §6)."""

    @abstractmethod
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters as NumPy arrays (loadable by either twin)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters from ``state`` (of either twin), cast to this model's dtype."""

    @abstractmethod
    def numerics(self) -> AbstractContextManager[Any]:
        """The context training runs in (exact numerics for a CUDA model)."""

    @abstractmethod
    def _dropout_masks(self, dropout: DropoutStep | None, n_rows: int
                       ) -> list[Array | None] | None:
        """Scaled masks ``D_l = K_l / (1 − p)`` of one step, indexed by ``l`` (MATH.md §13);
        the data-parallel twins draw them for the global batch."""

    @abstractmethod
    def _to_backend(self, array: np.ndarray) -> Array:
        """A NumPy array as a backend array of the model's dtype (and device)."""

    @abstractmethod
    def _labels_to_backend(self, labels: np.ndarray) -> Array:
        """Integer labels as the backend's index array."""

    @abstractmethod
    def _column_major(self, array: Array) -> Array:
        """A column-major copy of ``array`` (the layout of ``W_L``: shared/cache.py)."""
