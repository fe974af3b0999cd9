"""Value tables at the boundaries of the schedule pieces and combinators, and bad input."""

import math
import pickle

import pytest

from autowarm.schedules import (
    Constant,
    InverseSqrt,
    Join,
    Product,
    Ramp,
    Tabulated,
    join,
    product,
    sequence,
)
from autowarm.schedules.pieces import CURVES, curve_value


@pytest.mark.parametrize("curve", [c for c in CURVES if c != "geometric"])
def test_curves_start_at_0_end_at_1(curve):
    assert curve_value(curve, 0.0, 2.0) == pytest.approx(0.0, abs=1e-15)
    assert curve_value(curve, 1.0, 2.0) == pytest.approx(1.0, abs=1e-15)


def test_curve_values_at_midpoint():
    # Hand-computed: each curve at p = 1/2.
    assert curve_value("linear", 0.5, 1) == 0.5
    assert curve_value("cosine", 0.5, 1) == pytest.approx(0.5)
    assert curve_value("sqrt", 0.5, 1) == pytest.approx(math.sqrt(0.5))
    assert curve_value("square", 0.5, 1) == 0.25
    assert curve_value("polynomial", 0.5, 3.0) == pytest.approx(1 - 0.125)
    assert curve_value("rex", 0.5, 1) == pytest.approx(1 - 0.5 / 0.75)
    assert curve_value("mirror_cosine", 0.5, 1) == pytest.approx(1 - (1.0 - 0.5))
    assert curve_value("exp", 0.5, 5.0) == pytest.approx((1 - math.exp(-2.5)) / (1 - math.exp(-5)))


def test_ramp_is_end_inclusive():
    r = Ramp(5, 0.0, 1.0)
    assert [r(j) for j in range(7)] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    d = Ramp(4, 1.0, 0.1, "cosine")
    assert d(0) < 1.0
    assert d(3) == pytest.approx(0.1)
    assert d(100) == pytest.approx(0.1)


def test_geometric_ramp():
    g = Ramp(2, 1.0, 0.01, "geometric")
    assert [g(0), g(1), g(5)] == pytest.approx([0.1, 0.01, 0.01])


def test_join_boundaries_each_piece_sees_local_steps():
    s = Join((Ramp(2, 0.0, 1.0), Constant(1.0), Ramp(3, 1.0, 0.0)), (2, 5))
    assert [s(k) for k in range(9)] == pytest.approx(
        [0.5, 1.0, 1.0, 1.0, 1.0, 2 / 3, 1 / 3, 0.0, 0.0]
    )


def test_join_equal_boundaries_skip_a_piece():
    s = join([Constant(0.1), Constant(0.2), Constant(0.3)], [2, 2])
    assert [s(k) for k in range(4)] == [0.1, 0.1, 0.3, 0.3]


def test_sequence_drops_empty_segments():
    s = sequence((0, Constant(0.5)), (3, Ramp(3, 0.0, 1.0)), (None, Constant(0.25)))
    assert [s(k) for k in range(5)] == pytest.approx([1 / 3, 2 / 3, 1.0, 0.25, 0.25])


def test_product_and_tabulated_and_inverse_sqrt():
    assert product(Constant(0.5), Tabulated((1.0, 0.5)))(1) == 0.25
    t = Tabulated((0.1, 0.2))
    assert [t(0), t(1), t(9)] == [0.1, 0.2, 0.2]
    d = InverseSqrt(timescale=4.0, min_value=0.5)
    assert d(0) == pytest.approx(math.sqrt(4 / 5))
    assert d(10**6) == 0.5


def test_schedules_pickle_round_trip():
    s = Join((Ramp(2, 0.0, 1.0), Product((Constant(0.5), Ramp(3, 1.0, 0.0, "sqrt")))), (2,))
    t = pickle.loads(pickle.dumps(s))
    assert t == s
    assert [t(k) for k in range(6)] == [s(k) for k in range(6)]


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Ramp(0, 0.0, 1.0), "steps must be an integer >= 1"),
        (lambda: Ramp(3, -0.1, 1.0), "start must be a finite number"),
        (lambda: Ramp(3, 0.0, 1.0, "wiggly"), "curve must be one of"),
        (lambda: Ramp(3, 0.0, 1.0, "geometric"), "geometric"),
        (lambda: Ramp(3, 0.0, 1.0, "polynomial", 0.0), "power must be"),
        (lambda: Constant(float("nan")), "value must be a finite number"),
        (lambda: Join((Constant(1.0),), (3,)), "len\\(boundaries\\)"),
        (lambda: Join((Constant(1.0), Constant(1.0)), (-1,)), "boundary must be"),
        (lambda: Join((Constant(1.0),) * 3, (4, 2)), "non-decreasing"),
        (lambda: Tabulated(()), "at least one value"),
        (lambda: Tabulated((1.0, float("inf"))), "finite and >= 0"),
        (lambda: InverseSqrt(timescale=0.0), "timescale"),
        (lambda: Product(()), "at least one factor"),
    ],
)
def test_bad_arguments_raise_clear_errors(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_type_errors():
    with pytest.raises(TypeError, match="integer number of steps"):
        Ramp(2.5, 0.0, 1.0)
    with pytest.raises(TypeError, match="callables"):
        Join((Constant(1.0), 3), (1,))


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_schedules_reject_bad_steps(bad):
    with pytest.raises(ValueError, match="integer steps >= 0"):
        Ramp(3, 0.0, 1.0)(bad)
