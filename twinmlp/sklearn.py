"""``TwinMLPClassifier``: either twin as a scikit-learn classifier.

It works in ``Pipeline`` and ``GridSearchCV`` and passes
``sklearn.utils.estimator_checks.check_estimator`` with both backends. Inputs are
validated the scikit-learn way (``validate_data``); labels may be of any type
(``classes_``); training is the shared loop, so ``partial_fit`` continues a run epoch by
epoch with its optimizer state. Numbers may be NumPy scalars (``np.int64(8)``,
``np.float32(0.01)``), as scikit-learn's own estimators take them. No scaling is done
here: put a ``StandardScaler`` in front.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from twinmlp.shared.config import ModelConfig, TrainConfig, _is_int
from twinmlp.shared.errors import TwinMLPError
from twinmlp.shared.names import fill_names
from twinmlp.shared.schedules import learning_rate
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
    activation : {ACTIVATION_NAMES}
    leaky_alpha : float
        Negative slope of ``leaky_relu``.
    init : {"he_normal", "glorot_uniform"}
    dtype : {"float32", "float64"}
    optimizer : {"sgd", "momentum", "nesterov", "adam", "adamw"}
    lr, batch_size, epochs, weight_decay, momentum, beta1, beta2, eps, schedule, dropout
        As in ``shared.config.TrainConfig``; ``batch_size`` (an integer >= 1) is capped at
        the sample count. ``schedule`` runs over ``epochs`` epochs; see :meth:`partial_fit`
        for its position there.
    early_stopping : bool
        ``fit`` holds out ``validation_fraction`` of the training rows (seeded) and stops
        after ``patience`` epochs without a better validation loss, restoring the best
        epoch. ``partial_fit`` ignores it, as scikit-learn's ``MLPClassifier`` does.
    random_state : int, numpy.random.RandomState or None
        Seeds the initial parameters, the batch order, dropout and the validation split.
        ``None`` or a ``RandomState`` draws that seed from NumPy's global generator or the
        given one, once per ``fit`` (or first ``partial_fit``), as scikit-learn does.
    verbose : bool
        Progress bar.
    threads : int or None
        Threads for NumPy's BLAS and torch while training; None chooses them from the
        size of the products (one for small networks), and ``*_NUM_THREADS`` variables in
        the environment win over that choice (README: Threads).

    ``fit`` and ``partial_fit`` take no ``sample_weight``: every row counts once (repeat
    rows to weight them). As for scikit-learn's estimators without it,
    ``sklearn.utils.validation.has_fit_parameter(estimator, "sample_weight")`` is False,
    so meta-estimators know; passing it anyway is one clear error.
    """
    __doc__ = fill_names(__doc__)  # {ACTIVATION_NAMES}: the config's list

    def __init__(self, backend: str = "numpy", device: str = "cpu",
                 hidden_layer_sizes: int | tuple[int, ...] = (100,), activation: str = "relu",
                 leaky_alpha: float = 0.01, init: str = "he_normal", dtype: str = "float64",
                 optimizer: str = "adam", lr: float = 1e-3, batch_size: int = 200,
                 epochs: int = 200, weight_decay: float = 0.0, momentum: float = 0.9,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 schedule: str = "constant", dropout: float = 0.0,
                 early_stopping: bool = False, validation_fraction: float = 0.1,
                 patience: int = 10, random_state: Any = 0, verbose: bool = False,
                 threads: int | None = None) -> None:
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
        self.threads = threads

    def fit(self, X: Any, y: Any, **fit_params: Any) -> TwinMLPClassifier:
        """Train from scratch on ``X`` (n, features) and labels ``y`` of any type."""
        _refuse_fit_params("fit", fit_params)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_fits_dtype(X, self.dtype)
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        self._start(X.shape[1])
        self._train(X, self._encode(y), epochs=self.epochs, resume=None)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None, **fit_params: Any
                    ) -> TwinMLPClassifier:
        """One more epoch over ``X``, ``y``; the first call needs ``classes`` (all labels).

        Every call trains one epoch on all the rows given: no rows are held out and
        ``early_stopping`` is ignored (as by scikit-learn's ``MLPClassifier``), also after a
        ``fit`` that stopped early — training then continues from the restored best
        parameters with the optimizer state of the last epoch.

        The learning-rate schedule's position is the number of epochs trained so far (by
        ``fit`` and ``partial_fit`` together), up to ``epochs − 1``: the ``k``-th epoch
        gets the rate that ``fit`` gives epoch ``k`` of ``epochs`` (so ``epochs`` calls
        from scratch end with the model of one ``fit``), and past ``epochs`` the last
        epoch's rate stays (``cosine``: it no longer shrinks call by call).
        """
        _refuse_fit_params("partial_fit", fit_params)
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
        resume = self._state
        if resume.history.stopped_early:  # the trainer would not train past the stop
            history = resume.history.copy()
            history.stopped_early = False
            resume = dataclasses.replace(resume, history=history)
        self._train(X, self._encode(y), epochs=resume.epoch + 1, resume=resume)
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
        self._seed = self._resolve_seed()
        config = ModelConfig(layers, self.activation, self.leaky_alpha, self.init, self.dtype,
                             self._seed)
        self.model_ = make_twin(self.backend, config, self.device)
        self._state = TrainState(0, self.model_.state_dict(), {}, History())

    def _resolve_seed(self) -> Any:
        """``random_state`` as the seed of every stream: an integer as given (checked by
        the configs), one drawn from NumPy for ``None`` or a ``RandomState``."""
        state = self.random_state
        if state is None or isinstance(state, np.random.RandomState):
            return int(check_random_state(state).randint(np.iinfo(np.int32).max))
        return state

    def _encode(self, y: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.classes_, y)

    def _train(self, X: np.ndarray, y: np.ndarray, epochs: int, resume: TrainState | None
               ) -> None:
        seed = getattr(self, "_seed", self.random_state)  # estimators pickled before _seed
        X_val = y_val = None
        patience = None
        if self.early_stopping and resume is None:  # fit only: see partial_fit
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(y))
            n_val = max(1, round(self.validation_fraction * len(y)))
            if len(y) - n_val < 1:
                raise TwinMLPError("early_stopping needs more samples than the validation split")
            X_val, y_val, X, y = X[order[:n_val]], y[order[:n_val]], X[order[n_val:]], y[
                order[n_val:]]
            patience = self.patience
        batch_size = self.batch_size  # capped when valid; a bad one is TrainConfig's to refuse
        if _is_int(batch_size) and batch_size > len(y):
            batch_size = len(y)
        options = dict(batch_size=batch_size, lr=self.lr, weight_decay=self.weight_decay,
                       patience=patience, optimizer=self.optimizer, momentum=self.momentum,
                       beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                       schedule=self.schedule, dropout=self.dropout, seed=seed)
        config = TrainConfig(epochs=self.epochs, **options)  # validates, the schedule's span
        if resume is not None:  # one epoch at the schedule's position (see partial_fit)
            position = min(resume.epoch, config.epochs - 1)
            options.update(lr=learning_rate(config, position), schedule="constant")
            config = TrainConfig(epochs=epochs, **options)
        states: list[TrainState] = []
        history = self.model_.fit(X, y, X_val, y_val, verbose=self.verbose, resume=resume,
                                  on_epoch_end=states.append, threads=self.threads,
                                  **config.to_dict())
        if states:  # with early stopping the model holds the best epoch, not the last
            self._state = dataclasses.replace(states[-1], params=self.model_.state_dict())
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



def _refuse_fit_params(method: str, fit_params: dict[str, Any]) -> None:
    """No fit parameters are supported (``sample_weight`` among them): one clear error."""
    if fit_params:
        names = ", ".join(sorted(fit_params))
        raise TwinMLPError(f"TwinMLPClassifier.{method} does not support {names}: every row "
                           f"counts once (to weight rows, repeat them)")
