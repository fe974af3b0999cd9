"""The adaptive warm-up state machine: transitions, options, invariants, bad input."""

import itertools
import json
import math
import random

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from autowarm.schedules import AdaptiveWarmupSchedule, multiplier
from autowarm.schedules.dstar import linear_multiplier


def machine(**kw):
    # The paper's raw-loss machine: no smoothing, no latest switch, no rate limit (and with
    # smoothing, the spike test on outliers only and the ramp from the first loss: the rules
    # these tests were written for).
    base = dict(total_steps=100, target_loss=1.0, delta_star=1.0, div_factor=10.0, smoothing=0.0,
                warmup_max_frac=None, max_growth=None, spike_rule="outlier",
                start_rate=0.0)  # fmt: skip
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def run(m, losses):
    """The multipliers the updates ran with, and the final state (a dict)."""
    out = m.simulate(losses)
    return out["multiplier"], out["state"]


def test_first_update_runs_at_one_over_div():
    m = machine()
    assert m.value(m.init()) == pytest.approx(0.1)


def test_raw_loss_follows_the_closed_form_and_switches_at_dstar():
    m = machine(ramp="paper")
    losses = [5.0, 4.0, 3.0, 2.5, 2.1, 1.95, 1.5]
    mults, state = run(m, losses)
    d0 = 4.0
    for k in range(1, 6):
        assert mults[k] == pytest.approx(multiplier(losses[k - 1] - 1.0, d0, 1.0, 10.0))
    # gap 0.95 <= D* = 1 at the loss of update 5 -> update 6 is the first of the decay.
    assert state["phase"] == "decay" and state["warmup_end_step"] == 6
    # The decay is a cosine over the remaining 94 updates to 1e-4, end-inclusive.
    expect = 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi / 94))
    assert mults[6] == pytest.approx(expect)
    state = dict(state, step=99)
    assert m.value(state) == pytest.approx(1e-4)
    assert m.value(dict(state, step=500)) == pytest.approx(1e-4)


def test_linear_ramp_value_table():
    # f* = 1, D* = 1, first loss 5 -> D0 = 4; div 10: m = 0.1 + 0.9 (4 - D) / 3 between D0 and D*.
    m = machine()  # the default ramp
    mults, state = run(m, [5.0, 6.0, 4.0, 3.0, 2.5, 2.2, 1.9])
    assert mults[:7] == pytest.approx([0.1, 0.1, 0.1, 0.4, 0.7, 0.85, 0.94])
    assert state["phase"] == "decay" and state["warmup_end_step"] == 7
    assert linear_multiplier(1.0, 4.0, 1.0, 10.0) == 1.0


def test_both_ramps_share_start_peak_and_switch():
    losses = [5.0, 4.5, 4.0, 3.0, 2.5, 2.2, 1.9, 1.8]
    lin, s_lin = run(machine(ramp="linear"), losses)
    pap, s_pap = run(machine(ramp="paper"), losses)
    assert lin[0] == pap[0] == pytest.approx(0.1)
    assert s_lin["warmup_end_step"] == s_pap["warmup_end_step"] == 7
    assert lin[7] == pap[7]  # the same decay from the same switch
    assert all(a >= b for a, b in zip(lin[1:5], pap[1:5]))  # far from D* the linear ramp is higher


def test_losses_after_switch_are_ignored():
    m = machine()
    _, s1 = run(m, [5.0, 1.5, 0.5, 9.0, 9.0])
    _, s2 = run(m, [5.0, 1.5, 0.5, 0.1, 0.1])
    assert m.value(s1) == m.value(s2)
    assert s1["phase"] == "decay"


def test_smoothing_is_a_bias_corrected_ema():
    m = machine(smoothing=0.5, delta_star=0.5)
    _, state = run(m, [5.0, 3.0])
    # weights: ema = 0.5*(0.5*5) + 0.5*3 = 2.75, weight = 0.75 -> 3.666...
    assert state["loss"] == pytest.approx(2.75 / 0.75)
    _, first = run(m, [5.0])
    assert first["loss"] == 5.0  # bias correction: the first smoothed loss is the loss


