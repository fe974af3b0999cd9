"""start_rate: the multiplier stays at 1/div through the first fast fall of the loss, and the
linear ramp then runs from 1/div at the gap where the fall slowed (the default since stop 25;
start_rate=0 is the ramp from the first loss)."""

import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import MODES, AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule
from autowarm.adaptive.config import START_RATE
from autowarm.adaptive.dstar import linear_multiplier
from autowarm.adaptive.machine import START_MAX_FRAC


def machine(**kw):
    # f* = 0, D* = 1, from 1/div = 1/3, smoothing 0.9 (a horizon of 10 updates); the first fast
    # fall only (hold_rule="start"; the default "always" is tested at the end)
    base = dict(total_steps=600, target_loss=0.0, delta_star=1.0, div_factor=3.0,
                start_rate=0.1, max_growth=None, hold_rule="start")  # fmt: skip
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    out = m.simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


def smoothed(losses, beta=0.9):
    ema = weight = 0.0
    out = []
    for x in losses:
        ema, weight = beta * ema + (1 - beta) * x, beta * weight + (1 - beta)
        out.append(ema / weight)
    return out


def walk(drops):
    """A loss curve from 6 by relative steps of ``drops / 5`` (floored at 1e-3)."""
    losses, x = [], 6.0
    for d in drops:
        x = max(x * (1 - d / 5), 1e-3)
        losses.append(x)
    return losses


# A fast first fall (5.5 towards 3.2, time constant 12 updates), then a slow one.
LOSSES = [3.2 + 2.3 * math.exp(-t / 12) - 1.5 * (1 - math.exp(-t / 300)) for t in range(400)]


def test_the_ramp_waits_for_the_first_fall_to_slow_then_starts_from_one_over_div():
    values, state = run(machine(), LOSSES)
    s = smoothed(LOSSES)
    # the observation of loss k sets the multiplier of update k + 1: find where the hold ended
    end = next(k for k in range(10, len(s)) if s[k - 10] - s[k] < 0.1 * s[k - 10]) + 1
    assert end > 10
    assert all(v == pytest.approx(1 / 3) for v in values[: end + 1])
    assert values[end + 5] > 1 / 3
    assert state.holding is False and state.ramp_start == pytest.approx(1 / 3)
    assert state.ramp_d0 == pytest.approx(s[end - 1])
    # from then on the ramp is linear in the gap from there (f* = 0: the smoothed loss) to D*
    for k in range(end + 1, 300):
        assert values[k] == pytest.approx(linear_multiplier(s[k - 1], s[end - 1], 1.0, 3.0))
    # and slower than the ramp from the first loss, which has used up the first fall
    plain, _ = run(machine(start_rate=0.0), LOSSES)
    assert all(a <= b + 1e-12 for a, b in zip(values[:300], plain[:300]))
    assert plain[end] > 0.5 > values[end]


def test_a_slow_start_holds_one_horizon_only():
    losses = [5.0 * 0.995**k for k in range(100)]  # 5% per horizon: slow from the start
    values, state = run(machine(), losses)
    assert values[:11] == [pytest.approx(1 / 3)] * 11
    assert values[12] > 1 / 3
    assert state.ramp_d0 == pytest.approx(smoothed(losses)[10])


def test_the_hold_ends_by_its_latest_step_even_while_the_loss_falls_fast():
    losses = [5.0 * 0.98**k for k in range(200)]  # 18% per horizon for ever
    values, state = run(machine(total_steps=300), losses)
    last = int(START_MAX_FRAC * 300)
    assert all(v == pytest.approx(1 / 3) for v in values[: last + 1])
    assert values[last + 2] > 1 / 3 and state.holding is False


def test_a_hold_that_ends_below_d_star_leaves_the_ramp_from_d0():
    # D* = 3.5: the fall reaches it during the hold, the ramp (from D0) is at the peak, and switches
    values, state = run(machine(delta_star=3.5), LOSSES[:200])
    assert state.ramp_d0 is None and state.phase == "decay"
    assert max(values) == pytest.approx(1.0, abs=1e-4)  # the decay from the peak


