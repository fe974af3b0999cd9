"""target_loss="auto" in the adaptive machine: value tables, a reference loop, invariants, resume."""

import io
import json
import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.adaptive import (
    MODES,
    AdaptiveConfig,
    AdaptiveState,
    AdaptiveWarmupSchedule,
    fit_delta_star,
    linear_multiplier,
)
from autowarm.theory.fstar import OnlineFstar

# The online estimator (fstar_rule="estimate") with the rules it was designed with: no latest
# switch, no rate limit, the spike test on outliers.
V1 = dict(fstar_rule="estimate", warmup_max_frac=None, max_growth=None, spike_rule="outlier",
          start_rate=0.0)  # fmt: skip


def auto(**kw):
    base = dict(total_steps=100, target_loss="auto", delta_star=0.5, div_factor=10.0, smoothing=0.0,
                **V1)  # fmt: skip
    if "kappa" in kw:  # D* fitted from kappa
        base["delta_star"] = None
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def law_run(m, alpha=0.5, steps=None):
    """Closed loop on a synthetic law: the loss of update t is 1 + 4 (1 + P_t)^-alpha, P_t the
    LR area (sum of the multipliers the machine chose so far). Returns multipliers and states."""
    state, area, mults, states = m.initial_state(), 0.0, [], []
    for _ in range(steps or m.total_steps):
        mult = m.value(state)
        area += mult
        mults.append(mult)
        state = m.update(state, 1.0 + 4.0 * (1.0 + area) ** -alpha)
        states.append(state)
    return mults, states


def test_value_table_with_the_provisional_f_star():
    # f* = 0.4 x 5 = 2, D0 = 3, D* = 0.5 (given), div 10: the linear ramp by hand.
    m = auto()
    state, mults = m.initial_state(), []
    for loss in [5.0, 4.0, 3.0, 2.4, 2.3]:
        mults.append(m.value(state))
        state = m.update(state, loss)
    assert [round(x, 12) for x in mults[:4]] == [0.1, 0.1, 0.46, 0.82]
    assert mults[4] < 1.0  # the decay after the switch
    assert (state.fstar, state.d0, state.delta_star, state.warmup_end_step) == (2.0, 3.0, 0.5, 4)
    assert state.estimator["source"] == "provisional" and state.estimator["frozen"]
    assert state.estimator["step"] == 4  # frozen at the switch: the loss of update 5 not fed
    assert m.target(state) == 2.0


def test_without_a_revision_auto_is_the_fixed_machine_at_0_4_of_the_first_loss():
    # A fast curve ends the warm-up before the first fit: the provisional f* = 0.4 L1 is the rule.
    losses = [6.0 * 0.9**k + 1.0 for k in range(60)]
    kw = dict(total_steps=600, kappa=2560.0, div_factor=100.0, **V1)
    a = AdaptiveWarmupSchedule(target_loss="auto", **kw).simulate(losses)
    b = AdaptiveWarmupSchedule(target_loss=0.4 * 7.0, **kw).simulate(losses)
    assert a["multiplier"] == pytest.approx(b["multiplier"], abs=1e-12)
    assert a["state"]["warmup_end_step"] == b["state"]["warmup_end_step"] == 18
    assert a["state"]["fstar"] == pytest.approx(2.8)


@pytest.mark.parametrize("dstar", ["given", "fit"])
def test_matches_a_reference_loop_of_estimator_and_ramp(dstar):
    # The documented rule written out: feed OnlineFstar the loss with the multiplier of its
    # update; D0 = first loss - f*, D* = given or fitted from kappa; linear ramp; switch at D*.
    kw = {"delta_star": 0.1} if dstar == "given" else {"kappa": 3e4}
    m = auto(total_steps=200, div_factor=100.0, **kw)
    got, states = law_run(m)
    est, area, want, first, end = OnlineFstar(200), 0.0, [], None, None
    mult = 0.01  # the first update runs at 1/div
    for t in range(200):
        want.append(mult)
        area += mult
        loss = 1.0 + 4.0 * (1.0 + area) ** -0.5
        if end is None:
            est.update(loss, lr=mult)
            first = loss if first is None else first
            f = est.value
            d0 = first - f
            ds = 0.1 if dstar == "given" else fit_delta_star(d0, 100.0, 3e4)
            assert states[t].fstar == f and states[t].d0 == pytest.approx(d0, abs=1e-12)
            assert states[t].delta_star == pytest.approx(ds, abs=1e-12)
            if loss - f <= ds:
                end = t + 1  # the switch: update t + 2 runs the decay
            else:
                mult = linear_multiplier(loss - f, d0, ds, 100.0)
        if end is not None:  # the decay after the switch (tested with the fixed f*)
            mult = m.value(states[t])
    assert got == pytest.approx(want, abs=1e-12)
    assert states[-1].warmup_end_step == end and end is not None
    revised = {s.fstar for s in states}
    assert len(revised) > 3 and states[-1].estimator["source"] == "fit"  # revised by the fit
    assert max(revised) == pytest.approx(0.4 * first) and states[-1].fstar < 1.9


