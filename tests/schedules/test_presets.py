"""Named schedules: value tables at every boundary, the step convention, invariants, bad input."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm import schedules as S


def values(s, n):
    return [s(k) for k in range(n)]


# --- value tables at boundaries (hand-computed) -------------------------------------------------


def test_linear_warmup_then_linear_decay_table():
    s = S.linear(total_steps=10, warmup_steps=4)
    # Warm-up: (k + 1) / 4; the peak is update 4 (step 3); decay over 6 updates ends at 0.
    assert values(s, 11) == pytest.approx(
        [0.25, 0.5, 0.75, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0, 0.0]
    )


def test_cosine_with_floor_table():
    s = S.cosine(total_steps=6, warmup_steps=2, min_lr_factor=0.1)
    expect = [0.5, 1.0] + [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * j / 4)) for j in range(1, 5)]
    assert values(s, 6) == pytest.approx(expect)
    assert s(5) == pytest.approx(0.1)


def test_wsd_boundaries():
    s = S.wsd(total_steps=20, warmup_steps=4, cooldown_frac=0.25, cooldown="1-sqrt")
    v = values(s, 21)
    assert v[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert v[4:15] == [1.0] * 11  # stable phase: 20 - 4 - 5 = 11 updates
    assert v[15:20] == pytest.approx([1 - math.sqrt(j / 5) for j in range(1, 6)])
    assert v[19] == 0.0 and v[20] == 0.0


def test_wsd_floor_and_shapes():
    for shape in ("linear", "1-sqrt", "square", "cosine", "mirror_cosine", "rex"):
        s = S.wsd(100, 10, 0.2, cooldown=shape, min_lr_factor=0.05)
        assert s(79) == 1.0
        assert s(80) < 1.0
        assert s(99) == pytest.approx(0.05)


def test_wsd_without_cooldown_is_constant():
    s = S.wsd(10, 2, 0.0)
    assert values(s, 10) == [0.5] + [1.0] * 9


def test_rex_and_polynomial_tables():
    assert values(S.rex(4), 4) == pytest.approx(
        [(1 - z) / (1 - z / 2) for z in (0.25, 0.5, 0.75, 1)]
    )
    assert values(S.polynomial(4, power=2.0, min_lr_factor=0.2), 4) == pytest.approx(
        [0.2 + 0.8 * (1 - z) ** 2 for z in (0.25, 0.5, 0.75, 1)]
    )


def test_exponential_decay_is_geometric():
    s = S.exponential(5, min_lr_factor=0.01)
    assert values(s, 5) == pytest.approx([0.01 ** (j / 5) for j in range(1, 6)])
    with pytest.raises(ValueError, match="geometric"):
        S.exponential(5, min_lr_factor=0.0)


def test_inverse_sqrt_table():
    s = S.inverse_sqrt(100, warmup_steps=4)
    assert values(s, 6) == pytest.approx([0.25, 0.5, 0.75, 1.0, math.sqrt(4 / 5), math.sqrt(4 / 6)])
    with pytest.raises(ValueError, match="timescale"):
        S.inverse_sqrt(100)
    assert S.inverse_sqrt(100, timescale=9.0)(0) == pytest.approx(math.sqrt(0.9))


def test_warmup_shapes():
    lin = S.constant(10, 4, warmup="linear")
    cos = S.constant(10, 4, warmup="cosine")
    exp = S.constant(10, 4, warmup="exponential", warmup_rate=5.0)
    assert values(cos, 4) == pytest.approx(
        [0.5 * (1 - math.cos(math.pi * t / 4)) for t in (1, 2, 3, 4)]
    )
    assert values(exp, 4) == pytest.approx(
        [(1 - math.exp(-5 * t / 4)) / (1 - math.exp(-5)) for t in (1, 2, 3, 4)]
    )
    assert lin(3) == cos(3) == exp(3) == 1.0
    # A warm-up from a start factor (1/div).
    s = S.constant(10, 4, warmup_start=0.1)
    assert s(0) == pytest.approx(0.1 + 0.9 * 0.25)


def test_untuned_warmup_multiplies_the_schedule():
    # beta2 = 0.9 -> 2 / (1 - beta2) = 20 updates of linear warm-up.
    s = S.cosine(100, warmup="untuned", beta2=0.9)
    assert s(0) == pytest.approx(0.05 * 0.5 * (1 + math.cos(math.pi / 100)))
    assert s(19) == pytest.approx(0.5 * (1 + math.cos(math.pi * 20 / 100)))
    e = S.constant(100, warmup="untuned-exponential", beta2=0.9)
    assert e(0) == pytest.approx(1 - math.exp(-0.1))
    with pytest.raises(ValueError, match="warmup_steps=0"):
        S.constant(100, 10, warmup="untuned")


def test_warmup_cosine_onecycle_parameterisation():
    s = S.warmup_cosine(total_steps=10, warmup_steps=4, div_factor=25.0, final_div_factor=1e4)
    v = values(s, 10)
    assert v[0] == pytest.approx(1 / 25)  # the first update at lr / div, as OneCycleLR
    assert v[3] == 1.0  # the peak at update warmup_steps
    assert v[9] == pytest.approx(1 / 25 / 1e4)  # the last update at lr / (div * final_div)
    no_warmup = S.warmup_cosine(10, 0)
    assert no_warmup(0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 10)) * (1 - 4e-6) + 4e-6)
    one = S.warmup_cosine(10, 1, div_factor=10.0)
    assert one(0) == 0.1 and one(1) < 1.0


def test_cos_inf_and_cyclic_and_power():
    s = S.cos_inf(10, warmup_steps=2, tail_frac=0.3, min_lr_factor=0.2)
    v = values(s, 12)
    assert v[:2] == [0.5, 1.0]
    assert v[6] == pytest.approx(0.2)  # cosine of 5 updates ends at step 6
    assert v[7:] == [0.2] * 5
    c = S.cyclic(12, base_factor=0.25, cycles=2, mode="triangular2")
    assert values(c, 12) == pytest.approx(
        [0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25, 0.375, 0.5, 0.625, 0.5, 0.375]
    )
    p = S.power(1000, 100, 0.1, tokens_per_step=1e4)
    law = S.PowerLaw(tokens_per_step=1e4)
    assert p(99) == pytest.approx(law(99))
    assert p(500) == pytest.approx(law(500))
    assert p(899) == pytest.approx(law(899))
    assert p(999) == 0.0


# --- the step convention, for every registered schedule ---------------------------------------

REGISTRY_CASES = {
    "constant": {"warmup_steps": 7},
    "linear": {"warmup_steps": 7},
    "cosine": {"warmup_steps": 7},
    "polynomial": {"warmup_steps": 7, "power": 2.0},
    "exponential": {"warmup_steps": 7},
    "rex": {"warmup_steps": 7},
    "inverse_sqrt": {"warmup_steps": 7},
    "warmup_decay": {"warmup_steps": 7, "decay": "1-sqrt", "hold_steps": 10},
    "warmup_cosine": {"warmup_steps": 7},
    "onecycle": {},
    "wsd": {"warmup_steps": 7, "cooldown_frac": 0.2},
    "cos_inf": {"warmup_steps": 7},
    "cyclic": {"cycles": 3},
    "power": {"warmup_steps": 7, "tokens_per_step": 2048},
}


def test_every_registered_schedule_has_a_case():
    assert set(REGISTRY_CASES) == set(S.SCHEDULES)


@pytest.mark.parametrize("name", sorted(REGISTRY_CASES))
def test_first_update_never_zero_and_multipliers_bounded(name):
    s = S.build(name, 60, **REGISTRY_CASES[name])
    v = values(s, 80)
    assert v[0] > 0.0
    assert all(math.isfinite(x) and 0.0 <= x <= 1.0 + 1e-12 for x in v)


@pytest.mark.parametrize(
    "name", ["constant", "linear", "cosine", "polynomial", "rex", "wsd", "cos_inf"]
)
def test_warmup_reaches_peak_on_update_w(name):
    s = S.build(name, 60, **REGISTRY_CASES[name])
    assert s(6) == pytest.approx(1.0)
    assert s(5) < 1.0


# --- invariants (hypothesis) --------------------------------------------------------------------

decay_names = st.sampled_from(sorted(S.DECAY_SHAPES))
warm_names = st.sampled_from(["linear", "cosine", "exponential"])


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(2, 400),
    wfrac=st.floats(0, 0.9),
    decay=decay_names,
    warm=warm_names,
    floor=st.floats(0.0, 0.5),
    start=st.floats(0.0, 0.9),
)
def test_warmup_decay_invariants(total, wfrac, decay, warm, floor, start):
    w = int(wfrac * (total - 1))
    if decay == "exponential":
        floor = max(floor, 1e-3)
    s = S.warmup_decay(total, w, decay=decay, min_lr_factor=floor, warmup=warm, warmup_start=start)
    v = values(s, total + 3)
    assert v[0] > 0.0
    assert all(math.isfinite(x) and 0.0 <= x <= 1.0 + 1e-12 for x in v)
    # Monotone warm-up, monotone decay (every decay shape here is non-increasing).
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(v[:w]))
    assert all(a + 1e-12 >= b for a, b in itertools.pairwise(v[w:]))
    if w:
        assert v[w - 1] == pytest.approx(1.0)
    if decay != "constant":
        assert v[total - 1] == pytest.approx(floor, abs=1e-12)
    assert v[total + 2] == v[total - 1]  # held past the end


@settings(max_examples=100, deadline=None)
@given(total=st.integers(3, 300), w=st.integers(0, 50), frac=st.floats(0.0, 0.6))
def test_wsd_invariants(total, w, frac):
    w = min(w, total - 1)
    c = round(frac * total)
    if w + c > total:
        with pytest.raises(ValueError, match="exceed total_steps"):
            S.wsd(total, w, frac)
        return
    s = S.wsd(total, w, frac, cooldown="linear")
    v = values(s, total)
    assert v.count(1.0) >= total - w - c
    assert v[0] > 0
    if c:
        assert v[-1] == 0.0


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: S.wsd(100, 10, 1.5), "cooldown_frac must be"),
        (lambda: S.wsd(100, 90, 0.2), "exceed total_steps"),
        (lambda: S.wsd(100, 10, 0.2, cooldown="zigzag"), "cooldown must be one of"),
        (lambda: S.cosine(0), "total_steps must be an integer >= 1"),
        (lambda: S.cosine(10, 11), "warmup_steps must be <= total_steps"),
        (lambda: S.cosine(10, warmup="triangle"), "warmup must be one of"),
        (lambda: S.cosine(10, min_lr_factor=1.5), "min_lr_factor must be"),
        (lambda: S.warmup_cosine(10, 10), "warmup_steps must be < total_steps"),
        (lambda: S.warmup_cosine(10, 2, div_factor=0.5), "div_factor must be"),
        (lambda: S.onecycle(10, pct_start=0.05), "pct_start \\* total_steps must exceed 1"),
        (lambda: S.cyclic(10, base_factor=0.0), "base_factor must be"),
        (lambda: S.cyclic(3, cycles=5), "do not fit"),
        (lambda: S.warmup_decay(10, 5, hold_steps=5), "at least one decay step"),
        (lambda: S.cos_inf(10, 5, tail_frac=0.5), "at least one"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
