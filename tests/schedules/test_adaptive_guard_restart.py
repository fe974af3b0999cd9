"""guard_restart: a back-off during the warm-up restarts the linear ramp from the lowered
multiplier at the gap where it backed off, instead of capping the multiplier for the rest of the
run. After the switch a back-off lowers the cap either way."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import MODES, AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule


def machine(**kw):
    # f* = 0, D* = 0.5, from 1/div = 0.1; the guard's spike test looks at every loss.
    base = dict(total_steps=200, target_loss=0.0, delta_star=0.5, div_factor=10.0,
                smoothing=0.9, spike_rule="level", start_rate=0.0)  # fmt: skip
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    out = m.simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


# The loss falls 3% per update from 8, jumps 40% at update 16, then goes on falling 2% per update.
FALL = [8.0 * 0.97**k for k in range(16)]
AFTER = [FALL[-1] * 0.98**k for k in range(1, 60)]
LOSSES = [*FALL, 1.4 * FALL[-1], *AFTER]
SPIKE = len(FALL) + 1  # the update whose multiplier the back-off sets (the spike's loss + 1)


def test_a_back_off_restarts_the_ramp_and_the_lr_rises_again_past_the_old_cap():
    capped, c_state = run(machine(), LOSSES)
    restarted, r_state = run(machine(guard_restart=True), LOSSES)
    assert c_state.backoff_steps == r_state.backoff_steps == (SPIKE,)
    assert capped[:SPIKE] == restarted[:SPIKE]  # the same run up to the back-off
    before = capped[SPIKE - 1]
    assert restarted[SPIKE] == pytest.approx(0.5 * before)
    # capped: never above half the multiplier in force at the spike, for the rest of the run
    # (from one update later: the spike is held as an outlier, and the cap applies at the next
    # accepted loss)
    assert max(capped[SPIKE + 1 :]) <= 0.5 * before + 1e-12
    assert c_state.cap == pytest.approx(0.5 * before)
    # restarted: the cap stays 1, the ramp climbs again as the loss falls, past the old value
    assert r_state.cap == 1.0 and r_state.ramp_start == pytest.approx(0.5 * before)
    assert max(restarted[SPIKE:]) > before
    assert all(b >= a - 1e-12 for a, b in zip(restarted[SPIKE + 12 :], restarted[SPIKE + 13 :]))


def test_the_restarted_ramp_is_linear_in_the_gap_from_the_back_off_to_d_star():
    m = machine(guard_restart=True, outlier_filter=False, spike_rule="outlier", smoothing=0.5)
    # a fall, a smooth climb (the guard's rise test backs off, twice), a fall again
    losses = [10.0 - 0.25 * k for k in range(21)]
    losses += [5.0 * 1.02**k for k in range(1, 11)] + [5.0 - 0.1 * k for k in range(40)]
    values, state = run(m, losses)
    first, last = state.backoff_steps[0], state.backoff_steps[-1]
    assert values[first] == pytest.approx(0.5 * values[first - 1])
    assert values[last] == pytest.approx(state.ramp_start)
    # after the last restart every multiplier is start + (1 - start) (d_b - D) / (d_b - D*),
    # with D the smoothed gap (f* = 0: the smoothed loss) and d_b the gap at the back-off
    start, d_b = state.ramp_start, state.ramp_d0
    for t in range(last + 1, len(values)):
        gap = m.simulate(losses[:t])["state"]["gap"]
        frac = min(max((d_b - gap) / (d_b - 0.5), 0.0), 1.0)
        assert values[t] == pytest.approx(start + (1 - start) * frac)
    assert values[-1] > values[first - 1]  # and it climbs past where the first back-off was


def test_after_the_switch_a_back_off_lowers_the_cap_either_way():
    # reaches D* (gap <= 0.5) and switches, then the loss jumps: the decay is halved in both
    losses = [4.0 - 0.1 * k for k in range(39)] + [0.3] * 15 + [0.6, 0.3, 0.3]
    for restart in (False, True):
        m = machine(guard_restart=restart, total_steps=80, max_growth=None, warmup_max_frac=None)
        _, state = run(m, losses)
        assert state.phase == "decay" and state.cap == 0.5 and len(state.backoff_steps) == 1
        assert state.ramp_start is None


def test_at_the_floor_there_is_nothing_to_restart_from():
    # a spike at the very start (multiplier 1/div): no back-off, capped or restarted
    losses = [8.0] * 12 + [12.0, 8.0, 8.0]
    for restart in (False, True):
        _, state = run(machine(guard_restart=restart, max_growth=1.0001), losses)
        assert state.backoff_steps == () and state.ramp_start is None


@settings(max_examples=50, deadline=None)
@given(
    drops=st.lists(st.floats(-0.4, 0.3), min_size=20, max_size=90),
    restart=st.booleans(),
)
def test_restarts_keep_the_multiplier_in_its_bounds(drops, restart):
    """Whatever the losses: the multiplier stays in [1/div, 1], every back-off at least halves
    the multiplier in force, and without a back-off the run equals the capped one."""
    losses, x = [], 6.0
    for d in drops:
        x = max(x * (1 - d / 5), 1e-3)
        losses.append(x)
    values, state = run(machine(guard_restart=restart, total_steps=200), losses)
    assert all(0.1 - 1e-12 <= v <= 1.0 + 1e-12 for v in values)
    for b in state.backoff_steps:
        if b < len(values) and (state.warmup_end_step is None or b < state.warmup_end_step):
            assert values[b] <= 0.5 * values[b - 1] + 1e-12 or values[b - 1] * 0.5 < 0.1
    capped, c_state = run(machine(total_steps=200), losses)
    if not c_state.backoff_steps:
        assert values == capped


def test_the_torch_adapter_resumes_exactly_across_a_restart():
    import torch
    from adapter_helpers import drive, fresh

    kw = dict(total_steps=200, target_loss=0.0, delta_star=0.5, div_factor=10.0,
              spike_rule="level", guard_restart=True, start_rate=0.0)  # fmt: skip

    opt, sched = fresh(**kw)
    drive(opt, sched, LOSSES[: SPIKE + 3])  # past the restart
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, buf)
    want = drive(opt, sched, LOSSES[SPIKE + 3 :])
    assert sched.backoff_steps == [SPIKE] or tuple(sched.backoff_steps) == (SPIKE,)
    opt2, sched2 = fresh(**kw)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert drive(opt2, sched2, LOSSES[SPIKE + 3 :]) == want
    # a resumed run must not change the rule under it
    _, sched3 = fresh(**{**kw, "guard_restart": False})
    with pytest.raises(ValueError, match="guard_restart"):
        sched3.load_state_dict(saved["sched"])


def test_old_states_without_ramp_start_load():
    state = AdaptiveState().to_dict()
    del state["ramp_start"], state["ramp_d0"]
    assert AdaptiveState.from_dict(state).ramp_start is None


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        ({"guard_restart": 1}, TypeError, "guard_restart must be True or False; got 1"),
        ({"guard_restart": True, "ramp": "paper"}, ValueError, "restarts the linear ramp; got ramp='paper'"),
        ({"guard_restart": True, "k_constants": (1.0, 0.0, 1.0)}, ValueError, "got k_constants"),
        ({"guard_restart": True, "ramp": "progress"}, ValueError, "got ramp='progress'"),
        ({"guard_restart": True, "guard": False}, ValueError, "the guard is off"),
        ({"guard_restart": True, "smoothing": 0.0}, ValueError, "the guard is off"),
    ],
)  # fmt: skip
def test_bad_guard_restart_is_one_line(kw, err, match):
    with pytest.raises(err, match=match) as e:
        AdaptiveConfig(total_steps=10, target_loss=1.0, **kw)
    assert "\n" not in str(e.value)


def test_the_restart_mode_is_the_spike_mode_plus_the_restart():
    assert MODES["adaptive-zero-restart"] == {**MODES["adaptive-zero-spike"], "guard_restart": True}
    cfg = AdaptiveConfig.from_spec("adaptive:guard_restart=true", total_steps=10, target_loss=0.0)
    assert cfg.guard_restart is True
