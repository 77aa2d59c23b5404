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
