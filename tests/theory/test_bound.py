"""The convex last-iterate bound: closed forms, the reference numbers, invariants, T = 1e6, errors."""

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.schedules import from_spec, sample, wsd
from autowarm.theory import bound, bound_table


def harmonic(n: int) -> float:
    return math.fsum(1.0 / k for k in range(1, n + 1))


@pytest.mark.parametrize("T", [1, 2, 7, 1000])
@pytest.mark.parametrize(("D", "G"), [(1.0, 1.0), (3.0, 0.5)])
def test_constant_schedule_is_the_harmonic_closed_form(T, D, G):
    b = bound(np.ones(T), G, D)
    assert pytest.approx(D * D / (2 * T), rel=1e-14) == b.T1
    assert pytest.approx(0.5 * G * G * (1 + harmonic(T - 1)), rel=1e-12) == b.T2
    gamma = 0.37
    # the three terms of the reference unit test: D^2/(2 gamma t), gamma G^2/2, gamma G^2 H_{t-1}/2
    want = D * D / (2 * gamma * T) + gamma * G * G / 2 + gamma * G * G * harmonic(T - 1) / 2
    assert b.omega(gamma) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("T", "T0"), [(10, 8), (100, 81), (1000, 801), (5000, 2)])
def test_wsd_linear_cooldown_T1_closed_form(T, T0):
    # eta_t = 1 for t < T0, (T + 1 - t)/(T + 1 - T0) from T0 to T: T1 = D^2 / (T + T0) exactly
    t = np.arange(1, T + 1)
    eta = np.where(t < T0, 1.0, (T + 1 - t) / (T + 1 - T0))
    assert pytest.approx(4.0 / (T + T0), rel=1e-13) == bound(eta, D=2.0).T1


def test_library_wsd_is_the_reference_construction():
    # sample(wsd(T + 1)) drops its final zero: the reference's "length T + 1, evaluated at T"
    T, c = 999, 0.2
    n_cool = round(c * (T + 1))
    T0 = T + 1 - n_cool
    t = np.arange(1, T + 1)
    doc = np.where(t < T0, 1.0, (T + 1 - t) / (T + 1 - T0))
    b = bound(sample(wsd(T + 1, 0, c, cooldown="linear"), T + 1))
    assert b.steps == T
    np.testing.assert_allclose(b.etas, doc, rtol=0, atol=1e-15)
    assert pytest.approx(1.0 / (T + T0), rel=1e-13) == b.T1


# Reference numbers of the convex-bound schedule study (Schaipp et al. 2025, arXiv 2501.18965;
# D = G = 1): gamma* sqrt(T) / Omega* sqrt(T), stable for T = 1e4 - 1e5. Tolerance: half a unit of the doc's last printed digit, plus 0.002
# for the O(1/T) difference between T = 1e4 and 1e5.
REFERENCE = [
    ("linear", 1.00, 2.00, 0.007),
    ("cosine", 0.97, 2.06, 0.007),
    ("wsd:warmup_steps=0,cooldown_frac=0.5,cooldown=linear", 0.656, 2.03, 0.0025),
    ("wsd:warmup_steps=0,cooldown_frac=0.2,cooldown=linear", 0.514, 2.16, 0.0025),
    ("wsd:warmup_steps=0,cooldown_frac=0.1,cooldown=linear", 0.461, 2.28, 0.0025),
    ("wsd:warmup_steps=0,cooldown_frac=0.2,cooldown=1-sqrt", 0.542, 2.13, 0.0025),
]


@pytest.mark.parametrize(("spec", "gamma_ref", "omega_ref", "tol"), REFERENCE)
def test_reference_numbers(spec, gamma_ref, omega_ref, tol):
    T = 20_000
    b = bound(sample(from_spec(spec, T + 1), T + 1))
    assert b.steps == T
    assert b.gamma_star * math.sqrt(T) == pytest.approx(gamma_ref, abs=tol)
    assert b.omega_star * math.sqrt(T) == pytest.approx(omega_ref, abs=max(tol, 0.007))


def test_constant_reference_and_log_growth():
    small = bound(np.ones(10_000))
    assert small.gamma_star * 100 == pytest.approx(0.30, abs=0.005)
    assert small.omega_star * 100 == pytest.approx(3.28, abs=0.005)
    big = bound(np.ones(100_000))
    assert big.omega_star * math.sqrt(1e5) > small.omega_star * 100  # grows like sqrt(log T)


def test_cosine_over_wsd_ratio_near_1_9():
    T = 20_000
    table = bound_table(
        {
            s: sample(from_spec(s, T), T)
            for s in ("cosine", "wsd:warmup_steps=0,cooldown_frac=0.2,cooldown=linear")
        }
    )
    ratio = (
        table["cosine"]["gamma_star"]
        / table["wsd:warmup_steps=0,cooldown_frac=0.2,cooldown=linear"]["gamma_star"]
    )
    assert ratio == pytest.approx(1.89, abs=0.01)  # doc: 0.97 / 0.514 = 1.89


