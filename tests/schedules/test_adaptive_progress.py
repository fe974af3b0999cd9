"""The closed-loop warm-up (ramp="progress"): the LR grows while the loss falls, slower on a plateau."""

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import MODES, AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule


def machine(**kw):
    base = dict(
        total_steps=100,
        target_loss="auto",
        kappa=1.0,
        div_factor=10.0,
        ramp="progress",
        smoothing=0.5,  # a horizon of 2 updates
        outlier_filter=False,
        guard=False,
    )
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    """The multipliers the updates ran with, and the final state (typed)."""
    out = m.simulate(losses)
    return out["multiplier"], AdaptiveState.from_dict(out["state"])


def test_a_falling_loss_grows_the_multiplier_by_the_growth_per_horizon_up_to_the_peak():
    # Horizon 2, growth 4 per horizon: x2 per update once a horizon of history exists; the loss
    # falls 10% per update, far above 2% per horizon.
    values, state = run(machine(progress_growth=4.0), [10.0 * 0.9**k for k in range(12)])
    assert values[:6] == pytest.approx([0.1, 0.1, 0.1, 0.2, 0.4, 0.8])
    assert state.warmup_end_step == 6  # the multiplier reached the peak after the 6th update
    assert values[6] == pytest.approx(1.0, rel=1e-3)  # the first update of the decay
    assert state.cap == 1.0 and values[-1] < values[6]  # the decay runs from the peak


def test_a_stalled_loss_grows_it_at_half_the_rate_in_log_scale():
    values, state = run(machine(progress_growth=4.0), [3.0] * 12)
    r = 2.0**0.5  # sqrt(4) per horizon of 2 updates
    assert values[:9] == pytest.approx([0.1, 0.1, 0.1] + [0.1 * r**k for k in range(1, 7)])
    assert state.warmup_end_step == 9  # 0.1 * r**7 > 1


def test_the_threshold_is_relative_to_the_loss_over_one_horizon():
    # A drop of 1% per update is 1.99% per horizon (a stall); 1.1% per update is 2.19% (falling).
    m = machine(progress_growth=1.2)
    slow, _ = run(m, [5.0 * 0.99**k for k in range(20)])
    fast, _ = run(m, [5.0 * 0.989**k for k in range(20)])
    # once the EMA has settled the smoothed loss falls at the loss's own rate
    assert slow[-1] / slow[-2] == pytest.approx(1.2**0.25)
    assert fast[-1] / fast[-2] == pytest.approx(1.2**0.5)


def test_a_long_plateau_still_reaches_the_peak_before_the_latest_switch():
    _, state = run(machine(total_steps=400, smoothing=0.9), [4.0] * 120)
    # 10 updates of history, then sqrt(3) per horizon of 10: 1/div = 0.1 -> 1 in 42 updates.
    assert state.warmup_end_step == 52 and state.cap == 1.0


def test_the_latest_switch_scales_the_decay_to_where_the_multiplier_stands():
    values, state = run(machine(total_steps=40, progress_growth=1.1), [4.0] * 40)
    assert state.warmup_end_step == 20  # progress_max_frac 0.5 of 40 updates
    assert state.cap == pytest.approx(values[19] * 1.1**0.25)
    assert max(values[20:]) <= state.cap + 1e-12


def test_f_star_and_d_star_do_not_matter():
    losses = [6.0, 5.0, 4.5, 4.4, 4.35, 4.3, 4.3, 4.2, 4.1, 3.0, 2.9, 2.9, 2.9, 2.9]
    ref, _ = run(machine(), losses)
    for kw in ({"target_loss": 0.0}, {"target_loss": 2.5, "delta_star": 0.1}):
        assert run(machine(**kw), losses)[0] == pytest.approx(ref)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.5, 10.0), min_size=1, max_size=80))