def test_revisions_keep_the_first_loss_and_d_star_below_d0():
    m = auto(total_steps=400, kappa=3e4, div_factor=100.0)
    _, states = law_run(m)
    warm = [s for s in states if s.phase == "warmup" or s.warmup_end_step == s.step]
    first = 1.0 + 4.0 * 1.01**-0.5
    for s in warm:
        assert s.d0 + s.fstar == pytest.approx(first, abs=1e-9)
        assert 0 < s.delta_star < s.d0
    # after the switch f* (and so D0, D*) no longer change
    after = [s for s in states if s.phase == "decay"]
    assert len({(s.fstar, s.d0, s.delta_star) for s in after}) == 1
    assert after[0].estimator["frozen"] and after[-1].estimator == after[0].estimator


def test_state_is_plain_and_resume_through_torch_save_is_exact():
    m = auto(total_steps=200, kappa=3e4, div_factor=100.0, smoothing=0.9)
    losses = [1.0 + 4.0 * (1.0 + 0.3 * k) ** -0.5 for k in range(200)]
    losses[50] = math.nan
    losses[60] = 40.0  # an isolated outlier
    full = m.simulate(losses)
    for k in (1, 30, 55, 61, 120):
        state = m.initial_state()
        for x in losses[:k]:
            state = m.update(state, x)
        buf = io.BytesIO()
        torch.save(state.to_dict(), buf)
        buf.seek(0)
        loaded = torch.load(buf, weights_only=True)
        assert json.loads(json.dumps(loaded)) == loaded
        resumed = AdaptiveState.from_dict(loaded)
        assert resumed == state
        mults = []
        for x in losses[k:]:
            mults.append(m.value(resumed))
            resumed = m.update(resumed, x)
        assert mults == full["multiplier"][k:]
        assert resumed.to_dict() == full["state"]


def test_states_of_earlier_versions_still_load():
    old = {  # the 13 keys every version stored; later fields default
        "step": 3, "observed": 3, "nonfinite": 0, "ema": 2.125, "ema_weight": 0.875,
        "loss": 2.125 / 0.875, "gap": 2.125 / 0.875 - 1.0, "d0": 4.0, "delta_star": 1.0,
        "phase": "warmup", "below": 0, "multiplier": 0.5, "warmup_end_step": None,
    }  # fmt: skip
    state = AdaptiveState.from_dict(old)
    assert (state.fstar, state.estimator, state.fstar_warned) == (None, None, False)
    with pytest.raises(ValueError, match="estimator must be a dict or None"):
        AdaptiveState.from_dict({**old, "estimator": [1, 2]})


