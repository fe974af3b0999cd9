import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowarm.bench.stats import paired_difference, summarize, t_critical


def test_t_table_values_at_boundaries():
    assert t_critical(1) == 12.706
    assert t_critical(2) == 4.303
    assert t_critical(30) == 2.042
    assert t_critical(60) == 2.042
    assert t_critical(121) == 1.96


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_t_critical_rejects_bad_df(bad):
    with pytest.raises(ValueError, match="df"):
        t_critical(bad)


def test_summary_matches_the_textbook_formulas():
    s = summarize([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert s.mean == 5.0
    assert s.std == pytest.approx(math.sqrt(32 / 7))
    assert summarize([3.0]).std == 0.0
    assert summarize([float("nan"), 1.0]).n == 1
    assert math.isnan(summarize([]).mean)


def test_paired_difference_uses_only_common_seeds():
    d = paired_difference({0: 1.0, 1: 2.0, 5: 9.0}, {0: 1.5, 1: 2.5, 2: 0.0})
    assert d.n == 2 and d.mean == pytest.approx(-0.5) and d.std == 0.0
    assert d.significant and d.verdict == "better"


def test_noisy_difference_is_a_tie():
    d = paired_difference({0: 1.0, 1: 2.0, 2: 1.5}, {0: 1.2, 1: 1.7, 2: 1.6})
    assert not d.significant and d.verdict == "tie"


def test_single_seed_is_not_a_claim():
    assert paired_difference({0: 1.0}, {0: 2.0}).verdict == "n/a"


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=12), st.floats(-5, 5))
def test_paired_difference_is_shift_invariant(xs, shift):
    rng = random.Random(len(xs))
    ys = [x + rng.uniform(-1, 1) for x in xs]
    a = dict(enumerate(xs))
    b = dict(enumerate(ys))
    d1 = paired_difference(a, b)
    d2 = paired_difference(
        {k: v + shift for k, v in a.items()}, {k: v + shift for k, v in b.items()}
    )
    assert d1.mean == pytest.approx(d2.mean, abs=1e-6)
    assert d1.std == pytest.approx(d2.std, abs=1e-6)
