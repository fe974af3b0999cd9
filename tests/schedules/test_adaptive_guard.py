"""The loss-rise guard of the adaptive warm-up: back the peak off when the smoothed loss climbs."""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule
from autowarm.adaptive.machine import GUARD_START


def machine(**kw):
    # the ramp from the first loss (start_rate=0): the tests feed the guard a fast first fall
    base = dict(total_steps=200, target_loss=0.0, delta_star=0.5, div_factor=10.0, start_rate=0.0)
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    """The multipliers the updates ran with, and the final state (typed)."""
    out = m.simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


def test_guard_is_on_by_default_with_smoothing_and_off_in_the_papers_raw_mode():
    assert AdaptiveConfig(total_steps=10, target_loss=1.0).guards
    assert not AdaptiveConfig(total_steps=10, target_loss=1.0, smoothing=0.0).guards
    assert AdaptiveConfig(total_steps=10, target_loss=1.0, smoothing=0.0, guard=True).guards


def test_a_climbing_loss_during_the_warm_up_halves_the_multiplier_in_force():
    # The loss falls from 10 to 5 (the linear ramp rises), then climbs 2% per update.
    m = machine(smoothing=0.5, outlier_filter=False)
    falling = [10.0 - 0.25 * k for k in range(21)]
    climbing = [5.0 * 1.02**k for k in range(1, 11)]
    values, state = run(m, falling + climbing)
    assert state.phase == "warmup"
    assert len(state.backoff_steps) >= 1
    first = state.backoff_steps[0]
    assert first > len(falling)  # not while the loss fell
    before = values[first - 1]  # the multiplier in force when the rise was seen
    assert values[first] == pytest.approx(0.5 * before)
    assert max(values[first:]) <= 0.5 * before + 1e-12


def test_without_the_guard_the_same_climb_never_backs_off():
    falling = [10.0 - 0.25 * k for k in range(21)]
    climbing = [5.0 * 1.02**k for k in range(1, 11)]
    values, state = run(
        machine(smoothing=0.5, outlier_filter=False, guard=False), falling + climbing
    )
    guarded, _ = run(machine(smoothing=0.5, outlier_filter=False), falling + climbing)
    assert state.backoff_steps == () and state.cap == 1.0
    assert values[: len(falling) + 1] == guarded[: len(falling) + 1]
    assert values[-1] > guarded[-1]


def test_a_rise_after_the_switch_scales_the_remaining_decay():
    m = machine(smoothing=0.5, outlier_filter=False, total_steps=100)
    losses = [2.0 - 0.1 * k for k in range(18)] + [0.3] * 10  # switch once the gap <= 0.5
    _values, state = run(m, losses)
    assert state.phase == "decay" and state.cap == 1.0
    climbed, k = state, 0
    while not climbed.backoff_steps:
        k += 1
        climbed = m.update(climbed, 0.3 * 1.1**k)
    assert k <= 3 and climbed.cap == pytest.approx(0.5)
    # the decay goes on from where it was, at half its value
    same_step = dataclasses.replace(state, step=climbed.step)
    assert m.value(climbed) == pytest.approx(0.5 * m.value(same_step))


def test_the_cap_never_goes_below_the_warm_up_start():
    m = machine(smoothing=0.5, outlier_filter=False, div_factor=4.0, delta_star=0.1)
    losses = [10.0 - 0.2 * k for k in range(20)] + [6.0 * 1.05**k for k in range(1, 80)]
    values, state = run(m, losses)
    assert state.cap == pytest.approx(0.25)
    assert min(values) >= 0.25 - 1e-12
    assert len(state.backoff_steps) <= 2  # 1 -> 0.5 (or less) -> 0.25, then nothing lower
    gaps = [b - a for a, b in zip(state.backoff_steps, state.backoff_steps[1:])]
    assert all(g >= 2 for g in gaps)  # one smoothing horizon (1 / (1 - 0.5)) between back-offs


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(1.0, 20.0),
    drops=st.lists(st.floats(0.0, 0.5), min_size=GUARD_START + 5, max_size=80),
    smoothing=st.floats(0.0, 0.95),
)
def test_a_loss_that_never_rises_never_triggers_the_guard(start, drops, smoothing):
    m = machine(smoothing=smoothing, guard=True, target_loss=-1.0, delta_star=0.01)
    losses, x = [], start
    for d in drops:
        x -= d * x / 20
        losses.append(x)
    _, state = run(m, losses)
    assert state.backoff_steps == () and state.cap == 1.0


