"""The fit of K0 + K1 D + K2 D^rho: planted constants recovered, the window rule, the report."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autowarm.diagnostics.fit import fit_smoothness, select_window, spearman


def _points(k0, k1, k2, rho=2.0, n=300, noise=0.0, seed=0, lo=0.5, hi=6.0):
    rng = np.random.default_rng(seed)
    d = np.linspace(hi, lo, n)  # the gap falls along the run
    k = k0 + k1 * d + k2 * d**rho
    return d, k * (1.0 + noise * rng.standard_normal(n))


@settings(max_examples=30, deadline=None)
@given(
    k0=st.floats(0.5, 50.0),
    k1=st.floats(-5.0, 5.0),
    k2=st.floats(0.1, 20.0),
)
def test_noiseless_points_give_the_planted_constants(k0, k1, k2):
    d, k = _points(k0, k1, k2)
    assume(k.min() > 0.2 * k0)  # a smoothness constant is positive along the run
    fit = fit_smoothness(d, k, transient_frac=0.0)
    assert pytest.approx((k0, k1, k2), rel=1e-6, abs=1e-6) == (fit.K0, fit.K1, fit.K2)
    assert fit.r2 == pytest.approx(1.0)


def test_noisy_points_recover_the_constants_within_tolerance():
    # 5% multiplicative noise on 300 points: K2 (which dominates over D in 0.5..6) within 5%,
    # K0 and K1 within 0.6 absolute (they trade off against each other), R^2 above 0.95.
    d, k = _points(2.0, 1.0, 3.0, noise=0.05, seed=1)
    fit = fit_smoothness(d, k)
    assert pytest.approx(3.0, rel=0.05) == fit.K2
    assert pytest.approx(2.0, abs=0.6) == fit.K0
    assert pytest.approx(1.0, abs=0.6) == fit.K1
    assert fit.r2 > 0.95
    assert fit.spearman > 0.9
    assert fit.delta_star == pytest.approx(math.sqrt(fit.K0 / fit.K2))


def test_rho_search_finds_the_planted_exponent():
    d, k = _points(1.0, 0.0, 0.5, rho=3.0, noise=0.01, seed=2)
    fit = fit_smoothness(d, k, rho="fit")
    assert fit.rho == pytest.approx(3.0, abs=0.1)
    assert fit.r2 > 0.99
    two = fit_smoothness(d, k, rho=2.0)
    assert two.rho == 2.0 and two.r2 < fit.r2


def test_outliers_and_transient_are_dropped_by_the_rule():
    d, k = _points(2.0, 1.0, 3.0, n=100)
    k[[30, 60]] *= 1e4  # spikes
    k[5] = -1.0  # invalid
    d[7] = np.nan  # invalid
    fit = fit_smoothness(d, k)
    assert (fit.n_points, fit.n_invalid, fit.n_transient, fit.n_outliers) == (100, 2, 9, 2)
    assert fit.n_used == 87
    assert pytest.approx(3.0, rel=1e-6) == fit.K2
    assert "1.4826 * MAD" in fit.rule


def test_transient_is_taken_in_step_order():
    mask, counts = select_window([5, 4, 3, 2, 1], [1, 2, 3, 4, 5], transient_frac=0.4)
    assert mask.tolist() == [False, False, True, True, True]
    assert counts == {"invalid": 0, "transient": 2, "outliers": 0}


def test_falling_and_rising_curvature_are_told_apart():
    # K rising as the loss falls (what the paper saw for Muon and normSGD) gives spearman < 0.
    d = np.linspace(5.0, 0.5, 50)
    assert fit_smoothness(d, 10.0 / d).spearman == pytest.approx(-1.0)
    assert fit_smoothness(d, 1 + d**2).spearman == pytest.approx(1.0)


def test_no_delta_star_when_the_law_has_no_warmup_shape():
    d = np.linspace(5.0, 0.5, 50)
    fit = fit_smoothness(d, 10.0 - d**2 * 0.1)
    assert fit.K2 < 0 and fit.delta_star is None


def test_spearman_with_ties_matches_hand_value():
    # ranks x: 1, 2.5, 2.5, 4 ; y: 1, 2, 3, 4 -> corr = 0.9486832980505138
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486832980505138)
    assert math.isnan(spearman([1], [2]))


def test_predict_and_dict():
    fit = fit_smoothness(*_points(1.0, 2.0, 3.0, n=20), transient_frac=0.0)
    assert fit.predict(2.0) == pytest.approx(1 + 4 + 12)
    d = fit.to_dict()
    assert set(d) >= {"K0", "K1", "K2", "rho", "r2", "rmse", "spearman", "n_used", "rule"}
    assert isinstance(d["gap_range"], list)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rho": 1.0}, "rho must be > 1"),
        ({"rho": "best"}, "rho must be a number > 1 or 'fit'"),
        ({"transient_frac": 1.0}, "transient_frac"),
        ({"outlier_z": 0.0}, "outlier_z"),
    ],
)
def test_bad_arguments(kwargs, match):
    d, k = _points(1.0, 1.0, 1.0, n=20)
    with pytest.raises(ValueError, match=match):
        fit_smoothness(d, k, **kwargs)


def test_too_few_points():
    with pytest.raises(ValueError, match="too few points to fit: 3 of 3"):
        fit_smoothness([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], transient_frac=0.0)
    with pytest.raises(ValueError, match="same length"):
        select_window([1.0, 2.0], [1.0])


def test_descent_window_keeps_the_initial_fall_of_k():
    # K falls with the gap for 20 points (warm-up phase), then rises as the loss keeps falling.
    d = np.concatenate([np.linspace(5.0, 2.0, 20), np.linspace(1.95, 0.5, 40)])
    k = np.where(np.arange(60) < 20, 1.0 + 2.0 * d**2, 18.0 / d)  # continuous at D = 2
    mask, counts = select_window(d, k, window="descent")
    assert mask.nonzero()[0].tolist() == list(range(20))
    assert counts == {"invalid": 0, "transient": 40, "outliers": 0}
    fit = fit_smoothness(d, k, window="descent")
    assert pytest.approx((1.0, 0.0, 2.0), abs=1e-6) == (fit.K0, fit.K1, fit.K2)
    assert fit.spearman == pytest.approx(1.0) and "initial descent" in fit.rule
    assert fit_smoothness(d, k).spearman < 0  # the steady window sees the rise
    with pytest.raises(ValueError, match="window must be one of"):
        select_window(d, k, window="early")