def test_patience_requires_consecutive_observations():
    m = machine(patience=3)
    _, state = run(m, [5.0, 1.9, 1.9, 2.5, 1.9, 1.9])
    assert state["phase"] == "warmup" and state["below"] == 2
    _, state = run(m, [5.0, 1.9, 1.9, 1.9])
    assert state["phase"] == "decay" and state["warmup_end_step"] == 4


def test_monotone_never_lowers_the_warmup_lr():
    losses = [5.0, 3.0, 4.5, 2.9, 6.0, 2.5]
    free, _ = run(machine(), losses)
    mono, _ = run(machine(monotone=True), losses)
    assert any(b < a for a, b in itertools.pairwise(free))
    assert all(b >= a for a, b in itertools.pairwise(mono))


def test_nonfinite_loss_holds_the_lr_and_is_counted():
    m = machine()
    mults, state = run(m, [5.0, 3.0, float("nan"), float("inf"), -float("inf"), 2.5])
    assert mults[3] == mults[4] == mults[5] == mults[2]
    assert state["nonfinite"] == 3
    # NaN before the first finite loss: D0 comes from the first finite one.
    _, state = run(m, [float("nan"), 5.0])
    assert state["d0"] == 4.0


def test_loss_below_target_clamps_the_gap_and_switches():
    m = machine()
    _, state = run(m, [5.0, 0.2])
    assert state["gap"] == pytest.approx(1e-12)
    assert state["phase"] == "decay"


def test_initial_gap_given():
    m = machine(initial_gap=8.0, ramp="paper")
    mults, state = run(m, [5.0, 4.0])
    assert state["d0"] == 8.0
    assert mults[1] == pytest.approx(multiplier(4.0, 8.0, 1.0, 10.0))
    mults, _ = run(machine(initial_gap=8.0), [5.0, 4.0])
    assert mults[1] == pytest.approx(linear_multiplier(4.0, 8.0, 1.0, 10.0))


def test_fitted_delta_star_from_kappa():
    m = AdaptiveWarmupSchedule(total_steps=1000, target_loss=3.2, kappa=46848.0, smoothing=0.0)
    _, state = run(m, [11.0])
    assert 3.2 + state["delta_star"] == pytest.approx(5.71, abs=0.02)


def test_k_constants_mode_is_the_normalised_measured_law():
    k = (4.0, -1.0, 1.0)  # D* = 2, eta(D*) = 2 / (4 - 2 + 4) = 1/3
    m = machine(k_constants=k, delta_star=None)
    mults, state = run(m, [9.0, 6.0, 4.0])
    assert state["delta_star"] == 2.0
    eta = lambda d: d / (4.0 - d + d * d)  # noqa: E731
    assert mults[1] == pytest.approx(eta(8.0) * 3)
    assert mults[2] == pytest.approx(eta(5.0) * 3)
    assert m.constants(state) == k


def test_cooldown_steps_hold_then_decay():
    m = machine(total_steps=20, cooldown_steps=5, decay="linear", final_lr_factor=0.0)
    _, state = run(m, [5.0, 1.5])  # switches at update 2
    vals = [m.value(dict(state, step=k)) for k in range(2, 20)]
    assert vals[:13] == [1.0] * 13
    assert vals[13:] == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])


def test_switch_at_the_end_runs_the_final_factor():
    m = machine(total_steps=3)
    _, state = run(m, [5.0, 4.0, 1.5])
    assert state["warmup_end_step"] == 3
    assert m.value(state) == pytest.approx(1e-4)


def test_constants_for_a_peak_lr():
    m = machine()
    _, state = run(m, [5.0])
    k0, k1, k2 = m.constants(state, lr=1e-3)
    assert 1.0 / (k0 + k1 + k2) == pytest.approx(1e-3)  # eta(D* = 1) = lr
    assert m.constants(m.init()) is None


