"""AdaptiveWarmup as a torch LRScheduler: LR writes, counting, groups, resume, tensors, errors."""

import io
import math
import warnings

import pytest
import torch

from autowarm import AdaptiveWarmup
from autowarm.schedules import AdaptiveWarmupSchedule, kappa


def sgd(lrs=(0.1,), shapes=((4, 3),)):
    params = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    return torch.optim.SGD(groups)


def drive(sched, opt, losses):
    lrs = []
    for loss in losses:
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step(loss)
    return lrs


LOSSES = [6.0, 5.0, 4.2, 3.9, 3.1, 2.8, 2.2, 2.1, 1.9, 1.7, 1.6, 1.5]


def make(opt, **kw):
    base = dict(total_steps=50, target_loss=1.0, delta_star=1.0, div_factor=20.0, smoothing=0.5)
    base.update(kw)
    return AdaptiveWarmup(opt, **base)


def test_matches_the_pure_machine_step_for_step():
    opt = sgd()
    sched = make(opt)
    got = [lr[0] for lr in drive(sched, opt, LOSSES)]
    m = AdaptiveWarmupSchedule(50, 1.0, delta_star=1.0, div_factor=20.0, smoothing=0.5)
    want = [0.1 * x for x in m.simulate(LOSSES)["multiplier"]]
    assert got == pytest.approx(want, rel=1e-12)
    assert got[0] == pytest.approx(0.1 / 20)
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    assert sched.get_lr() == pytest.approx([opt.param_groups[0]["lr"]])


def test_group_ratios_are_kept_and_several_optimizers_share_one_scheduler():
    opt_a = sgd(lrs=(0.02, 0.002), shapes=((4, 4), (4,)))
    opt_b = sgd(lrs=(3e-4,))
    sched = make([opt_a, opt_b])
    for loss in LOSSES[:6]:
        opt_a.step()
        opt_b.step()
        sched.step(loss)
        m = sched.last_multiplier
        assert opt_a.param_groups[0]["lr"] == pytest.approx(0.02 * m)
        assert opt_a.param_groups[1]["lr"] == pytest.approx(0.002 * m)
        assert opt_b.param_groups[0]["lr"] == pytest.approx(3e-4 * m)


def test_each_optimizer_step_counts_once():
    opt = sgd()
    sched = make(opt)
    opt.step()
    sched.step(6.0)
    with pytest.warns(UserWarning, match="without an optimizer.step"):
        sched.step(6.0)  # accelerate-style repeated call: ignored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step(6.0)  # warned once only
    assert sched.last_epoch == 1
    assert sched.schedule.value(sched._state) == sched.last_multiplier


def test_skipped_optimizer_step_is_not_counted():
    # GradScaler skips optimizer.step() on inf gradients; the scheduler must not advance.
    opt = sgd()
    sched = make(opt)
    with pytest.warns(UserWarning):
        sched.step(6.0)
    assert sched.last_epoch == 0 and sched.gap is None


def test_inspection_attributes():
    opt = sgd()
    sched = make(opt)
    assert sched.phase == "warmup" and sched.gap is None and sched.warmup_end_step is None
    drive(sched, opt, LOSSES)
    assert sched.phase == "decay"
    assert sched.delta_star == 1.0 and sched.initial_gap == 5.0
    assert sched.warmup_end_step is not None and 0 < sched.warmup_end_step <= len(LOSSES)
    assert sched.smoothed_loss < 3.0 and sched.gap == pytest.approx(sched.smoothed_loss - 1.0)
    k0, k1, k2 = sched.constants()
    assert 1.0 / (k0 + k1 + k2) == pytest.approx(0.1)  # eta(D*) = base lr


def test_tensor_losses_and_sync_every():
    losses = [torch.tensor(x) for x in LOSSES]
    opt1, opt4 = sgd(), sgd()
    s1, s4 = make(opt1), make(opt4, sync_every=4)
    lr1 = [x[0] for x in drive(s1, opt1, losses)]
    lr4 = [x[0] for x in drive(s4, opt4, losses)]
    # With sync_every=4 the losses are read in batches of 4: the LR changes only on updates
    # 4, 8, ... and then equals the every-step LR, which has seen the same losses.
    assert lr4[:4] == [lr4[0]] * 4
    assert lr4[4] == pytest.approx(lr1[4]) and lr4[4:8] == [lr4[4]] * 4
    assert lr4[8] == pytest.approx(lr1[8])