def test_the_guard_state_round_trips_and_old_states_load_without_it():
    from autowarm.adaptive import AdaptiveState

    m = machine(smoothing=0.5, outlier_filter=False)
    _, state = run(m, [10.0 - 0.25 * k for k in range(21)] + [5.0 * 1.02**k for k in range(10)])
    assert AdaptiveState.from_dict(state.to_dict()) == state
    old = {
        k: x for k, x in state.to_dict().items() if k not in ("cap", "guard_min", "backoff_steps")
    }
    loaded = AdaptiveState.from_dict(old)
    assert loaded.cap == 1.0 and loaded.backoff_steps == ()


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("guard_rise", 0.0, "guard_rise"),
        ("guard_rise", math.nan, "guard_rise"),
        ("guard_backoff", 1.0, "guard_backoff"),
        ("guard_backoff", 0.0, "guard_backoff"),
        ("guard", "yes", "guard"),
    ],
)
def test_bad_guard_options_are_one_line_errors(field, value, match):
    with pytest.raises((ValueError, TypeError), match=match) as err:
        AdaptiveConfig(total_steps=10, target_loss=1.0, **{field: value})
    assert "\n" not in str(err.value)


def test_the_guard_is_a_spec_option():
    cfg = AdaptiveConfig.from_spec(
        "adaptive:guard=false,guard_rise=0.1", total_steps=10, target_loss=1.0
    )
    assert (cfg.guard, cfg.guard_rise, cfg.guards) == (False, 0.1, False)


def test_one_loss_spike_backs_off_once_and_is_still_dropped():
    m = machine(smoothing=0.9)
    losses = [10.0 - 0.1 * k for k in range(30)]
    _clean_values, clean = run(m, [*losses, 7.0, 6.95, 6.9])
    values, state = run(m, [*losses, 3.0 * losses[-1], 6.95, 6.9])
    assert state.backoff_steps == (len(losses) + 1,)
    assert state.outliers == 1 and state.loss == pytest.approx(clean.loss, rel=1e-2)
    assert values[-1] == pytest.approx(0.5 * values[len(losses)])
    assert clean.backoff_steps == ()


def test_a_small_upward_outlier_below_guard_spike_does_not_back_off():
    m = machine(smoothing=0.9)
    losses = [10.0 - 0.01 * k for k in range(30)]  # a slow, smooth fall: a tiny outlier scale
    _, state = run(m, [*losses, 1.1 * losses[-1], losses[-1] - 0.01, losses[-1] - 0.02])
    assert state.outliers == 1 and state.backoff_steps == ()
    _, state = run(machine(smoothing=0.9, guard_spike=0.05), [*losses, 1.1 * losses[-1]])
    assert state.backoff_steps == (len(losses) + 1,)


def test_a_jump_during_a_fast_fall_backs_off_only_with_the_level_spike_rule():
    # Lion at 4x on the CPU benchmark: the loss falls ~6% per update, then one loss jumps 30%.
    # The filter's scale is the typical step (wide), so the jump is no outlier by its test.
    falling = [5.56 * 0.94**k for k in range(12)]
    losses = [*falling, 1.3 * falling[-1], falling[-1] * 0.98, falling[-1] * 0.96]
    for rule, want in (("outlier", ()), ("level", (13,))):
        values, state = run(machine(smoothing=0.9, spike_rule=rule), losses)
        assert state.outliers == 0  # accepted either way: the rule only decides the back-off
        assert state.backoff_steps == want
    assert values[13] == pytest.approx(0.5 * values[12])
    # below guard_spike (20%) the level rule leaves the run alone
    _, state = run(machine(smoothing=0.9, spike_rule="level"), [*falling, 1.1 * falling[-1]])
    assert state.backoff_steps == ()


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(1.0, 20.0),
    drops=st.lists(st.floats(0.0, 0.5), min_size=GUARD_START + 5, max_size=80),
)
def test_the_level_spike_rule_never_fires_on_a_loss_that_never_rises(start, drops):
    m = machine(smoothing=0.9, spike_rule="level", target_loss=-1.0, delta_star=0.01)
    losses, x = [], start
    for d in drops:
        x -= d * x / 20
        losses.append(x)
    assert run(m, losses)[1].backoff_steps == ()


def test_bad_spike_rule_is_one_line():
    with pytest.raises(ValueError, match="spike_rule must be one of") as err:
        AdaptiveConfig(total_steps=10, target_loss=1.0, spike_rule="any")
    assert "\n" not in str(err.value)