def test_state_is_plain_json_data_and_round_trips():
    m = machine(smoothing=0.9)
    _, state = run(m, [5.0, 4.0, float("nan"), 3.0])
    restored = json.loads(json.dumps(state))
    assert restored == state
    rest = [2.5, 2.0, 1.5, 1.2, 1.0]
    a = b = state
    for loss in rest:
        a, b = m.update(a, loss), m.update(restored, loss)
        restored = b
        assert m.value(a) == m.value(b)


def test_pure_functions_do_not_mutate_their_input():
    m = machine()
    s0 = m.init()
    snapshot = dict(s0)
    m.update(s0, 5.0)
    assert s0 == snapshot


def test_simulate_lists():
    out = machine().simulate([5.0, 3.0, 1.5])
    assert len(out["multiplier"]) == len(out["gap"]) == len(out["phase"]) == 3
    assert out["phase"][-1] == "decay"


@settings(max_examples=200, deadline=None)
@given(
    losses=st.lists(
        st.one_of(
            st.floats(-5, 50),
            st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        ),
        min_size=1,
        max_size=60,
    ),
    smoothing=st.floats(0.0, 0.99),
    monotone=st.booleans(),
    patience=st.integers(1, 4),
    ramp=st.sampled_from(["paper", "linear"]),
)
def test_multiplier_always_finite_in_unit_interval(losses, smoothing, monotone, patience, ramp):
    m = machine(
        target_loss=0.0,
        delta_star=0.5,
        smoothing=smoothing,
        monotone=monotone,
        patience=patience,
        ramp=ramp,
    )
    state = m.init()
    prev = m.value(state)
    finite_seen = False
    for loss in losses:
        if not finite_seen and math.isfinite(loss) and loss <= 0.5:
            with pytest.raises(ValueError, match="target_loss"):
                m.update(state, loss)
            return
        finite_seen = finite_seen or math.isfinite(loss)
        state = m.update(state, loss)
        v = m.value(state)
        assert math.isfinite(v) and 0.0 <= v <= 1.0
        if monotone and state["phase"] == "warmup":
            # monotone: never lower, except at a back-off of the loss-rise guard (it wins)
            assert v >= prev or state["backoff_steps"][-1:] == [state["step"]]
        prev = v


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"div_factor": 0.5}, "div_factor must be"),
        ({"total_steps": 0}, "total_steps must be"),
        ({"target_loss": float("nan")}, "target_loss must be a finite number"),
        ({"smoothing": 1.0}, "smoothing must be"),
        ({"patience": 0}, "patience must be"),
        ({"decay": "zigzag"}, "decay must be one of"),
        ({"final_lr_factor": -1.0}, "final_lr_factor"),
        ({"delta_star": -1.0}, "delta_star must be"),
        ({"delta_star": 5.0, "initial_gap": 4.0}, "must be below initial_gap"),
        ({"delta_star": None}, "needs delta_star, delta_star_frac, kappa"),
        ({"delta_star": None, "k_constants": (1.0, 1.0)}, "k_constants"),
        ({"delta_star": None, "k_constants": (-1.0, 1.0, 1.0)}, "k_constants"),
        ({"cooldown_steps": 0}, "cooldown_steps"),
        ({"ramp": "cosine"}, "ramp must be one of 'paper', 'linear', 'progress'; got 'cosine'"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        machine(**kwargs)


def test_target_at_or_above_first_loss_is_rejected_at_the_first_loss():
    m = machine(target_loss=5.0)
    with pytest.raises(ValueError, match=r"target_loss \(5.0\) must be below the first"):
        m.update(m.init(), 4.0)
    m = machine(delta_star=3.5)
    with pytest.raises(ValueError, match="must be below the initial gap"):
        m.update(m.init(), 4.0)


# --- the one configuration, the typed state ----------------------------------------------------


def test_config_spec_round_trip_and_typed_values():
    from autowarm.adaptive import AdaptiveConfig

    cfg = AdaptiveConfig(
        total_steps=600,
        target_loss=1.3,
        div_factor=10.0,
        k_constants=(40.0, -5.0, 10.0),
        monotone=True,
        cooldown_steps=50,
        ramp="paper",
    )
    spec = cfg.to_spec()
    assert spec.startswith("adaptive:target_loss=1.3,div_factor=10.0,")
    assert AdaptiveConfig.from_spec(spec, total_steps=600) == cfg
    parsed = AdaptiveConfig.from_spec(
        "adaptive:delta_star=none,patience=3,monotone=false", total_steps=10, target_loss=2.0
    )
    assert (parsed.delta_star, parsed.patience, parsed.monotone) == (None, 3, False)
    assert AdaptiveConfig.from_dict(cfg.to_dict()) == cfg
    # The machine is the same configuration plus the transition functions.
    m = AdaptiveWarmupSchedule.from_config(cfg)
    assert isinstance(m, AdaptiveConfig) and m.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("adaptive:bogus=1", r"unknown adaptive warm-up option 'bogus' .* valid: target_loss"),
        ("adaptive:div_factor=abc", "adaptive option div_factor must be a number; got 'abc'"),
        ("adaptive:patience=1.5", "adaptive option patience must be an integer; got '1.5'"),
        ("adaptive:monotone=maybe", "adaptive option monotone must be true or false"),
        ("adaptive:k_constants=1/2", "k_constants must be three finite numbers"),
        ("adaptive:delta_star", "items must be key=value"),
        ("adaptive:ramp=paper,ramp=linear", "given twice"),
        ("adaptive:total_steps=5", "sets total_steps; the run's length sets it"),
        (
            "adaptive:target_loss=best",
            "target_loss must be a finite number or 'auto' .*; got 'best'",
        ),
        ("adaptive:div_factor=0.5", "div_factor must be"),
        ("adaptive:norm=l7", "norm must be one of"),
        ("adaptive", "needs target_loss"),
        ("wsd:warmup_steps=3", "not an adaptive spec"),
    ],
)
def test_config_spec_errors_are_one_line_value_errors(spec, match):
    from autowarm.adaptive import AdaptiveConfig

    target = None if spec == "adaptive" else 1.0
    with pytest.raises(ValueError, match=match) as err:
        AdaptiveConfig.from_spec(spec, total_steps=10, target_loss=target)
    assert "\n" not in str(err.value)