def test_state_dict_is_plain_and_resume_is_exact():
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, LOSSES[:5])
    buf = io.BytesIO()
    torch.save(sched.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    # Uninterrupted continuation vs. a fresh scheduler restored from the checkpoint.
    rest = LOSSES[5:] + [1.4] * 10
    want = [x[0] for x in drive(sched, opt, rest)]
    opt2 = sgd()
    sched2 = make(opt2)
    sched2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == pytest.approx(want[0])
    got = [x[0] for x in drive(sched2, opt2, rest)]
    assert got == want


def test_load_state_dict_rejects_foreign_state():
    sched = make(sgd())
    with pytest.raises(ValueError, match="not an AdaptiveWarmup state_dict"):
        sched.load_state_dict({"last_epoch": 3, "base_lrs": [0.1]})


def test_nan_and_inf_losses_hold_the_lr():
    opt = sgd()
    sched = make(opt, smoothing=0.0)
    lrs = drive(sched, opt, [6.0, 4.0, float("nan"), float("inf"), 3.5])
    assert lrs[2] == lrs[3] == lrs[4]
    assert sched.nonfinite_count == 2
    assert all(math.isfinite(g["lr"]) for g in opt.param_groups)


def test_loss_is_required_during_warmup_only():
    opt = sgd()
    sched = make(opt, smoothing=0.0)
    opt.step()
    with pytest.raises(TypeError, match="needs the loss"):
        sched.step()
    drive(sched, opt, [6.0, 1.5])
    assert sched.phase == "decay"
    opt.step()
    sched.step()  # no loss needed after the switch


def test_a_warmup_still_running_at_half_the_run_warns_once():
    opt = sgd()
    sched = make(opt, total_steps=10, smoothing=0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drive(sched, opt, [6.0] * 4)
        assert not caught
        drive(sched, opt, [6.0])  # update 5 of 10, the loss never fell
        drive(sched, opt, [6.0] * 5)
    assert len(caught) == 1
    msg = str(caught[0].message)
    assert "still in its warm-up after 5 of 10 updates" in msg and "f* + D* = 2," in msg
    assert "a smaller div_factor" in msg and "ramp=linear" not in msg  # already the linear ramp
    opt = sgd()
    sched = make(opt, total_steps=10, smoothing=0.0, ramp="paper")
    with pytest.warns(UserWarning, match="use ramp=linear or a smaller div_factor"):
        drive(sched, opt, [6.0] * 5)
    opt = sgd()
    sched = make(opt, total_steps=4, smoothing=0.0)
    with pytest.warns(UserWarning, match="no finite loss observed"):
        drive(sched, opt, [float("nan")] * 2)
    # sync_every > 1: the phase is judged after the pending losses are read, so a warm-up that
    # ended (loss 1.5 <= f* + D* = 2 at update 4) does not warn at update 5 on a stale phase.
    opt = sgd()
    sched = make(opt, total_steps=10, smoothing=0.0, sync_every=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drive(sched, opt, [6.0, 5.0, 4.0, 1.5] + [1.4] * 6)
        assert sched.phase == "decay"
        opt = sgd()
        drive(make(opt, total_steps=3, smoothing=0.0), opt, [6.0] * 3)  # too short to warn


def test_resume_refuses_a_state_saved_with_another_ramp():
    opt = sgd()
    sched = make(opt, ramp="paper")
    drive(sched, opt, LOSSES[:3])
    state = sched.state_dict()
    assert state["ramp"] == "paper"
    with pytest.raises(ValueError, match=r"saved with ramp='paper'.*ramp='linear'"):
        make(sgd()).load_state_dict(state)
    legacy = {k: v for k, v in state.items() if k != "ramp"}  # saved before the option existed
    with pytest.raises(ValueError, match="saved with ramp='paper'"):
        make(sgd()).load_state_dict(legacy)
    resumed = make(sgd(), ramp="paper")
    resumed.load_state_dict(legacy)
    assert resumed.last_multiplier == sched.last_multiplier
    opt = sgd()
    sched = make(opt, total_steps=10, smoothing=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warm-up that ended early does not warn
        drive(sched, opt, [6.0, 1.5] + [1.4] * 8)
    assert sched.phase == "decay"


def test_tensor_learning_rates_are_filled_in_place():
    p = torch.nn.Parameter(torch.zeros(3, 3))
    lr = torch.tensor(0.01)
    opt = torch.optim.Adam([p], lr=lr)
    sched = make(opt)
    assert opt.param_groups[0]["lr"] is lr  # same tensor object, value updated
    assert float(lr) == pytest.approx(0.01 / 20)
    drive(sched, opt, LOSSES[:3])
    assert opt.param_groups[0]["lr"] is lr


def test_norm_inference_from_group_tags_and_types():
    # Groups tagged by autowarm.optim.build: the spectral groups' matrices define kappa.
    w1 = torch.nn.Parameter(torch.zeros(8, 4))
    w2 = torch.nn.Parameter(torch.zeros(6, 8))
    emb = torch.nn.Parameter(torch.zeros(100, 4))
    bias = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.SGD(
        [
            {"params": [w1, w2], "norm": "spectral"},
            {"params": [emb, bias], "norm": None},
        ],
        lr=0.1,
    )
    sched = AdaptiveWarmup(opt, total_steps=100, target_loss=1.0)
    assert sched.norm == "spectral"
    assert sched.schedule.kappa == kappa("spectral", [(8, 4), (6, 8)])
    # torch Muon -> spectral; AdamW -> sign (Adam's update is sign-like); others need help.
    if hasattr(torch.optim, "Muon"):
        muon = torch.optim.Muon([torch.nn.Parameter(torch.zeros(5, 3))], lr=0.01)
        assert AdaptiveWarmup(muon, total_steps=10, target_loss=1.0).norm == "spectral"
    adamw = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(5, 3))], lr=0.01)
    s = AdaptiveWarmup(adamw, total_steps=10, target_loss=1.0)
    assert s.norm == "sign" and s.schedule.kappa == 15.0
    with pytest.raises(ValueError, match="cannot infer the update norm of SGD"):
        AdaptiveWarmup(sgd(), total_steps=10, target_loss=1.0)
    conv = torch.optim.SGD([torch.nn.Parameter(torch.zeros(4, 3, 2, 2))], lr=0.1)
    s = AdaptiveWarmup(conv, total_steps=10, target_loss=1.0, norm="frobenius")
    assert s.schedule.kappa == 1.0
    mixed = torch.optim.SGD(
        [{"params": [w1], "norm": "spectral"}, {"params": [w2], "norm": "sign"}], lr=0.1
    )
    with pytest.raises(ValueError, match="several norms"):
        AdaptiveWarmup(mixed, total_steps=10, target_loss=1.0)
    vec = torch.optim.SGD([torch.nn.Parameter(torch.zeros(4))], lr=0.1)
    with pytest.raises(ValueError, match="no matrix parameters"):
        AdaptiveWarmup(vec, total_steps=10, target_loss=1.0, norm="sign")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sync_every": 0}, ValueError, "sync_every must be"),
        ({"sync_every": 1.5}, TypeError, "sync_every must be"),
        ({"last_epoch": 3}, ValueError, "load_state_dict"),
        ({"div_factor": 0.5}, ValueError, "div_factor"),
        ({"total_steps": -1}, ValueError, "total_steps"),
        ({"norm": "l7", "delta_star": None}, ValueError, "norm must be one of"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make(sgd(), **kwargs)


def test_rejects_non_optimizers():
    with pytest.raises(TypeError, match="Optimizer"):
        AdaptiveWarmup([object()], total_steps=10, target_loss=0.0, delta_star=1.0)
    with pytest.raises(ValueError, match="non-empty"):
        AdaptiveWarmup([], total_steps=10, target_loss=0.0, delta_star=1.0)
