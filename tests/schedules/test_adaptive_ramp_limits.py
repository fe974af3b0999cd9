"""Two limits of the gap ramps: the latest switch (warmup_max_frac: a warm-up that has not reached
f* + D* ends at a fixed fraction of the run, the decay running from the multiplier in force) and
the rate limit (max_growth: at most a factor per smoothing horizon, however fast the loss falls)."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import MODES, AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule


def machine(**kw):
    base = dict(
        total_steps=40,
        target_loss=0.0,
        delta_star=0.5,
        div_factor=10.0,
        ramp="linear",
        smoothing=0.0,
        outlier_filter=False,
        guard=False,
        start_rate=0.0,
        warmup_max_frac=None,  # each test turns on the limit it is about
        max_growth=None,
    )
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    out = m.simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


# f* = 0, D0 = 4.5, D* = 0.5: the loss falls from 4.5 to 2.5 and stays there (never reaches 0.5)
LOSSES = [4.5 - 0.1 * k for k in range(20)] + [2.5] * 20


def test_without_it_a_warm_up_that_never_reaches_the_peak_loss_never_decays():
    values, state = run(machine(), LOSSES)
    assert state.phase == "warmup" and state.warmup_end_step is None
    assert values[-1] == pytest.approx(0.1 + 0.9 * 2.0 / 4.0)  # linear in the gap, held


@pytest.mark.parametrize("ramp", ["linear", "paper"])
def test_it_ends_the_warm_up_at_the_fraction_and_decays_from_the_multiplier_in_force(ramp):
    values, state = run(machine(ramp=ramp, warmup_max_frac=0.5), LOSSES)
    ref, _ = run(machine(ramp=ramp), LOSSES)
    assert state.warmup_end_step == 20  # 0.5 x 40 updates
    assert values[:20] == pytest.approx(ref[:20])  # the warm-up itself is unchanged
    assert state.cap == pytest.approx(ref[20])  # the multiplier the 21st update would have had
    # the decay runs from update 20 on, scaled by the cap, to final_lr_factor x the cap
    assert values[20] <= state.cap and values[-1] == pytest.approx(state.cap * 1e-4, rel=1e-6)
    assert all(b <= a for a, b in itertools.pairwise(values[20:]))


def test_a_switch_at_the_peak_loss_before_the_fraction_is_unchanged():
    losses = [4.5 - 0.4 * k for k in range(12)] + [0.4] * 28  # reaches D* = 0.5 at update 11
    with_it, s1 = run(machine(warmup_max_frac=0.9), losses)
    without, s0 = run(machine(), losses)
    assert s1.warmup_end_step == s0.warmup_end_step == 11
    assert with_it == pytest.approx(without) and s1.cap == 1.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.1, 6.0), min_size=1, max_size=60),
    st.floats(0.01, 1.0),
    st.sampled_from(["linear", "paper"]),
)
def test_the_warm_up_never_outlasts_the_fraction_and_the_decay_never_exceeds_the_cap(
    losses, frac, ramp
):
    m = machine(total_steps=60, warmup_max_frac=frac, ramp=ramp, target_loss=0.05)
    losses = [6.0, *losses]  # D0 = 5.95 above D* = 0.5 (the machine checks that at once)
    values, state = run(m, losses)
    limit = math.ceil(frac * 60)
    if len(losses) >= limit:
        assert state.phase == "decay" and state.warmup_end_step <= limit
    if state.phase == "decay":
        assert all(0.0 <= x <= state.cap + 1e-12 for x in values[state.warmup_end_step :])


def test_spec_round_trip_and_stored_modes():
    cfg = AdaptiveConfig.from_spec("adaptive:warmup_max_frac=0.3", total_steps=10, target_loss=0.0)
    assert cfg.warmup_max_frac == 0.3 and cfg.to_spec().endswith("warmup_max_frac=0.3")
    assert "warmup_max_frac" in cfg.schedule_fields()  # a resumed run must match it
    assert AdaptiveConfig(total_steps=10, target_loss=0.0).warmup_max_frac == 0.5  # the default
    # every mode spells both limits out, so a stored spec keeps its meaning across default changes
    for mode, fields in MODES.items():
        if fields.get("ramp") != "progress":
            assert "warmup_max_frac" in fields and "max_growth" in fields, mode
    assert MODES["adaptive-auto"]["warmup_max_frac"] == 0.5
    for mode in ("adaptive-v1", "adaptive-estimate", "adaptive-faithful", "adaptive-paper-ramp"):
        assert MODES[mode]["warmup_max_frac"] is None and MODES[mode]["max_growth"] is None


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, math.nan, math.inf])
def test_bad_fraction_is_one_line(bad):
    with pytest.raises(ValueError, match="warmup_max_frac must be") as err:
        AdaptiveConfig(total_steps=10, target_loss=0.0, warmup_max_frac=bad)
    assert "\n" not in str(err.value)


def test_the_torch_adapter_switches_without_the_long_warm_up_warning_and_resumes_exactly():
    import io
    import warnings

    import torch
    from adapter_helpers import drive, fresh

    KW = dict(total_steps=40, target_loss=0.0, delta_star=0.5, div_factor=10.0, smoothing=0.0,
              warmup_max_frac=0.5)  # fmt: skip

    opt, sched = fresh(**KW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the "still in its warm-up" warning would fail here
        drive(opt, sched, LOSSES[:15])
        buf = io.BytesIO()
        torch.save(sched.state_dict(), buf)
        want = drive(opt, sched, LOSSES[15:])
    assert sched.phase == "decay" and sched.warmup_end_step == 20
    opt2, sched2 = fresh(**KW)
    buf.seek(0)
    sched2.load_state_dict(torch.load(buf, weights_only=True))
    assert drive(opt2, sched2, LOSSES[15:]) == want
    ref = AdaptiveWarmupSchedule(**KW).simulate(LOSSES)["multiplier"]
    assert [lr / 0.1 for lr in want] == pytest.approx(ref[15:], rel=1e-12)


def test_the_rate_limit_caps_growth_per_horizon_and_leaves_a_slow_ramp_alone():
    # horizon 2 (smoothing 0.5): at most x4 per horizon is x2 per update
    fast = [10.0 * 0.7**k for k in range(8)]
    limited, _ = run(machine(smoothing=0.5, max_growth=4.0, delta_star=0.1), fast)
    free, _ = run(machine(smoothing=0.5, delta_star=0.1), fast)
    assert free[2] > 0.2  # the loss falls 30% per update: the ramp alone jumps
    assert limited[:4] == pytest.approx([0.1, 0.1, 0.2, 0.4])  # x2 per update from 1/div
    assert limited[4] == pytest.approx(min(free[4], 0.8))  # then the ramp itself is slower
    slow = [4.5 - 0.01 * k for k in range(30)]  # the ramp alone grows < x2 per update
    assert run(machine(smoothing=0.5, max_growth=4.0), slow)[0] == pytest.approx(
        run(machine(smoothing=0.5), slow)[0]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 6.0), min_size=1, max_size=40), st.floats(1.01, 10.0))
def test_the_warm_up_multiplier_never_grows_faster_than_the_limit(losses, growth):
    m = machine(smoothing=0.75, max_growth=growth, target_loss=0.05)  # horizon 4
    out = m.simulate([6.0, *losses])
    values, phases = out["multiplier"], ["warmup", *out["phase"]]
    for k in range(1, len(values)):
        if phases[k] == "warmup":  # update k still ran in the warm-up
            assert values[k] <= values[k - 1] * growth**0.25 * (1 + 1e-12)


@pytest.mark.parametrize("bad", [1.0, 0.5, math.nan, math.inf])
def test_bad_growth_is_one_line(bad):
    with pytest.raises(ValueError, match="max_growth must be") as err:
        AdaptiveConfig(total_steps=10, target_loss=0.0, max_growth=bad)
    assert "\n" not in str(err.value)


def test_a_switch_at_f_star_plus_d_star_waits_for_the_rate_limited_ramp():
    """Reaching f* + D* early does not jump the LR to the peak: the ramp keeps its limit (3x per
    update without smoothing) until it reaches 1, and the decay starts from there."""
    m = machine(max_growth=3.0, div_factor=100.0, delta_star=1.0)  # f* = 0
    values, state = run(m, [5.0] + [0.5] * 30)
    warm = values[: state.warmup_end_step + 1]
    assert all(b <= 3.0 * a + 1e-12 for a, b in itertools.pairwise(warm))
    assert warm[:6] == pytest.approx([0.01, 0.01, 0.03, 0.09, 0.27, 0.81])
    # the multiplier reached the peak with the loss of update 5: update 6 starts the decay
    assert state.warmup_end_step == 6 and values[6] == pytest.approx(1.0, abs=0.005)
    # without the limit the same losses switch at once, from 1/div straight to the peak
    values, state = run(machine(div_factor=100.0, delta_star=1.0), [5.0] + [0.5] * 30)
    assert state.warmup_end_step == 2 and values[:2] == [0.01, 0.01]


def test_a_config_saved_before_the_new_defaults_resumes_with_the_rules_it_had():
    """A checkpoint's config without the options added since (saved by an older autowarm) reads
    them as the values that version ran with, so a run with today's defaults refuses it and one
    with the old rules resumes it."""
    from adapter_helpers import fresh

    old = dict(total_steps=40, target_loss="auto", delta_star=0.5, div_factor=10.0)
    rules_then = dict(fstar_rule="estimate", warmup_max_frac=None, max_growth=None,
                      spike_rule="outlier")  # fmt: skip

    def sched(**kw):
        return fresh(**kw)[1]

    saved = sched(**old, **rules_then).state_dict()
    for key in ("fstar_rule", "warmup_max_frac", "max_growth", "spike_rule", "guard_restart"):
        del saved["config"][key]  # what a checkpoint written before the options holds
    assert AdaptiveConfig.from_dict(saved["config"]).fstar_rule == "estimate"
    with pytest.raises(ValueError, match="fstar_rule") as err:
        sched(**old).load_state_dict(saved)  # today's defaults: not the rules it ran with
    assert "\n" not in str(err.value)
    sched(**old, **rules_then).load_state_dict(saved)
