"""target_loss="auto" with fstar_rule="floor": f* = L1 - |L1| (0 for a non-negative first loss),
never revised, no estimator; the same schedule as target_loss=0 wherever the first loss is >= 0."""

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule

KW = dict(total_steps=120, div_factor=10.0, kappa=1.0, warmup_max_frac=0.5, max_growth=3.0)


def run(losses, **kw):
    out = AdaptiveWarmupSchedule(**{**KW, **kw}).simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


def test_floor_is_f_star_zero_for_a_cross_entropy():
    losses = [5.5 * 0.99**k for k in range(120)]
    values, state = run(losses, target_loss="auto", fstar_rule="floor")
    given_zero, zero_state = run(losses, target_loss=0.0)
    assert values == given_zero
    assert state.fstar == 0.0 and state.estimator is None and not state.fstar_warned
    assert state.warmup_end_step == zero_state.warmup_end_step == 60  # the latest switch
    # the online estimator, on the same losses, starts from 0.4 x the first loss instead
    assert AdaptiveConfig(total_steps=10, target_loss="auto").fstar_rule == "floor"  # default
    _, est = run(losses, target_loss="auto", fstar_rule="estimate")
    assert est.fstar is not None and est.fstar > 1.0


@settings(max_examples=60, deadline=None)
@given(
    first=st.floats(1.0, 20.0),
    steps=st.lists(
        st.one_of(st.floats(-0.3, 0.3), st.just(float("nan")), st.just(float("inf"))),
        min_size=1,
        max_size=100,
    ),
)
def test_floor_equals_a_given_zero_for_any_non_negative_start(first, steps):
    """Any loss curve from a positive first loss, with NaNs, infs and later negative losses:
    the same multipliers as f* = 0 given, and no warning."""
    losses, x = [first], first
    for d in steps:
        losses.append(d if d != d or abs(d) == float("inf") else x + d)
        x = losses[-1] if losses[-1] == losses[-1] and abs(losses[-1]) < float("inf") else x
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values, state = run(losses, target_loss="auto", fstar_rule="floor")
    assert values == run(losses, target_loss=0.0)[0]
    assert state.fstar == 0.0


@settings(max_examples=60, deadline=None)
@given(losses=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60))
def test_floor_never_raises(losses):
    """Any finite losses, a first loss of 0 or below included: a schedule, never an exception."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values, state = run(losses, target_loss="auto", fstar_rule="floor")
    assert all(0.0 <= v <= 1.0 for v in values)
    assert state.fstar == (0.0 if losses[0] >= 0 else 2.0 * losses[0])


def test_a_negative_first_loss_warns_once_and_the_floor_is_twice_it():
    losses = [-2.0 - 0.01 * k for k in range(50)]
    with pytest.warns(RuntimeWarning, match=r"first loss -2 is negative.*f\* = -4") as rec:
        values, state = run(losses, target_loss="auto", fstar_rule="floor")
    assert len(rec) == 1 and state.fstar == -4.0 and state.fstar_warned
    assert values == run(losses, target_loss=-4.0)[0]


def test_the_rule_is_part_of_the_schedule_only_with_auto():
    auto = AdaptiveConfig(total_steps=10, target_loss="auto", fstar_rule="floor")
    assert auto.schedule_fields()["fstar_rule"] == "floor"
    assert "fstar_rule" not in AdaptiveConfig(total_steps=10, target_loss=1.0).schedule_fields()
    spec = AdaptiveConfig.from_spec("adaptive:target_loss=auto,fstar_rule=floor", total_steps=10)
    assert spec.fstar_rule == "floor" and spec.is_auto


def test_bad_fstar_rule_is_one_line():
    with pytest.raises(
        ValueError, match="fstar_rule must be one of 'estimate', 'floor'; got 'zero'"
    ) as err:
        AdaptiveConfig(total_steps=10, target_loss="auto", fstar_rule="zero")
    assert "\n" not in str(err.value)


def test_the_torch_adapter_resumes_a_floor_run_and_refuses_another_rule():
    import io

    import torch
    from adapter_helpers import drive, fresh

    kw = dict(total_steps=60, target_loss="auto", fstar_rule="floor", div_factor=10.0,
              kappa=1.0, warmup_max_frac=0.5)  # fmt: skip

    losses = [4.0 * 0.98**k for k in range(60)]
    opt, sched = fresh(**kw)
    drive(opt, sched, losses[:20])
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    want = drive(opt, sched, losses[20:])
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    opt2, sched2 = fresh(**kw)
    sched2.load_state_dict(saved)
    assert drive(opt2, sched2, losses[20:]) == want
    _, other = fresh(**{**kw, "fstar_rule": "estimate"})
    with pytest.raises(ValueError, match="fstar_rule"):
        other.load_state_dict(saved)