def test_the_torch_adapter_applies_the_cap_to_every_group():
    import torch

    from autowarm import AdaptiveWarmup

    w = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([{"params": [w], "lr": 0.1}, {"params": [b], "lr": 0.01}])
    sched = AdaptiveWarmup(
        opt, total_steps=200, target_loss=0.0, delta_star=0.5, div_factor=10.0, start_rate=0.0
    )
    losses = [10.0 - 0.25 * k for k in range(21)] + [5.0 * 1.02**k for k in range(1, 26)]
    seen = []
    for loss in losses:
        opt.step()
        sched.step(loss)
        seen.append([g["lr"] for g in opt.param_groups])
    assert len(sched.backoff_steps) >= 1 and sched.peak_cap < 1.0
    k = sched.backoff_steps[0]
    assert seen[k - 1][0] == pytest.approx(0.5 * seen[k - 2][0])  # the LR of update k
    assert seen[-1][1] == pytest.approx(0.1 * seen[-1][0])  # the groups keep their ratio
    restored = AdaptiveWarmup(
        opt, total_steps=200, target_loss=0.0, delta_star=0.5, div_factor=10.0, start_rate=0.0
    )
    restored.load_state_dict(sched.state_dict())
    assert restored.backoff_steps == sched.backoff_steps and restored.peak_cap == sched.peak_cap


@pytest.mark.parametrize("spike_rule", ["outlier", "level"])
def test_a_held_back_spike_lowers_the_very_next_update(spike_rule):
    """The spike is held back by the outlier filter, so no loss is accepted at that update; the
    back-off must still apply to the next update, not one accepted loss later (hypothesis found
    a monotone run that dropped one update after its back-off)."""
    m = machine(smoothing=0.875, monotone=True, ramp="paper", spike_rule=spike_rule,
                max_growth=None, warmup_max_frac=None)  # fmt: skip
    losses = [1.0, 1.0, 0.0, 1.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    state = m.init()
    for loss in losses:
        state = m.update(state, loss)
    before = m.value(state)
    state = m.update(state, 1.0)  # a spike: held back, and the guard backs off
    st_ = AdaptiveState.from_dict(state)
    assert st_.backoff_steps == (11,) and st_.held == (1.0,)
    assert m.value(state) == pytest.approx(0.5 * before) == pytest.approx(st_.cap)
    state = m.update(state, 0.0)
    assert m.value(state) == pytest.approx(st_.cap)  # and it stays there


@pytest.mark.parametrize("sync_every", [1, 3])
def test_the_torch_adapter_backs_off_after_the_switch_as_the_machine_does(sync_every):
    """The guard watches the decay in the adapter too: fed the same losses, the adapter's LRs are
    the machine's, through a rise after the switch (the adapter once stopped reading losses at
    the switch, so the guard never acted in the decay of a torch run)."""
    import torch

    from autowarm import AdaptiveWarmup

    kw = dict(total_steps=100, target_loss=0.0, delta_star=0.5, div_factor=10.0, start_rate=0.0,
              smoothing=0.5, outlier_filter=False, sync_every=sync_every)  # fmt: skip
    losses = [2.0 - 0.1 * k for k in range(18)] + [0.3] * 10 + [0.3 * 1.1**k for k in range(1, 8)]
    losses += [0.2] * 20
    want, state = run(machine(**kw), losses)
    assert state.phase == "decay" and state.backoff_steps
    assert state.backoff_steps[0] > state.warmup_end_step  # the back-off is in the decay
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = AdaptiveWarmup(opt, **kw)
    seen = []
    for loss in losses:
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(torch.tensor(loss, dtype=torch.float64))
    # with sync_every > 1 the adapter reads its losses in blocks, so it acts up to 2 updates late
    if sync_every == 1:
        assert seen == pytest.approx(want, abs=1e-15)
        assert sched.backoff_steps == state.backoff_steps and sched.peak_cap == state.cap
    assert sched.backoff_steps and sched.backoff_steps[0] > sched.warmup_end_step
    assert sched.peak_cap <= 0.5
    unguarded, _ = run(machine(**kw, guard=False), losses)
    assert seen[-1] <= 0.5 * unguarded[-1] + 1e-15  # the rest of the decay runs lower


def test_without_the_guard_the_adapter_ignores_losses_after_the_switch():
    import torch

    from autowarm import AdaptiveWarmup

    kw = dict(total_steps=60, target_loss=0.0, delta_star=0.5, div_factor=10.0, start_rate=0.0,
              smoothing=0.5, outlier_filter=False, guard=False)  # fmt: skip
    losses = [2.0 - 0.1 * k for k in range(18)] + [0.3] * 5
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = AdaptiveWarmup(opt, **kw)
    for loss in losses:
        opt.step()
        sched.step(loss)
    assert sched.phase == "decay"
    smoothed = sched.smoothed_loss
    opt.step()
    sched.step(50.0)  # a spike after the switch: no guard, nothing read
    assert sched.smoothed_loss == smoothed and sched.backoff_steps == ()
    assert sched.state_dict()["pending"] == [] and sched.state_dict()["observed"][1] == 0
