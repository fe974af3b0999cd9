"""delta_star_frac: D* as a fixed fraction of the initial gap, instead of the kappa fit.

Under f* = 0 (target_loss="auto", the floor) the gap is the loss itself, and the paper's kappa
fit puts the peak loss where its norm constant says (AdamW near a third of the first loss, Muon
near a tenth). delta_star_frac gives every optimizer the same peak loss: D* = frac x D0.
"""

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm import AdaptiveWarmup
from autowarm.adaptive import MODES, AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule


def machine(**kw):
    base = dict(
        total_steps=40,
        target_loss=0.0,
        delta_star_frac=0.25,
        div_factor=10.0,
        smoothing=0.0,
        outlier_filter=False,
        guard=False,
        start_rate=0.0,
        warmup_max_frac=None,
        max_growth=None,
    )
    base.update(kw)
    return AdaptiveWarmupSchedule(**base)


def test_value_table_of_the_linear_ramp_to_a_quarter_of_the_first_gap():
    # f* = 0, D0 = 4, D* = 1: m(D) = 0.1 + 0.9 (4 - D) / 3, the peak at a loss of 1
    out = machine().simulate([4.0, 3.0, 2.5, 1.0, 0.9])
    state = AdaptiveState.from_dict(out["state"])
    assert state.d0 == 4.0 and state.delta_star == 1.0
    assert out["multiplier"][:4] == pytest.approx([0.1, 0.1, 0.4, 0.55])
    assert state.warmup_end_step == 4  # the switch at f* + D* = 1.0 (observed after update 3)


def test_it_is_the_same_schedule_as_the_d_star_it_stands_for():
    losses = [5.0 - 0.12 * k for k in range(30)] + [1.4] * 10
    frac = machine(delta_star_frac=0.3).simulate(losses)
    given_ds = machine(delta_star_frac=None, delta_star=0.3 * 5.0).simulate(losses)
    assert frac["multiplier"] == given_ds["multiplier"]


@settings(max_examples=60, deadline=None)
@given(
    first=st.floats(0.5, 20.0),
    frac=st.floats(0.01, 0.99),
    fstar=st.floats(-5.0, 0.4),
)
def test_d_star_is_the_fraction_of_the_first_gap_for_any_first_loss_and_target(first, frac, fstar):
    m = machine(delta_star_frac=frac, target_loss=fstar)
    state = AdaptiveState.from_dict(m.update(m.init(), first))
    assert state.d0 == pytest.approx(first - fstar)
    assert state.delta_star == pytest.approx(frac * (first - fstar))
    assert 0.0 < state.delta_star < state.d0


def test_with_auto_it_follows_the_floor_and_ignores_kappa():
    m = AdaptiveWarmupSchedule(
        total_steps=600, target_loss="auto", delta_star_frac=1 / 3, kappa=5.0, div_factor=100.0
    )
    state = AdaptiveState.from_dict(m.update(m.init(), 5.55))
    assert state.fstar == 0.0
    assert state.delta_star == pytest.approx(5.55 / 3)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5, math.nan, math.inf])
def test_bad_fraction_is_one_line(bad):
    with pytest.raises(ValueError, match="delta_star_frac") as err:
        AdaptiveConfig(total_steps=10, target_loss=0.0, delta_star_frac=bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "other", [{"delta_star": 1.0}, {"k_constants": (1.0, 0.0, 1.0)}], ids=["delta_star", "k"]
)
def test_two_sources_of_d_star_are_refused(other):
    with pytest.raises(ValueError, match="both set D\\*; give one of them"):
        AdaptiveConfig(total_steps=10, target_loss=0.0, delta_star_frac=0.3, **other)


def test_spec_round_trip_and_the_bench_mode():
    cfg = AdaptiveConfig(total_steps=100, target_loss="auto", delta_star_frac=0.25)
    assert "delta_star_frac=0.25" in cfg.to_spec()
    assert AdaptiveConfig.from_spec(cfg.to_spec(), total_steps=100) == cfg
    mode = MODES["adaptive-auto-third"]
    assert mode == {**MODES["adaptive-auto"], "delta_star_frac": 1.0 / 3.0}
    # the modes stored before the option existed have no key for it (their specs are unchanged)
    assert all("delta_star_frac" not in MODES[k] for k in MODES if k != "adaptive-auto-third")


def test_a_config_without_the_option_compares_equal_to_one_saved_before_it():
    cfg = AdaptiveConfig(total_steps=100, target_loss=0.0, kappa=2.0)
    saved = {k: v for k, v in cfg.to_dict().items() if k != "delta_star_frac"}
    assert AdaptiveConfig.from_dict(saved).schedule_fields() == cfg.schedule_fields()
    assert "delta_star_frac" not in cfg.schedule_fields()
    with_frac = AdaptiveConfig(total_steps=100, target_loss=0.0, delta_star_frac=0.3, kappa=2.0)
    assert with_frac.schedule_fields()["delta_star_frac"] == 0.3
    assert "kappa" not in with_frac.schedule_fields()  # unused: a resume may change it


def test_the_torch_adapter_uses_the_fraction_without_inferring_a_norm():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 4)
    # SGD has no norm to infer from: without a D* source the adapter would refuse it
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = AdaptiveWarmup(
        opt, total_steps=50, target_loss="auto", delta_star_frac=0.4, div_factor=10.0
    )
    assert sched.norm is None and sched.schedule.kappa is None
    x = torch.randn(32, 4)
    for _ in range(5):
        opt.zero_grad()
        loss = (model(x) - x).pow(2).mean() + 1.0
        loss.backward()
        opt.step()
        sched.step(loss)
    assert sched.initial_gap > 1.0  # the loss is above 1, f* = 0
    assert sched.delta_star == pytest.approx(0.4 * sched.initial_gap)


def test_simulate_takes_the_fraction_as_its_source_of_d_star(tmp_path, capsys):
    from autowarm.cli import main

    losses = [6.0 * 0.97**k + 1.0 for k in range(200)]
    f = tmp_path / "loss.csv"
    f.write_text("step,loss\n" + "".join(f"{k},{x}\n" for k, x in enumerate(losses)))
    args = ["simulate", "--losses", str(f), "--target-loss", "auto", "--json"]
    assert main([*args, "--delta-star-frac", "0.25"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["delta_star"] == pytest.approx(0.25 * 7.0)  # f* = 0, D0 = the first loss, 7
    ref = AdaptiveWarmupSchedule(200, "auto", delta_star_frac=0.25).simulate(losses)
    assert out["multiplier"] == pytest.approx(ref["multiplier"])
    assert main([*args, "--delta-star-frac", "1.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "delta_star_frac" in err[0]
