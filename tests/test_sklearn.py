"""``twinmlp.sklearn.TwinMLPClassifier`` keeps scikit-learn's estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from twinmlp.shared.data import Dataset
from twinmlp.sklearn import TwinMLPClassifier


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_check_estimator_passes(backend: str) -> None:
    check_estimator(TwinMLPClassifier(backend=backend))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_pipeline_and_grid_search_on_digits(backend: str, digits: Dataset) -> None:
    labels = np.array(list("abcdefghij"))  # any label type
    X = np.vstack([digits.X_train, digits.X_val])
    y = labels[np.concatenate([digits.y_train, digits.y_val])]
    pipeline = make_pipeline(StandardScaler(), TwinMLPClassifier(backend=backend, epochs=30))
    search = GridSearchCV(pipeline, {"twinmlpclassifier__hidden_layer_sizes": [(16,), (64,)]},
                          cv=2)
    search.fit(X, y)
    assert search.best_params_["twinmlpclassifier__hidden_layer_sizes"] in [(16,), (64,)]
    predictions = search.predict(digits.X_test)
    assert set(predictions) <= set(labels)
    assert search.score(digits.X_test, labels[digits.y_test]) > 0.9
    assert list(search.best_estimator_[-1].classes_) == list(labels)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_partial_fit_epochs_equal_one_fit(backend: str, digits: Dataset) -> None:
    whole = TwinMLPClassifier(backend=backend, epochs=4, batch_size=64, optimizer="adam")
    whole.fit(digits.X_train, digits.y_train)
    stepwise = TwinMLPClassifier(backend=backend, batch_size=64, optimizer="adam")
    for _ in range(4):
        stepwise.partial_fit(digits.X_train, digits.y_train, classes=np.arange(10))
    for name, value in whole.model_.state_dict().items():
        np.testing.assert_array_equal(stepwise.model_.state_dict()[name], value)


def test_partial_fit_needs_classes_first_and_rejects_new_labels(digits: Dataset) -> None:
    classifier = TwinMLPClassifier()
    with pytest.raises(ValueError, match=r"the first partial_fit call needs classes="):
        classifier.partial_fit(digits.X_train, digits.y_train)
    classifier.partial_fit(digits.X_train[:50], digits.y_train[:50] % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y holds labels \[3\] that are not in classes_"):
        classifier.partial_fit(digits.X_train[:5], np.array([0, 1, 2, 3, 0]))


def test_params_round_trip_and_bad_values() -> None:
    classifier = TwinMLPClassifier(backend="torch", hidden_layer_sizes=(8, 4))
    assert classifier.get_params()["hidden_layer_sizes"] == (8, 4)
    classifier.set_params(lr=0.5, activation="tanh")
    assert classifier.lr == 0.5 and classifier.activation == "tanh"
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match=r"ModelConfig\.activation = 'swish' is not allowed"):
        TwinMLPClassifier(activation="swish").fit(X, y)
    with pytest.raises(ValueError, match="backend = 'jax' is not allowed"):
        TwinMLPClassifier(backend="jax").fit(X, y)
    with pytest.raises(ValueError, match=r"TrainConfig\.lr = -1 is not allowed"):
        TwinMLPClassifier(lr=-1).fit(X, y)


def test_early_stopping_holds_out_validation_rows(digits: Dataset) -> None:
    classifier = TwinMLPClassifier(early_stopping=True, patience=3, epochs=500, lr=0.01)
    classifier.fit(digits.X_train, digits.y_train)
    assert classifier.n_epochs_ < 500


# --- what scikit-learn's own estimators take ---

def _small_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_numpy_scalars_are_taken_as_numbers(backend: str) -> None:
    X, y = _small_problem()
    plain = TwinMLPClassifier(backend=backend, hidden_layer_sizes=8, epochs=3, batch_size=16,
                              random_state=1, lr=0.01).fit(X, y)
    scalars = TwinMLPClassifier(backend=backend, hidden_layer_sizes=np.int64(8),
                                epochs=np.int64(3), batch_size=np.int64(16),
                                random_state=np.int64(1), lr=np.float32(0.01),
                                validation_fraction=np.float64(0.1)).fit(X, y)
    float32_lr = TwinMLPClassifier(backend=backend, hidden_layer_sizes=8, epochs=3,
                                   batch_size=16, random_state=1,
                                   lr=float(np.float32(0.01))).fit(X, y)
    assert scalars.n_epochs_ == 3 and scalars.model_.config.layer_sizes == (4, 8, 2)
    assert scalars.loss_curve_ == float32_lr.loss_curve_  # lr: float(np.float32(0.01))
    assert len(plain.loss_curve_) == 3


def test_boolean_numbers_are_refused_without_contradiction() -> None:
    X, y = _small_problem()
    with pytest.raises(ValueError, match=r"TrainConfig\.epochs = True is not allowed"):
        TwinMLPClassifier(epochs=True).fit(X, y)
    with pytest.raises(ValueError, match=r"layer_sizes = \(4, np\.True_, 2\)"):
        TwinMLPClassifier(hidden_layer_sizes=np.bool_(True)).fit(X, y)


def test_grid_search_over_np_arange_hidden_sizes() -> None:
    X, y = _small_problem()
    search = GridSearchCV(TwinMLPClassifier(epochs=2, batch_size=32),
                          {"hidden_layer_sizes": np.arange(2, 6, 2)}, cv=2)
    search.fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in (2, 4)
    assert search.best_estimator_.model_.config.layer_sizes[1] in (2, 4)


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_below_one_is_refused(batch_size: int) -> None:
    X, y = _small_problem()
    with pytest.raises(ValueError, match=rf"TrainConfig\.batch_size = {batch_size} is not "
                                         r"allowed: expected an integer >= 1"):
        TwinMLPClassifier(batch_size=batch_size).fit(X, y)
    with pytest.raises(ValueError, match=r"TrainConfig\.batch_size = 0 is not allowed"):
        TwinMLPClassifier(batch_size=0).partial_fit(X, y, classes=[0, 1])


def test_random_state_none_and_random_state_instances() -> None:
    X, y = _small_problem()
    np.random.seed(3)
    first = TwinMLPClassifier(hidden_layer_sizes=4, epochs=2, random_state=None).fit(X, y)
    second = TwinMLPClassifier(hidden_layer_sizes=4, epochs=2, random_state=None).fit(X, y)
    assert not np.array_equal(first.model_.state_dict()["W1"], second.model_.state_dict()["W1"])
    same = [TwinMLPClassifier(hidden_layer_sizes=4, epochs=2,
                              random_state=np.random.RandomState(7)).fit(X, y)
            for _ in range(2)]
    np.testing.assert_array_equal(same[0].model_.state_dict()["W1"],
                                  same[1].model_.state_dict()["W1"])
    stepwise = TwinMLPClassifier(hidden_layer_sizes=4, random_state=None)
    for _ in range(2):
        stepwise.partial_fit(X, y, classes=[0, 1])  # one seed for the whole run
    assert stepwise._state.epoch == 2


def test_sample_weight_is_refused_the_scikit_learn_way() -> None:
    from sklearn.utils.validation import has_fit_parameter

    X, y = _small_problem()
    classifier = TwinMLPClassifier(epochs=1)
    assert not has_fit_parameter(classifier, "sample_weight")
    for call in (lambda: classifier.fit(X, y, sample_weight=np.ones(len(y))),
                 lambda: classifier.partial_fit(X, y, classes=[0, 1], sample_weight=None)):
        with pytest.raises(ValueError, match=r"TwinMLPClassifier\.(partial_)?fit does not "
                                             r"support sample_weight: every row counts once"):
            call()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_partial_fit_after_early_stopping_trains(backend: str, digits: Dataset) -> None:
    classifier = TwinMLPClassifier(backend=backend, early_stopping=True, patience=2,
                                   epochs=300, lr=0.05, hidden_layer_sizes=16)
    classifier.fit(digits.X_train, digits.y_train)
    stopped_at = classifier._state.epoch
    assert stopped_at < 300 and classifier._state.best_epoch < stopped_at  # stopped early
    # the run continues from the restored best parameters, the model the user holds
    np.testing.assert_array_equal(classifier._state.params["W1"],
                                  classifier.model_.state_dict()["W1"])
    for calls in (1, 2):
        before = classifier.model_.state_dict()
        classifier.partial_fit(digits.X_train, digits.y_train)
        assert classifier._state.epoch == stopped_at + calls
        assert not np.array_equal(classifier.model_.state_dict()["W1"], before["W1"]), calls


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_partial_fit_follows_the_schedule_over_epochs(backend: str) -> None:
    X, y = _small_problem()
    options = dict(backend=backend, hidden_layer_sizes=4, batch_size=16, optimizer="sgd",
                   lr=0.1, schedule="cosine", epochs=4)
    whole = TwinMLPClassifier(**options).fit(X, y)
    stepwise = TwinMLPClassifier(**options)
    for _ in range(4):
        stepwise.partial_fit(X, y, classes=[0, 1])
    for name, value in whole.model_.state_dict().items():
        np.testing.assert_array_equal(stepwise.model_.state_dict()[name], value)
    rates = stepwise._state.history.lr
    assert rates == whole._state.history.lr and rates[0] == 0.1 and rates[3] > 0
    for _ in range(2):  # past epochs: the last epoch's rate stays, it no longer shrinks
        stepwise.partial_fit(X, y)
    assert stepwise._state.history.lr[4:] == [rates[3], rates[3]]