def test_T2_of_wsd_is_bounded_in_T():
    # no log T term with a cooldown: T2 stays about 2.1 G^2 for c = 0.2, while the constant
    # schedule's T2 grows by ln(10)/2 = 1.15 per decade
    horizons = (1000, 10_000, 100_000)
    t2 = [bound(sample(wsd(T, 0, 0.2, cooldown="linear"), T)).T2 for T in horizons]
    assert abs(t2[2] - t2[1]) < 0.005 and abs(t2[1] - t2[0]) < 0.03
    assert t2[-1] == pytest.approx(2.1, abs=0.01)
    const = [bound(np.ones(T)).T2 for T in horizons]
    assert const[2] - const[1] == pytest.approx(0.5 * math.log(10), abs=1e-3)


def test_stable_and_fast_at_one_million_steps():
    T = 1_000_000
    linear = 1.0 - (np.arange(T) + 1.0) / T
    start = time.perf_counter()
    b = bound(linear)
    elapsed = time.perf_counter() - start
    assert b.gamma_star * math.sqrt(b.steps) == pytest.approx(1.0, abs=1e-4)
    assert b.omega_star * math.sqrt(b.steps) == pytest.approx(2.0, abs=1e-4)
    const = bound(np.ones(T))
    assert pytest.approx(0.5 * (1 + harmonic(T - 1)), rel=1e-12) == const.T2
    assert elapsed < 2.0  # O(T): about 0.1 s on one core


def test_curve_is_the_truncated_bound():
    eta = sample(from_spec("wsd:warmup_steps=5,cooldown_frac=0.3,cooldown=linear", 60), 60)
    b = bound(eta, grad_norms=np.linspace(2.0, 1.0, 60))
    gamma = 0.05
    curve = b.curve(gamma)
    assert curve.shape == (b.steps,)
    for t in (1, 5, 17, 42, b.steps):
        want = bound(eta[:t], grad_norms=np.linspace(2.0, 1.0, 60)[:t]).omega(gamma)
        assert curve[t - 1] == pytest.approx(want, rel=1e-13)
    assert curve[-1] == pytest.approx(b.omega(gamma))
    np.testing.assert_allclose(b.curve(gamma, steps=[3, 40]), curve[[2, 39]])
    # the cooldown drop of WSD shows in the curve
    assert curve[-1] < curve[40]


def test_curve_with_zero_multipliers_uses_last_positive():
    b = bound([1.0, 0.0, 0.5, 0.0])
    assert b.steps == 3
    curve = bound([1.0, 0.0, 0.5]).curve(0.5)
    assert curve[1] == pytest.approx(curve[0])  # a zero step does not move the iterate
    assert bound([0.0, 1.0]).curve(1.0)[0] == math.inf


def test_trailing_zeros_are_dropped():
    assert bound([0.5, 0.25, 0.0, 0.0]).T2 == bound([0.5, 0.25]).T2


@settings(max_examples=40, deadline=None)
@given(
    etas=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1.0)), min_size=1, max_size=40).filter(
        lambda e: max(e) > 1e-3
    ),
    D=st.floats(0.1, 10.0),
    G=st.floats(0.1, 10.0),
    c=st.floats(0.1, 10.0),
)
def test_invariants(etas, D, G, c):
    b = bound(etas, G, D)
    assert b.T1 > 0 and b.T2 > 0 and b.omega_star >= 0
    assert b.omega_star <= b.omega(b.gamma_star * 1.5) and b.omega_star <= b.omega(b.gamma_star / 2)
    unit = bound(etas)
    assert b.gamma_star == pytest.approx(unit.gamma_star * D / G, rel=1e-9)
    assert b.omega_star == pytest.approx(unit.omega_star * D * G, rel=1e-9)
    scaled = bound(np.asarray(etas) * c, G, D)  # the base LR absorbs a scale of the multipliers
    assert scaled.gamma_star == pytest.approx(b.gamma_star / c, rel=1e-9)
    assert scaled.omega_star == pytest.approx(b.omega_star, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"etas": []}, "non-empty"),
        ({"etas": [[1.0, 1.0]]}, "1-d"),
        ({"etas": [1.0, -0.1]}, "finite and >= 0"),
        ({"etas": [1.0, float("nan")]}, "finite and >= 0"),
        ({"etas": [0.0, 0.0]}, "all zero"),
        ({"etas": [1.0, 1.0], "grad_norms": [1.0]}, "shape of etas"),
        ({"etas": [1.0], "grad_norms": -1.0}, "grad_norms"),
        ({"etas": [1.0], "grad_norms": 0.0}, "all gradient norms are zero"),
        ({"etas": [1.0], "D": 0.0}, "D must be"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bound(**kwargs)


def test_bad_gamma_and_curve_steps():
    b = bound([1.0, 0.5])
    with pytest.raises(ValueError, match="gamma"):
        b.omega(-1.0)
    with pytest.raises(ValueError, match=r"1\.\.2"):
        b.curve(steps=[0])
