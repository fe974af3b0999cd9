"""Schedule specs, the registry and sampling."""

import numpy as np
import pytest

from autowarm import schedules as S
from autowarm.schedules.registry import parameters, parse_value


def test_parse_values():
    assert parse_value("3") == 3
    assert parse_value("3.5") == 3.5
    assert parse_value("TRUE") is True
    assert parse_value("none") is None
    assert parse_value("1-sqrt") == "1-sqrt"


def test_spec_round_trip_equals_direct_call():
    a = S.from_spec("wsd:warmup_steps=10,cooldown_frac=0.2,cooldown=linear", 100)
    b = S.wsd(100, 10, 0.2, cooldown="linear")
    assert a == b
    c = S.from_spec("cosine", 50, warmup_steps=5, min_lr_factor=0.1)
    assert c == S.cosine(50, 5, 0.1)


def test_inherited_keywords_of_thin_presets():
    s = S.from_spec("linear:warmup_steps=4,warmup=cosine,hold_steps=2", 20)
    assert s(3) == 1.0 and s(5) == 1.0 and s(6) < 1.0
    assert "hold_steps" in parameters("linear")
    assert "decay" not in parameters("linear")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("nope", "unknown schedule 'nope'"),
        ("wsd:cooldown_frac", "key=value"),
        ("wsd:cooldown_frac=0.2,bogus=1", "unknown argument\\(s\\) bogus"),
        ("linear:decay=cosine", "unknown argument\\(s\\) decay"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        S.from_spec(spec, 100)


def test_sample():
    arr = S.sample(S.linear(4), 6)
    assert arr.dtype == np.float64
    assert arr.tolist() == [0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    assert S.sample(S.linear(4), 0).shape == (0,)
    with pytest.raises(ValueError):
        S.sample(S.linear(4), -1)
