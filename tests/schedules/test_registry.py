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


# --- one vocabulary: explicit signatures, documented aliases, nothing silently ignored ----------

import math  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from autowarm.schedules.registry import aliases, required, validate_spec  # noqa: E402


@pytest.mark.parametrize(
    ("name", "kwargs", "bad"),
    [
        ("linear", {"power": 3.0}, "power"),
        ("constant", {"min_lr_factor": 0.5}, "min_lr_factor"),
        ("constant", {"hold_steps": 3}, "hold_steps"),
        ("onecycle", {"warmup_steps": 3}, "warmup_steps"),
    ],
)
def test_options_a_schedule_does_not_have_are_errors(name, kwargs, bad):
    with pytest.raises(
        ValueError, match=rf"unknown argument\(s\) {bad} for schedule '{name}'; valid: "
    ):
        S.build(name, 10, **kwargs)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("cosine:warmup_steps=2,warmup_rate=3", "warmup_rate=3 applies only with warmup='exp"),
        ("cosine:warmup_steps=2,beta2=0.9", "beta2=0.9 applies only with warmup='untuned'"),
        ("cosine:warmup=untuned,warmup_start=0.1", "warmup_start=0.1 applies only"),
        ("warmup_decay:decay=cosine,power=2", "power=2 applies only with decay='polynomial'"),
        ("cyclic:gamma=0.9", "gamma=0.9 applies only with mode='exp_range'"),
        ("cyclic:cycles=2,step_size_up=3", "give cycles or step_size_up, not both"),
    ],
)
def test_options_the_other_arguments_make_meaningless_are_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        S.from_spec(spec, 20)


def test_aliases_build_the_identical_schedule():
    assert S.from_spec("wsd:warmup_steps=6,cooldown_frac=0.3,cooldown=linear", 40) == S.from_spec(
        "wsd:warmup_steps=6,decay_frac=0.3,decay=linear", 40
    )
    assert S.cyclic(12, base_factor=0.25) == S.cyclic(12, min_lr_factor=0.25)
    assert S.onecycle(50, pct_start=0.2) == S.onecycle(50, warmup_frac=0.2) == S.onecycle(50, 0.2)
    assert S.InverseSqrt(4.0, min_value=0.5) == S.InverseSqrt(4.0, min_lr_factor=0.5)
    # torch's final_div_factor is the floor 1 / (div_factor * final_div_factor), bit for bit.
    a = S.warmup_cosine(30, 5, div_factor=100.0, final_div_factor=1e4)
    b = S.warmup_cosine(30, 5, div_factor=100.0, min_lr_factor=1.0 / 100.0 / 1e4)
    assert S.sample(a, 31).tolist() == S.sample(b, 31).tolist()
    assert aliases("wsd") == {"cooldown_frac": "decay_frac", "cooldown": "decay"}
    assert set(S.ALIASES) == {
        "pct_start", "cooldown", "cooldown_frac", "final_div_factor", "base_factor", "min_value"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: S.wsd(50, 5, 0.2, cooldown_frac=0.2),
            "give decay_frac or its alias cooldown_frac",
        ),
        (lambda: S.wsd(50, 5, 0.2, "linear", cooldown="linear"), "give decay or its alias"),
        (lambda: S.cyclic(10, 0.2, base_factor=0.2), "give min_lr_factor or its alias base_fac"),
        (lambda: S.onecycle(10, 0.3, pct_start=0.3), "give warmup_frac or its alias pct_start"),
        (lambda: S.warmup_cosine(10, 2, final_div_factor=10.0, min_lr_factor=0.1), "not both"),
        (lambda: S.InverseSqrt(3.0, 1.0, 0.1, min_value=0.1), "give min_lr_factor or its alias"),
    ],
)
def test_giving_an_alias_and_its_canonical_name_is_an_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_every_alias_is_documented_in_the_vocabulary_and_maps_to_a_parameter():
    for name in S.SCHEDULES:
        for alias, canonical in aliases(name).items():
            assert canonical in S.VOCABULARY and alias in S.VOCABULARY[canonical][1]
    # Every parameter spelled like a floor is min_lr_factor, like a decay fraction decay_frac.
    for name in S.SCHEDULES:
        params = set(parameters(name)) - set(S.ALIASES)
        assert not params & {"final_lr_factor", "base_factor", "min_value", "cooldown_frac"}


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        (
            "wsd:warmup_steps=abc,cooldown_frac=0.2",
            "schedule 'wsd': warmup_steps must be an integer",
        ),
        (
            "wsd:warmup_steps=10,cooldown_frac=1.5",
            "decay_frac / cooldown_frac must be a finite number in [0.0, 1.0]; got 1.5",
        ),
        (
            "wsd:warmup_steps=10",
            "schedule 'wsd' needs decay_frac (alias cooldown_frac); e.g. wsd:decay_frac=0.2",
        ),
        ("wsd", "schedule 'wsd' needs warmup_steps, decay_frac (alias cooldown_frac)"),
        ("power", "schedule 'power' needs tokens_per_step"),
        (
            "warmup_cosine:warmup_steps=2.5",
            "schedule 'warmup_cosine': warmup_steps must be an integer number of steps; got 2.5",
        ),
        ("cosine:warmup_steps=true", "warmup_steps must be an integer number of steps; got True"),
        (
            "cosine:min_lr_factor=nan",
            "min_lr_factor must be a finite number in [0.0, 1.0]; got nan",
        ),
        ("cosine:warmup=triangle", "warmup must be one of"),
        ("onecycle:three_phase=1", "three_phase must be true or false; got 1"),
        ("cosine:warmup_steps=2,warmup_steps=3", "gives 'warmup_steps' twice"),
        ("cosine:bogus=1", "unknown argument(s) bogus for schedule 'cosine'"),
    ],
)
def test_bad_specs_are_one_line_value_errors_naming_schedule_key_and_value(spec, needle):
    with pytest.raises(ValueError) as info:
        validate_spec(spec, 100)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg


def test_validate_spec_accepts_good_specs_and_required_lists():
    assert validate_spec("wsd:warmup_steps=60,cooldown_frac=0.2", 600) is None
    assert validate_spec("cosine:warmup_steps=60", 600) is None
    assert required("wsd") == ["warmup_steps", "decay_frac"]
    with pytest.raises(ValueError, match="total_steps must be an integer >= 1; got 0"):
        validate_spec("cosine", 0)


# --- fuzz: a spec either builds a sane schedule or fails with ValueError/TypeError --------------

_KEYS = sorted({p for n in S.SCHEDULES for p in parameters(n)} | {"bogus", ""})
_VALUES = st.one_of(
    st.integers(-5, 200).map(str),
    st.sampled_from(["0", "1", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "true", "false"]),
    st.sampled_from(
        ["none", "abc", "1-sqrt", "linear", "cosine", "exp_range", "cos", "", "=", ","]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@pytest.mark.slow
@settings(max_examples=250, deadline=None)
@given(data=st.data(), name=st.one_of(st.sampled_from(sorted(S.SCHEDULES)), st.text(max_size=5)))
def test_fuzzed_specs_build_sane_schedules_or_raise_value_or_type_error(data, name):
    # Mostly the schedule's own keys (so many specs build), sometimes any key or garbage.
    own = parameters(name) if name in S.SCHEDULES else []
    keys = st.sampled_from(own) if own else st.sampled_from(_KEYS)
    key = st.one_of(keys, keys, keys, st.sampled_from(_KEYS))
    items = data.draw(st.dictionaries(key, _VALUES, max_size=4))
    total = data.draw(st.integers(1, 40))
    spec = name + (":" + ",".join(f"{k}={v}" for k, v in items.items()) if items else "")
    try:
        s = S.from_spec(spec, total)
    except (ValueError, TypeError) as err:
        assert "\n" not in str(err)
        return
    vals = [s(k) for k in range(total + 2)]
    assert all(math.isfinite(x) and x >= 0.0 for x in vals), (spec, vals)
