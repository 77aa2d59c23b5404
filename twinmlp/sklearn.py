"""``TwinMLPClassifier``: either twin as a scikit-learn classifier.

It works in ``Pipeline`` and ``GridSearchCV`` and passes
``sklearn.utils.estimator_checks.check_estimator`` with both backends. Inputs are
validated the scikit-learn way (``validate_data``); labels may be of any type
(``classes_``); training is the shared loop, so ``partial_fit`` continues a run epoch by
epoch with its optimizer state. No scaling is done here: put a ``StandardScaler`` in front.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.trainer import History, TrainState
from twinmlp.shared.validation import check_fits_dtype
from twinmlp.twins import make_twin


class TwinMLPClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier backed by ``numpy_impl`` or ``torch_impl``.

    Parameters
    ----------
    backend : {"numpy", "torch"}
    device : str
        torch device (``"cpu"``, ``"cuda"``, ``"cuda:N"``); ignored by numpy.
    hidden_layer_sizes : int or tuple of int
        Widths of the hidden layers (an int: one hidden layer, as scikit-learn's).
    activation : {"leaky_relu", "relu", "tanh", "sigmoid", "gelu", "silu"}
    leaky_alpha : float
        Negative slope of ``leaky_relu``.
    init : {"he_normal", "glorot_uniform"}
    dtype : {"float32", "float64"}
    optimizer : {"sgd", "momentum", "nesterov", "adam", "adamw"}
    lr, batch_size, epochs, weight_decay, momentum, beta1, beta2, eps, schedule, dropout
        As in ``shared.config.TrainConfig``; ``batch_size`` is capped at the sample count.
    early_stopping : bool
        Hold out ``validation_fraction`` of the training rows (seeded) and stop after
        ``patience`` epochs without a better validation loss, restoring the best epoch.
    random_state : int
        Seeds the initial parameters, the batch order, dropout and the validation split.
    verbose : bool
        Progress bar.
    """

    def __init__(self, backend: str = "numpy", device: str = "cpu",
                 hidden_layer_sizes: int | tuple[int, ...] = (100,), activation: str = "relu",
                 leaky_alpha: float = 0.01, init: str = "he_normal", dtype: str = "float64",
                 optimizer: str = "adam", lr: float = 1e-3, batch_size: int = 200,
                 epochs: int = 200, weight_decay: float = 0.0, momentum: float = 0.9,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 schedule: str = "constant", dropout: float = 0.0,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 10, random_state: int = 0, verbose: bool = False) -> None:
        self.backend = backend
        self.device = device
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.leaky_alpha = leaky_alpha
        self.init = init
        self.dtype = dtype
        self.optimizer = optimizer
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.schedule = schedule
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any) -> TwinMLPClassifier:
        """Train from scratch on ``X`` (n, features) and labels ``y`` of any type."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_fits_dtype(X, self.dtype)
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        self._start(X.shape[1])
        self._train(X, self._encode(y), epochs=self.epochs, resume=None)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> TwinMLPClassifier:
        """One more epoch over ``X``, ``y``; the first call needs ``classes`` (all labels)."""
        first = not hasattr(self, "classes_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        check_fits_dtype(X, self.dtype)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise TwinMLPError("the first partial_fit call needs classes=, the list of all "
                                 "labels")
            self.classes_ = unique_labels(classes)
            self._start(X.shape[1])
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise TwinMLPError(f"classes={unique_labels(classes).tolist()} differs from the "
                               f"first partial_fit call's {self.classes_.tolist()}: the "
                               f"classes are fixed by the first call (use fit to start over)")
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise TwinMLPError(f"y holds labels {unknown.tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}")
        self._train(X, self._encode(y), epochs=self._state.epoch + 1, resume=self._state)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class in ``classes_`` order, (n, n_classes)."""
        from twinmlp.arrays import to_numpy

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        check_fits_dtype(X, self.dtype)
        return to_numpy(self.model_.predict_proba(X)).astype(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    # --- internals ---

    def _start(self, n_features: int) -> None:
        if len(self.classes_) < 2:
            raise TwinMLPError(f"{type(self).__name__} needs at least 2 classes in y, got "
                             f"{len(self.classes_)} class")
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if np.ndim(hidden) == 0 else tuple(hidden)  # as scikit-learn
        layers = (n_features, *hidden, len(self.classes_))
        config = ModelConfig(layers, self.activation, self.leaky_alpha, self.init, self.dtype,
                             self.random_state)
        self.model_ = make_twin(self.backend, config, self.device)
        self._state = TrainState(0, self.model_.state_dict(), {}, History())

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.classes_, y)

    def _train(self, X: np.ndarray, y: np.ndarray, epochs: int, resume: TrainState | None
               ) -> None:
        X_val = y_val = None
        patience = None
        if self.early_stopping:
            rng = np.random.default_rng(self.random_state)
            order = rng.permutation(len(y))
            n_val = max(1, round(self.validation_fraction * len(y)))
            if len(y) - n_val < 1:
                raise TwinMLPError("early_stopping needs more samples than the validation split")
            X_val, y_val, X, y = X[order[:n_val]], y[order[:n_val]], X[order[n_val:]], y[
                order[n_val:]]
            patience = self.patience
        config = TrainConfig(epochs=epochs, batch_size=max(1, min(self.batch_size, len(y))),
                             lr=self.lr, weight_decay=self.weight_decay, patience=patience,
                             optimizer=self.optimizer, momentum=self.momentum, beta1=self.beta1,
                             beta2=self.beta2, eps=self.eps, schedule=self.schedule,
                             dropout=self.dropout, seed=self.random_state)
        states: list[TrainState] = []
        history = self.model_.fit(X, y, X_val, y_val, verbose=self.verbose, resume=resume,
                                  on_epoch_end=states.append, **config.to_dict())
        self._state = states[-1] if states else self._state
        self.n_epochs_ = history.epochs_run
        self.loss_curve_ = list(history.train_loss)
        self._warn_if_blown_up()

    #: A training loss this many times the first epoch's means the steps overshoot.
    BLOWN_UP = 10.0
    def _warn_if_blown_up(self) -> None:
        """A training loss that rose to :attr:`BLOWN_UP` times the first epoch's is
        reported (ConvergenceWarning): the steps overshoot, the learning rate is too large,
        though nothing overflowed (the weights grow huge, and the loss may later drop to
        0 on separable data, which is no cure)."""
        losses = self._state.history.train_loss
        peak = int(np.argmax(losses)) if losses else 0
        if peak > 0 and losses[peak] > self.BLOWN_UP * max(losses[0], 1e-12):
            largest = max(float(np.max(np.abs(v))) for v in self._state.params.values())
            warnings.warn(f"training loss rose from {losses[0]:.3g} to {losses[peak]:.3g} "
                          f"(epoch {peak + 1}) and the largest weight is {largest:.3g}: "
                          f"lr={self.lr} is too large for this problem; try a smaller one",
                          ConvergenceWarning, stacklevel=3)