def test_a_given_d_star_above_the_provisional_gap_falls_back_with_one_warning():
    m = auto(delta_star=5.0)  # D0 = 0.6 x 5 = 3 <= D*
    with pytest.warns(RuntimeWarning, match=r"D\* = 5 is not below D0 = 3 .* D\* = D0 / 2 = 1.5"):
        state = m.update(m.initial_state(), 5.0)
    assert (state.d0, state.delta_star, state.fstar_warned) == (3.0, 1.5, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in [4.5, 4.0]:
            state = m.update(state, loss)
    assert state.delta_star == 1.5


def test_an_estimator_that_raises_keeps_f_star_and_warns_once(monkeypatch):
    m = auto(total_steps=200, kappa=3e4, div_factor=100.0)
    _, states = law_run(m, steps=25)
    kept = states[-1].fstar

    def broken(self, loss, lr=1.0):
        raise ArithmeticError("boom")

    monkeypatch.setattr(OnlineFstar, "update", broken)
    with pytest.warns(RuntimeWarning, match=r"the f\* estimator failed \(ArithmeticError: boom\)"):
        state = m.update(states[-1], 1.5)
    assert state.fstar == kept and state.estimator is None and state.fstar_warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in [1.45, 1.4, 1.3]:
            state = m.update(state, loss)
    assert state.fstar == kept
    # failing on the first loss: the provisional rule still sets f*
    with pytest.warns(RuntimeWarning, match="failed"):
        first = m.update(m.initial_state(), 5.0)
    assert first.fstar == pytest.approx(2.0) and first.d0 == pytest.approx(3.0)


def test_a_fit_failure_inside_the_estimator_is_surfaced_once(monkeypatch):
    import autowarm.theory.fstar as fstar_mod

    def bad(*_args):
        raise ValueError("singular")

    monkeypatch.setattr(fstar_mod, "_predict", bad)
    m = auto(total_steps=200, kappa=3e4, div_factor=100.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, states = law_run(m, steps=60)
    msgs = [str(w.message) for w in caught]
    assert len(msgs) == 1 and "the f* fit failed (singular)" in msgs[0], msgs
    assert states[-1].fstar == pytest.approx(0.4 * states[0].loss)  # kept the provisional value


LOSS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0.5, max_value=8.0),
)


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(LOSS, min_size=1, max_size=60),
    smoothing=st.sampled_from([0.0, 0.9]),
    source=st.sampled_from([{"kappa": 2560.0}, {"delta_star": 0.5}, {"k_constants": (1, 0, 4)}]),
)
def test_any_loss_sequence_never_raises_and_stays_in_bounds(losses, smoothing, source):
    m = AdaptiveWarmupSchedule(
        total_steps=60, target_loss="auto", div_factor=10.0, smoothing=smoothing, **source, **V1
    )
    state, seen = m.initial_state(), False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in losses:
            value = m.value(state)
            assert math.isfinite(value) and 0.0 <= value <= 1.0
            if state.phase == "warmup" and "k_constants" not in source:  # (eta(D)/eta(D*) there)
                assert 0.1 - 1e-12 <= value <= 1.0
            state = m.update(state, x)
            seen = seen or math.isfinite(x)
            if seen:
                assert state.fstar is not None and math.isfinite(state.fstar)
            if state.delta_star is not None and state.phase == "warmup":
                assert state.delta_star < state.d0 or not math.isfinite(state.d0)
    assert AdaptiveState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_config_and_spec_accept_auto_and_refuse_other_words():
    cfg = AdaptiveConfig.from_spec("adaptive:target_loss=auto,fstar_margin=0.2", total_steps=50)
    assert cfg.is_auto and cfg.fstar_margin == 0.2
    assert AdaptiveConfig.from_spec(cfg.to_spec(), total_steps=50) == cfg
    assert AdaptiveConfig(total_steps=5, target_loss=1.0).is_auto is False
    # the estimator's options only count (on resume) when f* is estimated
    fixed = AdaptiveConfig(total_steps=5, target_loss=1.0)
    assert "fstar_margin" not in fixed.schedule_fields()
    assert "fstar_margin" in cfg.schedule_fields()
    # adaptive-auto is the default mode with f* at the floor; adaptive-estimate the v1 mode with
    # f* estimated (the mode called adaptive-auto before 2026-11-30)
    assert MODES["adaptive-auto"] == {
        **MODES["adaptive"],
        "target_loss": "auto",
        "fstar_rule": "floor",
    }
    assert MODES["adaptive-estimate"] == {
        **MODES["adaptive-v1"],
        "target_loss": "auto",
        "fstar_rule": "estimate",
    }


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target_loss": "Auto"}, ValueError, "target_loss must be a finite number or 'auto'"),
        ({"target_loss": "best"}, ValueError, r"or 'auto' \(f\* found by fstar_rule\); got 'best'"),
        ({"target_loss": "auto", "initial_gap": 2.0}, ValueError, "initial_gap .* cannot be"),
        ({"target_loss": "auto", "fstar_provisional_frac": 1.0}, ValueError, "fstar_provisional"),
        ({"target_loss": "auto", "fstar_provisional_frac": 0}, ValueError, "fstar_provisional"),
        ({"target_loss": "auto", "fstar_margin": math.nan}, ValueError, "fstar_margin"),
        ({"target_loss": "auto", "fstar_margin": "0.3"}, TypeError, "fstar_margin"),
    ],
)
def test_bad_auto_options_are_one_line_errors(kwargs, error, match):
    with pytest.raises(error, match=match) as err:
        AdaptiveConfig(total_steps=10, **kwargs)
    assert "\n" not in str(err.value)