def test_the_default_holds_where_the_linear_ramp_runs_and_history_spells_out_no_hold():
    cfg = AdaptiveConfig(total_steps=10, target_loss=1.0)
    assert cfg.start_rate is None and cfg.hold_rate == START_RATE == 0.1
    for kw in ({"ramp": "paper"}, {"ramp": "progress"}, {"smoothing": 0.0},
               {"k_constants": (1.0, 0.0, 1.0)}, {"start_rate": 0.0}):  # fmt: skip
        assert AdaptiveConfig(total_steps=10, target_loss=1.0, **kw).hold_rate is None
    assert MODES["adaptive-auto"] == {
        **MODES["adaptive-auto-v2"],
        "start_rate": START_RATE,
        "hold_rule": "always",
    }
    assert cfg.hold_rule == "always"
    assert MODES["adaptive-auto-hold-start"] == {**MODES["adaptive-auto"], "hold_rule": "start"}
    for name in ("adaptive-v1", "adaptive-estimate", "adaptive-zero-linear", "adaptive-zero-spike",
                 "adaptive-zero-limited", "adaptive-zero-restart"):  # fmt: skip
        assert MODES[name]["start_rate"] == 0.0
    # the default and start_rate=0.1 are the same rule for a resumed run
    a = AdaptiveConfig(total_steps=10, target_loss=1.0, start_rate=0.1)
    assert a.schedule_fields() == cfg.schedule_fields()
    assert cfg.schedule_fields() != cfg.replace(start_rate=0.0).schedule_fields()
    # a config saved before the option existed ran without the hold
    old = {k: x for k, x in cfg.to_dict().items() if k != "start_rate"}
    assert AdaptiveConfig.from_dict(old).hold_rate is None
    plain, _ = run(machine(start_rate=0.0), LOSSES)
    want, _ = run(machine(start_rate=0.0, warmup_max_frac=0.5), LOSSES)
    assert plain == want


@settings(max_examples=50, deadline=None)
@given(drops=st.lists(st.floats(-0.2, 0.3), min_size=15, max_size=120), rate=st.floats(0.01, 0.5))
def test_the_multiplier_stays_in_bounds_and_never_jumps_at_the_ramp_start(drops, rate):
    losses = walk(drops)
    m = machine(start_rate=rate, total_steps=200, max_growth=3.0)
    values, state = run(m, losses)
    assert all(1 / 3 - 1e-12 <= v <= 1.0 + 1e-12 for v in values)
    # the first update off the hold is at most one rate-limited step above 1/div
    off = [k for k, v in enumerate(values) if v > 1 / 3 + 1e-12]
    if off and (state.warmup_end_step is None or off[0] < state.warmup_end_step):
        assert values[off[0]] <= (1 / 3) * 3.0 ** (1 / 10) + 1e-12


def test_a_state_saved_during_the_hold_resumes_exactly():
    m = machine()
    state = m.init()
    for x in LOSSES[:15]:
        state = m.update(state, x)
    assert state["holding"] is True and len(state["progress_hist"]) > 0
    saved = json.loads(json.dumps(state))
    a, b = state, saved
    for x in LOSSES[15:200]:
        a, b = m.update(a, x), m.update(b, x)
        assert m.value(a) == m.value(b)


def test_old_states_without_holding_load():
    state = AdaptiveState().to_dict()
    del state["holding"]
    assert AdaptiveState.from_dict(state).holding is False


def test_the_torch_adapter_resumes_exactly_during_the_hold():
    import torch
    from adapter_helpers import drive, fresh

    kw = dict(total_steps=600, target_loss=0.0, delta_star=1.0, div_factor=3.0, start_rate=0.1)
    opt, sched = fresh(**kw)
    drive(opt, sched, LOSSES[:15])
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, buf)
    want = drive(opt, sched, LOSSES[15:120])
    opt2, sched2 = fresh(**kw)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert drive(opt2, sched2, LOSSES[15:120]) == want
    _, sched3 = fresh(**{**kw, "start_rate": 0.0})  # a resumed run keeps its rule
    with pytest.raises(ValueError, match="start_rate"):
        sched3.load_state_dict(saved["sched"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"start_rate": -0.1}, "start_rate"),
        ({"start_rate": 1.0}, "start_rate"),
        ({"start_rate": float("nan")}, "start_rate"),
        ({"start_rate": 0.1, "ramp": "paper"}, "moves the start of the linear ramp; got ramp='paper'"),
        ({"start_rate": 0.1, "k_constants": (1.0, 0.0, 1.0)}, "got k_constants"),
        ({"start_rate": 0.1, "smoothing": 0.0}, "needs smoothing > 0"),
    ],
)  # fmt: skip
def test_bad_start_rate_is_one_line(kw, match):
    with pytest.raises(ValueError, match=match) as e:
        AdaptiveConfig(total_steps=10, target_loss=1.0, **kw)
    assert "\n" not in str(e.value)