def test_the_multiplier_never_falls_in_the_warm_up_and_the_switch_comes_by_the_latest_step(ls):
    m = machine(total_steps=80, progress_growth=2.5)
    values, state = run(m, ls)
    warm = values if state.phase == "warmup" else values[: state.warmup_end_step]
    assert all(0.1 - 1e-12 <= v <= 1.0 for v in values)
    assert all(b >= a for a, b in itertools.pairwise(warm))
    if len(ls) > 40:
        assert state.phase == "decay" and state.warmup_end_step <= 40


def test_the_guard_caps_the_closed_loop():
    falling = [10.0 - 0.1 * k for k in range(30)]  # 1% per update: the LR grows
    climbing = [falling[-1] * 1.03**k for k in range(1, 8)]
    values, state = run(machine(guard=True, progress_growth=1.5), falling + climbing)
    assert state.backoff_steps
    k = state.backoff_steps[0]
    assert max(values[k:]) <= 0.5 * values[k - 1] + 1e-12


def test_the_state_round_trips_through_json_mid_run():
    losses = [6.0 - 0.02 * k + 0.05 * math.sin(k) for k in range(70)]
    m = machine(outlier_filter=True, guard=True, smoothing=0.9)
    ref, _ = run(m, losses)
    state = m.init()
    values = []
    for k, loss in enumerate(losses):
        if k == 23:
            state = json.loads(json.dumps(state))
        values.append(m.value(state))
        state = m.update(state, loss)
    assert values == ref


def test_the_mode_and_the_stored_fields():
    assert MODES["adaptive-progress"]["ramp"] == "progress"
    cfg = AdaptiveConfig(total_steps=10, target_loss=1.0)
    assert "progress_rate" not in cfg.schedule_fields()  # other ramps' stored specs unchanged
    assert "progress_rate" in cfg.replace(ramp="progress").schedule_fields()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"progress_rate": 0.0}, "progress_rate must be"),
        ({"progress_growth": 1.0}, "progress_growth must be"),
        ({"progress_max_frac": 0.0}, "progress_max_frac must be"),
        ({"progress_max_frac": 1.5}, "progress_max_frac must be"),
        ({"smoothing": 0.0}, "ramp='progress' measures the loss's progress"),
    ],
)
def test_bad_config_is_one_line(kw, message):
    with pytest.raises(ValueError, match=message) as err:
        AdaptiveConfig(total_steps=10, target_loss=1.0, ramp="progress", **kw)
    assert "\n" not in str(err.value)


def test_the_torch_adapter_runs_the_closed_loop_and_resumes_exactly():
    import torch

    import autowarm

    losses = [6.0 * 0.97**k + 0.02 * math.sin(3 * k) for k in range(40)]

    def drive(start=None, stop=40):
        p = torch.nn.Parameter(torch.zeros(2))
        opt = torch.optim.SGD([p], lr=0.5)
        sched = autowarm.AdaptiveWarmup(
            opt, total_steps=40, target_loss="auto", kappa=1.0, div_factor=20.0, ramp="progress"
        )
        if start is not None:
            sched.load_state_dict(start[1])
        lrs = []
        first = 0 if start is None else start[0]
        for k in range(first, stop):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step(losses[k])
        return lrs, sched

    ref, sched = drive()
    m = AdaptiveWarmupSchedule(
        total_steps=40, target_loss="auto", kappa=1.0, div_factor=20.0, ramp="progress"
    )
    expected, _ = run(m, losses)
    assert ref == pytest.approx([0.5 * v for v in expected])
    assert sched.warmup_end_step is not None
    head, mid = drive(stop=17)
    tail, _ = drive(start=(17, mid.state_dict()))
    assert head + tail == ref


def test_the_adapter_does_not_warn_of_a_long_warm_up_since_the_loop_ends_it_itself():
    import warnings

    import torch

    import autowarm

    p = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = autowarm.AdaptiveWarmup(
        opt,
        total_steps=41,
        target_loss="auto",
        kappa=1.0,
        div_factor=20.0,
        ramp="progress",
        progress_growth=1.01,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(41):
            opt.step()
            sched.step(5.0)
    assert sched.warmup_end_step == 21  # progress_max_frac 0.5 x 41 updates, rounded up
