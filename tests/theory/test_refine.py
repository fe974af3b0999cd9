"""Refinement from gradient norms: linear decay from constant norms, warm-up from large early norms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.theory import bound, median_filter, refine
from autowarm.theory.refine import refined_weights_schedule


@pytest.mark.parametrize("n", [2, 5, 100, 10_000])
@pytest.mark.parametrize("norm", ["l2", "l1"])
def test_constant_norms_give_linear_decay(n, norm):
    np.testing.assert_allclose(refine(np.full(n, 3.7), norm=norm), np.linspace(1, 0, n), atol=1e-12)


def test_constant_norms_resampled_to_a_new_length():
    np.testing.assert_allclose(refine(np.ones(300), total_steps=1000), np.linspace(1, 0, 1000))


def test_weights_formula():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    # eta_t = w_t * sum_{p > t} w_p, eta_T = 0
    assert refined_weights_schedule(w).tolist() == [9.0, 14.0, 12.0, 0.0]


def test_large_early_norms_give_a_warmup():
    n = 2000
    t = np.arange(n)
    g = 1.0 + 9.0 * np.exp(-t / 100)  # norms fall from 10 to 1 over the first ~300 updates
    r = refine(g, tau=0.0)
    peak = int(np.argmax(r))
    assert 50 < peak < 600 and r[0] < 0.05 and r.max() == 1.0 and r[-1] == 0.0
    assert np.all(np.diff(r[peak + 10 :]) <= 1e-12)  # decays after the peak
    # l1 weights G^-1 give a milder warm-up than l2 weights G^-2
    assert refine(g, tau=0.0, norm="l1")[0] > r[0]


def test_median_filter_removes_spikes():
    rng = np.random.default_rng(0)
    g = np.ones(1000)
    g[rng.choice(1000, 20, replace=False)] = 1e3  # isolated loss spikes
    np.testing.assert_allclose(refine(g), np.linspace(1, 0, 1000), atol=1e-12)
    assert not np.allclose(refine(g, tau=0.0), np.linspace(1, 0, 1000), atol=1e-3)


def test_median_filter_edges_and_values():
    x = np.array([5.0, 1.0, 2.0, 8.0, 3.0, 3.0, 9.0])
    got = median_filter(x, 3)
    want = [
        np.median(x[max(0, i - 1) : i + 2].tolist() + [x[0]] * (i == 0) + [x[-1]] * (i == 6))
        for i in range(7)
    ]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(median_filter(x, 1), x)


def test_refined_schedule_improves_the_bound_for_its_norms():
    # the refined schedule targets the bound with the observed G_t: it beats linear decay there
    n = 3000
    g = 1.0 + 4.0 * np.exp(-np.arange(n) / 200)
    r = refine(g, tau=0.0)
    assert bound(r, g).omega_star < bound(np.linspace(1, 0, n), g).omega_star


def test_long_recordings_are_reduced_but_keep_the_shape():
    n = 200_000
    r = refine(np.full(n, 2.0))
    assert r.size == n
    np.testing.assert_allclose(r, np.linspace(1, 0, n), atol=1e-12)


def test_non_finite_norms_are_dropped():
    g = np.ones(50)
    g[[3, 9]] = np.inf
    g[20] = np.nan
    assert refine(g).size == 47


@settings(max_examples=30, deadline=None)
@given(
    g=st.lists(st.floats(0.01, 100.0), min_size=2, max_size=200),
    n=st.integers(2, 500),
    tau=st.floats(0.0, 0.5),
)
def test_invariants(g, n, tau):
    r = refine(g, total_steps=n, tau=tau)
    assert r.shape == (n,) and r.max() == pytest.approx(1.0) and r.min() >= 0.0
    assert r[-1] == pytest.approx(0.0, abs=1e-12)
    # invariant to the scale of the norms
    np.testing.assert_allclose(refine(np.asarray(g) * 7.0, total_steps=n, tau=tau), r, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grad_norms": [1.0]}, "at least 2"),
        ({"grad_norms": [1.0, np.inf, np.nan]}, "at least 2"),
        ({"grad_norms": [1.0, 0.0]}, "> 0"),
        ({"grad_norms": [[1.0, 2.0]]}, "1-d"),
        ({"grad_norms": [1.0, 2.0], "tau": 1.0}, "tau"),
        ({"grad_norms": [1.0, 2.0], "norm": "linf"}, "norm"),
        ({"grad_norms": [1.0, 2.0], "total_steps": 1}, "total_steps"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        refine(**kwargs)
    with pytest.raises(ValueError, match="odd"):
        median_filter(np.ones(3), 2)