def test_bench_modes_are_configs_and_faithful_is_the_papers_rules():
    from autowarm.adaptive import MODES, AdaptiveConfig
    from autowarm.adaptive.config import START_RATE

    base = AdaptiveConfig(total_steps=10, target_loss=1.0)
    # the default mode is the library's defaults (the filter spelled out: None means on here)
    assert base.replace(**MODES["adaptive"]) == base.replace(
        outlier_filter=True, guard=True, start_rate=START_RATE
    )
    assert base.hold_rate == base.replace(**MODES["adaptive"]).hold_rate == START_RATE
    assert base.filters_outliers
    faithful = base.replace(**MODES["adaptive-faithful"])
    assert (faithful.smoothing, faithful.ramp, faithful.patience) == (0.0, "paper", 1)


def test_typed_state_round_trips_and_reads_the_old_dict():
    from autowarm.adaptive import AdaptiveState

    m = machine(smoothing=0.5)
    state = m.initial_state()
    for loss in [5.0, 4.0, 3.0]:
        state = m.update(state, loss)
    assert isinstance(state, AdaptiveState)
    assert AdaptiveState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    # The untyped dict API gives the same numbers.
    _, as_dict = run(m, [5.0, 4.0, 3.0])
    assert as_dict == state.to_dict()
    old = {  # a state as earlier versions stored it (13 keys)
        "step": 3, "observed": 3, "nonfinite": 0, "ema": 2.125, "ema_weight": 0.875,
        "loss": 2.125 / 0.875, "gap": 2.125 / 0.875 - 1.0, "d0": 4.0, "delta_star": 1.0,
        "phase": "warmup", "below": 0, "multiplier": 0.5, "warmup_end_step": None,
    }  # fmt: skip
    typed = AdaptiveState.from_dict(old)
    assert typed.step == 3 and typed.multiplier == 0.5
    with pytest.raises(ValueError, match=r"not an AdaptiveWarmup state_dict \(missing \['below'"):
        AdaptiveState.from_dict({k: x for k, x in old.items() if k != "below"})
    with pytest.raises(ValueError, match="unknown keys"):
        AdaptiveState.from_dict({**old, "surprise": 1})
    with pytest.raises(ValueError, match="phase must be one of"):
        AdaptiveState.from_dict({**old, "phase": "cooldown"})


