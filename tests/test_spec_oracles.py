"""The shared spec against its own definitions in MATH.md, independently of the twins.

Both twins read the initial parameters, the batch order, the dropout masks and the
learning rates from ``shared/``, so twin-against-twin parity cannot see a mistake there.
Statistical checks use large draws and a bound of 6 standard errors: a correct formula
fails one of them with probability below 2e-9 (normal tail), while the mistakes they are
there for (a wrong fan, a wrong keep share, a repeated index) move the statistic by
hundreds of standard errors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from twinmlp.shared.batching import batch_bounds, epoch_permutation
from twinmlp.shared.config import ModelConfig, TrainConfig
from twinmlp.shared.dropout import keep_masks
from twinmlp.shared.init import init_params
from twinmlp.shared.schedules import learning_rate

Z = 6.0  # standard errors allowed


def within(value: float, expected: float, standard_error: float, what: str) -> None:
    assert abs(value - expected) <= Z * standard_error, (
        f"{what}: {value:.6g}, expected {expected:.6g} ± {Z:g}·{standard_error:.2g}")


# --- MATH.md §8: initialisation ---

SIZES = (400, 500, 1000)  # W1: 200,000 draws with fan-in 400; W2: 500,000 with fan-in 500


def test_he_normal_has_the_variance_2_over_fan_in_and_a_normal_shape() -> None:
    params = init_params(ModelConfig(SIZES, init="he_normal", seed=0))
    for layer, fan_in in ((1, SIZES[0]), (2, SIZES[1])):
        w = params[f"W{layer}"].ravel()
        n, sigma = w.size, math.sqrt(2 / fan_in)
        assert params[f"W{layer}"].dtype == np.float64
        within(w.mean(), 0.0, sigma / math.sqrt(n), f"mean of W{layer}")
        # sample variance of a normal: standard error σ² sqrt(2/(n-1))
        within(w.var(ddof=1) / sigma**2, 1.0, math.sqrt(2 / (n - 1)), f"var(W{layer})/σ²")
        # kurtosis 3 tells a normal from a uniform (1.8); standard error sqrt(24/n)
        within(stats.kurtosis(w, fisher=False), 3.0, math.sqrt(24 / n), f"kurtosis W{layer}")
        np.testing.assert_array_equal(params[f"b{layer}"], 0.0)


def test_glorot_uniform_fills_minus_r_to_r_with_r_sqrt_6_over_fans() -> None:
    params = init_params(ModelConfig(SIZES, init="glorot_uniform", seed=1))
    for layer in (1, 2):
        w = params[f"W{layer}"].ravel()
        fan_in, fan_out = SIZES[layer - 1], SIZES[layer]
        r, n = math.sqrt(6 / (fan_in + fan_out)), w.size
        assert np.abs(w).max() <= r
        # the largest of n uniform draws falls short of r by about r/n
        assert np.abs(w).max() >= r * (1 - 20 / n)
        # uniform variance r²/3; the sample variance's standard error is σ² sqrt(0.8/n)
        within(w.var(ddof=1) / (r * r / 3), 1.0, math.sqrt(0.8 / n), f"var(W{layer})/(r²/3)")
        within(w.mean(), 0.0, r / math.sqrt(3 * n), f"mean of W{layer}")


def test_initialisation_is_one_seeded_stream() -> None:
    a = init_params(ModelConfig((20, 30, 5), seed=4))
    b = init_params(ModelConfig((20, 30, 5), seed=4))
    c = init_params(ModelConfig((20, 30, 5), seed=5))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["W1"], c["W1"])


# --- MATH.md §9: batch order ---

@pytest.mark.parametrize(("n", "batch"), [(1149, 64), (100, 10), (7, 3), (5, 8)])
def test_every_epoch_visits_every_row_once_in_batches_of_b(n: int, batch: int) -> None:
    bounds = batch_bounds(n, batch)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(stop == start for (_, stop), (start, _) in itertools.pairwise(bounds))
    assert [stop - start for start, stop in bounds] == [batch] * (n // batch) + (
        [n % batch] if n % batch else [])
    orders = [epoch_permutation(3, epoch, n) for epoch in range(4)]
    for order in orders:
        rows = np.concatenate([order[start:stop] for start, stop in bounds])
        assert rows.dtype == np.int64
        np.testing.assert_array_equal(np.sort(rows), np.arange(n))  # coverage, no repeats
    if n > 5:
        assert len({order.tobytes() for order in orders}) == 4  # reshuffled every epoch
    np.testing.assert_array_equal(orders[2], epoch_permutation(3, 2, n))  # reproducible


def test_batch_order_is_uniform_over_positions() -> None:
    # Where row 0 lands over 5,000 epochs of 10 rows: uniform over the 10 positions.
    # Chi-square with 9 degrees of freedom; the bound has a false-alarm rate of 1e-9.
    counts = np.bincount([int(np.flatnonzero(epoch_permutation(0, e, 10) == 0)[0])
                          for e in range(5000)], minlength=10)
    statistic = ((counts - 500) ** 2 / 500).sum()
    assert statistic < stats.chi2.isf(1e-9, df=9), counts


# --- MATH.md §13: dropout keep masks ---

@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_keep_masks_keep_the_share_one_minus_p(rate: float) -> None:
    masks = keep_masks(seed=2, epoch=1, step=3, n_rows=500, widths=[400, 300], rate=rate)
    assert [m.shape for m in masks] == [(500, 400), (500, 300)]
    for mask in masks:
        assert mask.dtype == np.bool_
        keep = 1 - rate
        within(mask.mean(), keep, math.sqrt(keep * (1 - keep) / mask.size), "keep share")
    # independent layers and rows: two layers' overlapping blocks are uncorrelated
    a, b = masks[0][:, :300].ravel(), masks[1].ravel()
    within(np.corrcoef(a, b)[0, 1], 0.0, 1 / math.sqrt(a.size), "layer correlation")


def test_keep_masks_are_new_every_step_and_reproducible() -> None:
    first = keep_masks(0, 0, 0, 64, [32], 0.5)[0]
    np.testing.assert_array_equal(first, keep_masks(0, 0, 0, 64, [32], 0.5)[0])
    assert not np.array_equal(first, keep_masks(0, 0, 1, 64, [32], 0.5)[0])
    assert not np.array_equal(first, keep_masks(0, 1, 0, 64, [32], 0.5)[0])
    # apart from the batch-order stream of the same seed
    assert not np.array_equal(np.random.default_rng([0, 0]).random((64, 32)) >= 0.5, first)


# --- MATH.md §12: learning-rate schedules in closed form ---

def test_step_schedule_multiplies_by_gamma_every_s_epochs() -> None:
    config = TrainConfig(lr=0.5, schedule="step", step_size=3, gamma=0.1, epochs=10)
    got = [learning_rate(config, e) for e in range(10)]
    expected = [0.5] * 3 + [0.05] * 3 + [0.005] * 3 + [0.0005]
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_cosine_schedule_warms_up_linearly_then_follows_half_a_cosine() -> None:
    config = TrainConfig(lr=0.1, schedule="cosine", warmup_epochs=4, min_lr=0.02, epochs=14)
    got = [learning_rate(config, e) for e in range(14)]
    # warm-up: 0.1·(e+1)/4
    np.testing.assert_allclose(got[:4], [0.025, 0.05, 0.075, 0.1], rtol=1e-15)
    assert got[4] == pytest.approx(0.1, rel=1e-15)  # cos 0: the full rate
    assert got[9] == pytest.approx(0.06, rel=1e-15)  # halfway: (η + η_min)/2
    # e = 13: progress 9/10, η_min + ½(η − η_min)(1 + cos 0.9π)
    assert got[13] == pytest.approx(0.02 + 0.04 * (1 + math.cos(0.9 * math.pi)), rel=1e-15)
    assert all(a >= b for a, b in itertools.pairwise(got[4:]))  # falling after the warm-up


def test_constant_schedule_is_constant() -> None:
    config = TrainConfig(lr=0.3, epochs=5)
    assert [learning_rate(config, e) for e in range(5)] == [0.3] * 5
