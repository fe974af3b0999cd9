"""AdaptiveWarmup with target_loss="auto": exact resume, the f* in force, surfaced warnings."""

import io
import warnings

import pytest
import torch

from autowarm import AdaptiveWarmup
from autowarm.adaptive import AdaptiveWarmupSchedule


def sgd():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(8, 4))], lr=0.5)


# The online estimator (fstar_rule="estimate") with the rules it was designed with.
V1 = dict(fstar_rule="estimate", warmup_max_frac=None, max_growth=None, spike_rule="outlier")


def make(opt, **kw):
    base = dict(total_steps=200, target_loss="auto", kappa=3e4, div_factor=100.0, **V1)
    base.update(kw)
    return AdaptiveWarmup(opt, **base)


def drive(sched, opt, steps, area=0.0):
    """Closed loop on the law 1 + 4 (1 + P)^-0.5 of the LR area P the scheduler sets."""
    lrs = []
    for _ in range(steps):
        lr = opt.param_groups[0]["lr"]
        lrs.append(lr)
        area += lr / 0.5
        opt.step()
        sched.step(1.0 + 4.0 * (1.0 + area) ** -0.5)
    return lrs, area


def test_matches_the_machine_and_exposes_the_f_star_in_force():
    opt = sgd()
    sched = make(opt)
    assert sched.target_loss is None and sched.schedule.is_auto
    lrs, _ = drive(sched, opt, 200)
    m = AdaptiveWarmupSchedule(
        total_steps=200, target_loss="auto", kappa=3e4, div_factor=100.0, **V1
    ).initial_state()
    machine = sched.schedule
    area, want = 0.0, []
    for _ in range(200):
        want.append(0.5 * machine.value(m))
        area += machine.value(m)
        m = machine.update(m, 1.0 + 4.0 * (1.0 + area) ** -0.5)
    assert lrs == pytest.approx(want, abs=1e-15)
    assert sched.phase == "decay" and sched.warmup_end_step == m.warmup_end_step
    assert sched.target_loss == m.fstar < 0.4 * 4.98
    # (the estimate is frozen at the switch: later losses feed only the guard)
    assert sched.state_dict()["machine"]["estimator"] == m.estimator
    assert sched.initial_gap + sched.target_loss == pytest.approx(1.0 + 4.0 * 1.01**-0.5)
    assert 0 < sched.delta_star < sched.initial_gap


@pytest.mark.parametrize("k", [1, 20, 45, 150])
def test_resume_through_torch_save_is_exact(k):
    opt = sgd()
    full, _ = drive(make(opt), opt, 200)
    opt = sgd()
    sched = make(opt)
    first, area = drive(sched, opt, k)
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    opt2 = sgd()
    sched2 = make(opt2)
    sched2.load_state_dict(sd)
    rest, _ = drive(sched2, opt2, 200 - k, area)
    assert first + rest == full
    assert sched2.state_dict() == make_and_run_state(200)


def make_and_run_state(steps):
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, steps)
    return sched.state_dict()


def test_resume_refuses_another_margin_only_under_auto():
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, 5)
    with pytest.raises(ValueError, match=r"saved with fstar_margin=0.3 .* fstar_margin=0.5"):
        make(sgd(), fstar_margin=0.5).load_state_dict(sched.state_dict())
    fixed = AdaptiveWarmup(sgd(), total_steps=200, target_loss=1.5, kappa=3e4)
    state = fixed.state_dict()
    other = AdaptiveWarmup(sgd(), total_steps=200, target_loss=1.5, kappa=3e4, fstar_margin=0.5)
    other.load_state_dict(state)  # a fixed f*: the estimator's options do not matter
    with pytest.raises(ValueError, match=r"saved with target_loss=1.5 .* target_loss='auto'"):
        make(sgd()).load_state_dict(state)


def test_the_estimators_warning_is_surfaced_once_at_the_callers_line(monkeypatch):
    import autowarm.theory.fstar as fstar_mod

    def bad(*_args):
        raise ValueError("singular")

    monkeypatch.setattr(fstar_mod, "_predict", bad)
    opt = sgd()
    sched = make(opt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(sched, opt, 60)
    ours = [w for w in caught if "f* fit failed" in str(w.message)]
    assert len(ours) == 1 and len(caught) == 1, [str(w.message) for w in caught]
    assert str(ours[0].message).startswith("AdaptiveWarmup: target_loss='auto' at update")
    assert ours[0].filename == __file__ and ours[0].category is RuntimeWarning
    assert sched.target_loss == pytest.approx(0.4 * (1.0 + 4.0 * 1.01**-0.5))  # provisional


def test_norm_inference_and_sync_every_work_with_auto():
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Linear(32, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = AdaptiveWarmup(opt, total_steps=100, target_loss="auto", sync_every=4, **V1)
    assert sched.norm == "sign" and sched.schedule.kappa > 0
    for k in range(12):
        opt.step()
        sched.step(torch.tensor(5.0 - 0.1 * k))
    assert sched.target_loss == pytest.approx(2.0)  # 0.4 x the first loss, read in a batch
    assert sched.state_dict()["machine"]["estimator"]["step"] == 12


def test_a_warmup_still_running_at_half_the_run_says_how_to_fix_auto():
    opt = sgd()
    sched = make(opt, total_steps=20, delta_star=0.1, kappa=None)
    with pytest.warns(UserWarning, match=r"pass a number for target_loss .* below 0.4 x its first"):
        for _ in range(10):
            opt.step()
            sched.step(4.0)  # a loss that never falls: the warm-up cannot end
    assert sched.phase == "warmup" and sched.target_loss == pytest.approx(1.6)
