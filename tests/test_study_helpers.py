"""The small public helpers notebook 01 uses instead of riddles: a digits split without
validation rows, and early stopping replayed over a loss curve without a model."""

from __future__ import annotations

import numpy as np
import pytest

from twinmlp.shared.data import Dataset, load_digits
from twinmlp.shared.trainer import EarlyStopping


def test_digits_without_validation_keep_the_test_rows_and_train_on_the_rest(
        digits: Dataset) -> None:
    full = load_digits(validation=False)
    assert (len(full.y_train), len(full.y_val), len(full.y_test)) == (1437, 0, 360)
    assert full.X_val.shape == (0, 64)
    # the same 360 test rows, standardised with the 1437 training rows' statistics
    assert np.allclose(full.scaler.transform(full.scaler.mean[None, :]), 0)
    raw_test = digits.scaler.mean + digits.X_test * digits.scaler.scale
    assert np.allclose(full.X_test, full.scaler.transform(raw_test))
    assert np.array_equal(full.y_test, digits.y_test)
    raw_train = np.concatenate([digits.X_train, digits.X_val]) * digits.scaler.scale \
        + digits.scaler.mean
    assert np.allclose(np.sort(raw_train.sum(axis=1)),
                       np.sort((full.X_train * full.scaler.scale + full.scaler.mean).sum(axis=1)))


def test_early_stopping_replays_a_curve_without_a_model() -> None:
    stopper = EarlyStopping(patience=3, min_delta=0.0)
    curve = [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.72, 0.6]
    fired = next(epoch for epoch, loss in enumerate(curve, start=1)
                 if stopper.update(epoch, loss))
    assert (fired, stopper.best_epoch, stopper.best_loss) == (7, 4, 0.7)
    assert stopper.best_state is None


def test_progress_outside_a_terminal_is_one_plain_line_per_redraw(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from twinmlp.shared.trainer import progress_options

    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    options = progress_options()  # pytest's captured stderr is no terminal
    assert options["mininterval"] >= 5
    options["file"].write("\rtrain numpy:  50%|#####     | 5/10")
    options["file"].write("\r" + " " * 40 + "\r")  # tqdm clearing the bar on close
    assert capsys.readouterr().err == "train numpy:  50%|#####     | 5/10\n"
