"""LR transfer across schedules/horizons and the two-stage WSD extension, against the doc's numbers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.schedules import from_spec, sample, wsd
from autowarm.theory import bound, extend_wsd, transfer_lr, wsd_multipliers

WSD02 = "wsd:warmup_steps=0,cooldown_frac=0.2,cooldown=linear"


def etas(spec: str, T: int) -> np.ndarray:
    return sample(from_spec(spec, T), T)


def test_wsd_to_linear_factor_is_1_over_0514():
    # doc B: "from WSD c=0.2 to linear decay, the factor is about e^0.7 ~ 2.0 (ours 1/0.514 = 1.95)"
    T = 20_000
    tr = transfer_lr(1e-3, etas(WSD02, T), etas("linear", T))
    assert tr.factor == pytest.approx(1 / 0.514, abs=0.01)
    assert tr.lr == pytest.approx(1e-3 * tr.factor)
    assert tr.gamma_star_from * math.sqrt(T) == pytest.approx(0.514, abs=0.003)


def test_cosine_lr_is_about_twice_wsd():
    T = 20_000
    tr = transfer_lr(1.0, etas(WSD02, T), etas("cosine", T))
    assert tr.factor == pytest.approx(1.89, abs=0.01)


def test_horizon_transfer_scales_as_inverse_sqrt():
    tr = transfer_lr(1e-3, etas("linear", 10_000), etas("linear", 40_000))
    assert tr.factor == pytest.approx(0.5, rel=1e-3)  # gamma* ~ 1/sqrt(T)


def test_transfer_is_identity_and_inverts():
    a, b = etas("cosine", 3000), etas(WSD02, 5000)
    assert transfer_lr(2e-3, a, a).lr == pytest.approx(2e-3)
    there = transfer_lr(1e-3, a, b)
    back = transfer_lr(there.lr, b, a)
    assert back.lr == pytest.approx(1e-3, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(G=st.floats(0.01, 100.0), lr=st.floats(1e-6, 1.0))
def test_transfer_does_not_depend_on_G(G, lr):
    a, b = etas("cosine", 200), etas(WSD02, 200)
    assert transfer_lr(lr, a, b, grad_norms=G).factor == pytest.approx(
        transfer_lr(lr, a, b).factor, rel=1e-10
    )


def test_wsd_multipliers_match_the_library_wsd():
    for total, warm, c in [(100, 0, 0.2), (57, 5, 0.3), (10, 2, 0.4), (9, 0, 0.0)]:
        np.testing.assert_allclose(
            wsd_multipliers(total, c, warm), sample(wsd(total, warm, c, cooldown="linear"), total)
        )


# doc B: rho = 0.635 / 0.535 / 0.430 / 0.375 for T2/T1 = 1.5 / 2 / 3 / 4 (c = 0.2)
@pytest.mark.parametrize(("ratio", "rho"), [(1.5, 0.635), (2, 0.535), (3, 0.430), (4, 0.375)])
def test_extension_rho_matches_reference(ratio, rho):
    T1 = 4000
    ext = extend_wsd(1e-3, T1, int(ratio * T1), 0.2)
    assert ext.rho == pytest.approx(rho, abs=0.004)
    # the plan keeps the bound-optimal LR of the finished run
    assert bound(ext.multipliers).gamma_star == pytest.approx(
        bound(wsd_multipliers(T1, 0.2)).gamma_star, rel=1e-6
    )


def test_extension_beats_fresh_wsd_in_the_bound():
    # doc B (ours, 4x): 0.01664 adapted vs 0.01708 fresh re-tuned vs 0.02133 same LR, same c
    ext = extend_wsd(1e-3, 4000, 16_000, 0.2)
    assert ext.omega["extended"] == pytest.approx(0.01664, abs=5e-5)
    assert ext.omega["fresh_tuned"] == pytest.approx(0.01708, abs=5e-5)
    assert ext.omega["fresh_same_lr"] == pytest.approx(0.02133, abs=5e-5)


def test_extension_schedule_layout():
    ext = extend_wsd(3e-4, 1000, 2500, 0.2, warmup_steps=50)
    m = ext.multipliers
    assert m.size == 2500 and ext.hold_steps == 800 and ext.cooldown_steps == 500
    np.testing.assert_allclose(m[:1000][:800], wsd_multipliers(1000, 0.2, 50)[:800])
    assert np.all(m[800:2000] == pytest.approx(ext.rho))
    assert m[-1] == 0.0 and m[1999] == pytest.approx(ext.rho)
    assert ext.lr == 3e-4


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: transfer_lr(0.0, [1.0], [1.0]), "lr"),
        (lambda: extend_wsd(1e-3, 1000, 1000), "new_total_steps"),
        (lambda: extend_wsd(1e-3, 1000, 2000, 1.5), "cooldown_frac"),
        (lambda: wsd_multipliers(10, 0.5, 6), "exceed"),
        (lambda: wsd_multipliers(10, 0.5, rho=0.0), "rho"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