def test_the_spec_round_trips():
    cfg = AdaptiveConfig.from_spec("adaptive:start_rate=0.1", total_steps=10, target_loss=0.0)
    assert cfg.start_rate == 0.1


# hold_rule="always": a slow start (2% per horizon from lr/100), a fast fall once the LR has grown
# (updates 30-60), then a slow one.
def _two_falls(t):
    if t < 30:
        return 5.5 - 0.02 * t
    return 4.9 - 2.2 * (1 - math.exp(-(t - 30) / 12)) - 0.002 * (t - 30)


TWO_FALLS = [_two_falls(t) for t in range(400)]


def test_always_holds_every_fast_fall_and_runs_the_ramp_on_from_the_hold():
    m = machine(div_factor=100.0, delta_star=1.25, max_growth=3.0, hold_rule="always")
    values, state = run(m, TWO_FALLS)
    s = smoothed(TWO_FALLS)
    fast = [k >= 10 and s[k - 10] - s[k] >= 0.1 * s[k - 10] for k in range(len(s))]
    # the observation of loss k sets the multiplier of update k + 1
    held = [k + 1 for k in range(10, 200) if fast[k]]
    assert held and held[0] > 30  # the second fall, once the LR has grown
    level = values[held[0]]
    assert level > 1 / 100
    assert all(values[k] == level for k in held)
    end = held[-1] + 1  # the first update after the hold: the ramp from the held value
    assert state.ramp_start == pytest.approx(level)
    assert state.ramp_d0 == pytest.approx(s[end - 1])
    for k in range(end + 1, 250):
        want = linear_multiplier(s[k - 1], s[end - 1], 1.25, 1 / level)
        assert values[k] == pytest.approx(min(want, values[k - 1] * 3.0**0.1))
    # the start rule lets the ramp climb through that fall
    start, _ = run(machine(div_factor=100.0, delta_star=1.25, max_growth=3.0), TWO_FALLS)
    assert max(start[:end]) > 2 * level


@settings(max_examples=50, deadline=None)
@given(drops=st.lists(st.floats(-0.2, 0.3), min_size=15, max_size=120), rate=st.floats(0.01, 0.5))
def test_always_keeps_the_multiplier_in_bounds_and_never_raises_it_during_a_fast_fall(drops, rate):
    losses = walk(drops)
    # the reference below is the plain EMA of every loss: no outlier filter (it holds back and
    # later accepts in a batch the losses of a step in a flat curve, which the EMA does not model)
    m = machine(
        start_rate=rate, total_steps=200, max_growth=3.0, hold_rule="always", outlier_filter=False
    )
    out = m.simulate(losses)
    values, phases = out["multiplier"], out["phase"]
    assert all(1 / 3 - 1e-12 <= v <= 1.0 + 1e-12 for v in values)
    s = smoothed(losses)
    for k in range(10, len(losses) - 1):
        if phases[k] == "warmup" and s[k - 10] - s[k] >= rate * abs(s[k - 10]):
            assert values[k + 1] <= values[k] + 1e-12


def test_hold_rule_is_checked_and_compared_only_with_the_hold_on():
    with pytest.raises(
        ValueError, match="hold_rule must be one of 'start', 'always'; got 'x'"
    ) as e:
        AdaptiveConfig(total_steps=10, target_loss=1.0, hold_rule="x")
    assert "\n" not in str(e.value)
    on = AdaptiveConfig(total_steps=10, target_loss=1.0)
    assert on.schedule_fields() != on.replace(hold_rule="start").schedule_fields()
    off = AdaptiveConfig(total_steps=10, target_loss=1.0, start_rate=0.0)
    assert off.schedule_fields() == off.replace(hold_rule="start").schedule_fields()


def test_a_hold_ends_at_the_peak_loss_so_a_fall_that_stays_fast_still_switches_there():
    # 18% per horizon for ever (an exponential fall, as in a convex problem): every rule holds
    # until the smoothed gap reaches D* = 1, then the ramp goes to the peak and switches
    losses = [8.0 * 0.98**k for k in range(300)]
    s = smoothed(losses)
    at_d_star = next(k for k, x in enumerate(s) if x <= 1.0)
    for rule in ("always", "start"):
        _, state = run(machine(hold_rule=rule, total_steps=1000, max_growth=3.0), losses)
        assert state.holding is False and state.phase == "decay"
        assert at_d_star < state.warmup_end_step < at_d_star + 20, rule