@pytest.mark.parametrize("ramp", ["paper", "linear"])
def test_patience_holds_the_peak_instead_of_falling_below_it(ramp):
    # Gap 0.5 <= D* = 1: the paper's closed form would give m(0.5) < 1 (it falls again below D*);
    # while the patience runs the multiplier holds 1, never below where it was.
    m = machine(ramp=ramp, patience=3)
    mults, state = run(m, [5.0, 3.0, 1.5, 1.5, 1.4])
    assert mults[3:] == [1.0, 1.0]
    assert all(b >= a for a, b in itertools.pairwise(mults))
    assert state["phase"] == "decay" and state["warmup_end_step"] == 5
    assert multiplier(0.5, 4.0, 1.0, 10.0) < 1.0  # what the closed form alone would give


# --- one bad loss: the outlier filter ------------------------------------------------------------


def _curve(shape, scale, rate, noise, seed, n=160):
    rng = random.Random(seed)
    out = []
    for t in range(n):
        trend = scale * (math.exp(-rate * t) if shape == "exp" else (1 + rate * 10 * t) ** -0.8)
        out.append(1.2 + trend + noise * rng.gauss(0.0, 1.0))
    return out


def _trace(m, losses):
    out = m.simulate(losses)
    return out["multiplier"], out["state"]["warmup_end_step"]


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(["exp", "power"]),
    scale=st.floats(3.0, 9.0),
    rate=st.floats(0.03, 0.08),
    noise=st.floats(0.0, 0.05),
    seed=st.integers(0, 10_000),
    at=st.integers(8, 150),
    spike=st.sampled_from([1e30, 1e6, -1e9, "x3", "x0.2", "+1"]),
)
def test_one_spike_barely_moves_the_schedule(shape, scale, rate, noise, seed, at, spike):
    clean = _curve(shape, scale, rate, noise, seed)
    dirty = list(clean)
    if spike == "x3":
        dirty[at] = 3 * clean[at]
    elif spike == "x0.2":
        dirty[at] = 0.2 * clean[at]
    elif spike == "+1":
        dirty[at] = clean[at] + 1.0
    else:
        dirty[at] = spike
    # f* = 1, D* = 1: the peak loss is 2. The filter alone: the loss-rise guard reacts to an
    # upward spike by design (tests/schedules/test_adaptive_guard.py).
    m = machine(total_steps=160, smoothing=0.9, guard=False)
    assert m.filters_outliers
    want, want_end = _trace(m, clean)
    got, got_end = _trace(m, dirty)
    assert want_end is not None and got_end is not None
    # In the steep first updates the filter's scale (the typical change between losses) is large,
    # so a moderate spike there (x0.2 before update 16) can pass it and move the EMA like any loss:
    # the filter is for values far outside the recent ones, which a wild value always is.
    assume(at >= 16 or spike in (1e30, 1e6, -1e9))
    bound = 0.08
    assert abs(got_end - want_end) <= 2
    assert max(abs(a - b) for a, b in zip(got, want)) <= bound
    if spike in (1e30, 1e6, -1e9):  # a wild value is dropped outright: one held step
        assert abs(got_end - want_end) <= 1
        assert max(abs(a - b) for a, b in zip(got, want)) <= 0.05


def _dropped(m, losses):
    """Losses the filter dropped as isolated outliers (before the switch, if there is one)."""
    state = m.initial_state()
    for x in losses:
        state = m.update(state, x)
        if state.phase == "decay":
            break
    return state.outliers


@settings(max_examples=30, deadline=None)
@given(
    before=st.floats(4.0, 8.0),
    after=st.floats(1.2, 1.9),
    noise=st.floats(0.0, 0.05),
    seed=st.integers(0, 10_000),
    at=st.integers(8, 40),
)
@example(before=4.0, after=1.5, noise=0.046875, seed=384, at=8)
def test_a_sustained_shift_is_followed_within_a_few_steps(before, after, noise, seed, at):
    rng = random.Random(seed)
    losses = [(before if t < at else after) + noise * rng.gauss(0, 1) for t in range(80)]
    filtered = machine(total_steps=80, smoothing=0.9)
    plain = machine(total_steps=80, smoothing=0.9, outlier_filter=False)
    _, got_end = _trace(filtered, losses)
    _, want_end = _trace(plain, losses)
    # Within 2 updates for the shift itself, plus one per later loss the filter drops as an
    # isolated outlier: right after a shift its scale comes from a few near-equal losses, so a
    # noise-sized step can be dropped (the example below drops 4 and ends 4 updates later).
    late = _dropped(filtered, losses) - _dropped(filtered, losses[: at + 3])
    assert want_end is not None and want_end <= got_end <= want_end + 2 + late
    # Once the shift is accepted the held losses are replayed: the smoothed loss is the same.
    s_f, s_p = filtered.initial_state(), plain.initial_state()
    for x in losses[: at + 3]:
        s_f, s_p = filtered.update(s_f, x), plain.update(s_p, x)
    assert s_f.loss == pytest.approx(s_p.loss, rel=1e-12)


def test_filter_value_table_and_resume():
    m = machine(smoothing=0.5, delta_star=0.5)
    base = [6.0, 5.9, 6.1, 6.0, 5.95]
    _, state = run(m, [*base, 1e30])
    assert state["held"] == [1e30] and state["loss"] == run(m, base)[1]["loss"]
    _, state = run(m, [*base, 1e30, 5.9])
    assert state["held"] == [] and state["outliers"] == 1
    _, state = run(m, [*base, -1e9, 6.0])
    assert state["phase"] == "warmup" and state["outliers"] == 1
    # Fewer than 5 losses of history: nothing is filtered (the first losses are taken as they are).
    _, state = run(m, [6.0, 5.9, 6.1, 6.0, 60.0])
    assert state["held"] == [] and state["observed"] == 5
    # The paper-faithful mode (raw loss) never filters, unless asked to.
    raw = machine(smoothing=0.0)
    assert not raw.filters_outliers and machine(smoothing=0.0, outlier_filter=True).filters_outliers
    _, state = run(raw, [*base, -1e9])
    assert state["phase"] == "decay"
    # The filter's state is plain data and resumes exactly.
    losses = [*base, 1e30, 5.8, 5.7, 3.0, 3.1, 2.9, 1.4, 1.3]
    _, mid = run(m, losses[:7])
    restored = json.loads(json.dumps(mid))
    a = b = mid
    for x in losses[7:]:
        a, b = m.update(a, x), m.update(restored, x)
        restored = b
        assert a == b


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"outlier_filter": "yes"}, "outlier_filter must be True, False or None"),
        ({"outlier_k": 0.0}, "outlier_k must be"),
        ({"outlier_window": 4}, "outlier_window must be an integer >= 5"),
        ({"outlier_persist": 1}, "outlier_persist must be an integer >= 2"),
    ],
)
def test_bad_filter_config(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        machine(**kwargs)
