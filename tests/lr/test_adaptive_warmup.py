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
    # the ramp from the first loss (start_rate=0): LOSSES fall fast throughout, which the default
    # hold would answer by staying at 1/div until f* + D*
    base = dict(total_steps=50, target_loss=1.0, delta_star=1.0, div_factor=20.0, smoothing=0.5,
                start_rate=0.0)  # fmt: skip
    base.update(kw)
    return AdaptiveWarmup(opt, **base)


def test_matches_the_pure_machine_step_for_step():
    for start_rate in (0.0, None):  # the ramp from the first loss, and the default hold
        opt = sgd()
        sched = make(opt, start_rate=start_rate)
        got = [lr[0] for lr in drive(sched, opt, LOSSES)]
        m = AdaptiveWarmupSchedule(
            50, 1.0, delta_star=1.0, div_factor=20.0, smoothing=0.5, start_rate=start_rate
        )
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
    # one loss seen (gap D0 = 5): the next update runs at lr / div; the ignored calls changed nothing
    assert sched.last_multiplier == pytest.approx(1 / 20)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 20)


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


def test_a_step_without_a_loss_holds_the_lr_warns_once_and_loses_nothing():
    opt = sgd()
    sched = make(opt, smoothing=0.0, max_growth=None)  # a switch at f* + D* on the first try
    ref_opt = sgd()
    ref = make(ref_opt, smoothing=0.0, max_growth=None)
    drive(sched, opt, [6.0])
    drive(ref, ref_opt, [6.0])
    held = opt.param_groups[0]["lr"]
    opt.step()
    with pytest.warns(UserWarning, match=r"no loss during the warm-up.*observe\(loss\)"):
        sched.step()  # nothing observed: the LR is held, the update counts
    assert sched.last_epoch == 2 and opt.param_groups[0]["lr"] == held
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        opt.step()
        sched.step()
    # The observation made before the next step is not lost: it is that step's loss.
    sched.observe(4.0)
    opt.step()
    sched.step()
    assert sched.gap == 3.0 and sched.last_epoch == 4
    drive(sched, opt, [1.5])
    assert sched.phase == "decay"
    opt.step()
    sched.step()  # no loss needed after the switch
    sched.observe(9.0)  # accepted and ignored after the switch
    opt.step()
    sched.step()
    assert sched.last_epoch == 7


def test_observe_means_the_micro_batches_of_each_update():
    losses = [[6.0, 5.0], [4.5, 4.1, 3.9], [3.0], [2.6, 2.2]]
    opt_a, opt_b = sgd(), sgd()
    a, b = make(opt_a), make(opt_b)
    for micro in losses:
        for x in micro:
            a.observe(torch.tensor(x))
        opt_a.step()
        a.step()
        opt_b.step()
        b.step(sum(micro) / len(micro))
        assert opt_a.param_groups[0]["lr"] == pytest.approx(opt_b.param_groups[0]["lr"])
    assert a.smoothed_loss == pytest.approx(b.smoothed_loss)
    # step(loss) after observe(...) counts the step's loss as one more observation.
    opt = sgd()
    c = make(opt, smoothing=0.0)
    c.observe(7.0)
    opt.step()
    c.step(5.0)
    assert c.gap == pytest.approx(5.0)


def test_observations_wait_through_repeated_steps_and_survive_a_checkpoint():
    opt = sgd()
    sched = make(opt, smoothing=0.0)
    drive(sched, opt, [6.0])
    sched.observe(4.0)
    with pytest.warns(UserWarning, match="without an optimizer.step"):
        sched.step()  # accelerate-style repeat: ignored, the observation waits
    sd = sched.state_dict()
    assert sd["observed"] == [4.0, 1]
    opt2 = sgd()
    sched2 = make(opt2, smoothing=0.0)
    sched2.load_state_dict(sd)
    for s, o in ((sched, opt), (sched2, opt2)):
        s.observe(2.0)
        o.step()
        s.step()
        assert s.gap == pytest.approx(2.0)  # mean of 4 and 2, minus f* = 1


@pytest.mark.parametrize(
    ("loss", "error", "match"),
    [
        ("3.0", TypeError, "loss must be a real number or a scalar tensor; got '3.0'"),
        (True, TypeError, "loss must be a real number"),
        (torch.ones(2), ValueError, r"loss must be a scalar .* shape \(2,\)"),
    ],
)
def test_bad_losses_are_refused_before_any_change(loss, error, match):
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, [6.0])
    before = sched.state_dict()
    with pytest.raises(error, match=match):
        sched.observe(loss)
    opt.step()
    with pytest.raises(error, match=match):
        sched.step(loss)
    assert sched.state_dict() == before
    sched.step(5.0)  # the update is still there to be taken
    assert sched.last_epoch == 2


def test_sequential_lr_runs_adaptive_warmup_as_a_stage():
    from torch.optim.lr_scheduler import ConstantLR, SequentialLR

    opt, ref_opt = sgd(), sgd()
    ref = make(ref_opt, smoothing=0.0)
    adaptive = make(opt, smoothing=0.0)
    after = ConstantLR(opt, factor=0.5, total_iters=100)
    seq = SequentialLR(opt, [adaptive, after], milestones=[6])
    losses = [6.0, 5.0, 4.0, 3.5, 3.0, 2.8, 2.6, 2.5]
    got, want = [], []
    for k, loss in enumerate(losses):
        got.append(opt.param_groups[0]["lr"])
        want.append(ref_opt.param_groups[0]["lr"] if k < 6 else 0.1 * 0.5)
        adaptive.observe(loss)
        opt.step()
        seq.step()
        ref_opt.step()
        ref.step(loss)
    assert got == pytest.approx(want)
    assert got[0] == pytest.approx(0.1 / 20) and got[5] > got[1]
    # As the second stage it starts at lr / div on the milestone and then follows the loss.
    from torch.optim.lr_scheduler import LinearLR

    opt = sgd()
    first = LinearLR(opt, start_factor=0.5, total_iters=3)
    adaptive = make(opt, smoothing=0.0)
    seq = SequentialLR(opt, [first, adaptive], milestones=[3])
    lrs = []
    for loss in [9.0, 9.0, 9.0, 6.0, 4.0, 3.0]:
        lrs.append(opt.param_groups[0]["lr"])
        adaptive.observe(loss)  # losses of stage 1 are dropped when the stage starts
        opt.step()
        seq.step()
    assert lrs[0] == pytest.approx(0.05) and lrs[3] == pytest.approx(0.1 / 20)
    assert adaptive.initial_gap == 5.0 and adaptive.last_epoch == 3
    assert lrs[4] < lrs[5]


def test_chained_scheduler_is_refused_with_a_clear_error():
    from torch.optim.lr_scheduler import ChainedScheduler, ExponentialLR

    opt = sgd()
    adaptive = make(opt)
    chain = ChainedScheduler([ExponentialLR(opt, gamma=0.9), adaptive])
    adaptive.observe(6.0)
    opt.step()
    before = adaptive.state_dict()
    with pytest.raises(TypeError, match="cannot run inside torch's ChainedScheduler"):
        chain.step()
    assert adaptive.state_dict() == before


def test_a_warmup_still_running_at_half_the_run_warns_once():
    # Only without a latest switch (warmup_max_frac=None, the paper's rule) can a warm-up run on.
    opt = sgd()
    sched = make(opt, warmup_max_frac=None, total_steps=10, smoothing=0.0)
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
    sched = make(opt, warmup_max_frac=None, total_steps=10, smoothing=0.0, ramp="paper")
    with pytest.warns(UserWarning, match="use ramp=linear or a smaller div_factor"):
        drive(sched, opt, [6.0] * 5)
    opt = sgd()
    sched = make(opt, warmup_max_frac=None, total_steps=4, smoothing=0.0)
    with pytest.warns(UserWarning, match="no finite loss observed"):
        drive(sched, opt, [float("nan")] * 2)
    # sync_every > 1: the phase is judged after the pending losses are read, so a warm-up that
    # ended (loss 1.5 <= f* + D* = 2 at update 4) does not warn at update 5 on a stale phase.
    opt = sgd()
    sched = make(opt, warmup_max_frac=None, total_steps=10, smoothing=0.0, sync_every=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drive(sched, opt, [6.0, 5.0, 4.0, 1.5] + [1.4] * 6)
        assert sched.phase == "decay"
        opt = sgd()
        drive(
            make(opt, warmup_max_frac=None, total_steps=3, smoothing=0.0), opt, [6.0] * 3
        )  # too short to warn


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


def test_torch_muon_plus_adamw_takes_kappa_from_the_muon_parameters_only():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(50, 8)
    hidden = torch.nn.Sequential(torch.nn.Linear(8, 16, bias=False), torch.nn.Linear(16, 8))
    head = torch.nn.Linear(8, 50, bias=False)
    matrices = [p for p in hidden.parameters() if p.ndim == 2]
    rest = [emb.weight, head.weight, hidden[1].bias]
    muon = torch.optim.Muon(matrices, lr=0.02)
    adamw = torch.optim.AdamW(rest, lr=3e-3)
    for opts in ([muon, adamw], [adamw, muon]):
        sched = AdaptiveWarmup(opts, total_steps=100, target_loss=1.0)
        assert sched.norm == "spectral"
        # kappa = sum of min(m, n) over Muon's matrices (8 + 8); the embedding and head matrices
        # that AdamW updates are outside the norm-constrained set.
        assert sched.schedule.kappa == kappa("spectral", [(16, 8), (8, 16)]) == 16.0
    # It drives both optimizers, each group from its own base LR.
    x = torch.randint(0, 50, (32,))
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(head(hidden(emb(x))), x)
        loss.backward()
        sched.observe(loss)
        muon.step()
        adamw.step()
        muon.zero_grad()
        adamw.zero_grad()
        sched.step()
        m = sched.last_multiplier
        assert muon.param_groups[0]["lr"] == pytest.approx(0.02 * m)
        assert adamw.param_groups[0]["lr"] == pytest.approx(3e-3 * m)
    # An explicit norm still counts every matrix (the old advice); SGD beside Muon is a fallback.
    s = AdaptiveWarmup([muon, adamw], total_steps=100, target_loss=1.0, norm="spectral")
    assert s.schedule.kappa == kappa("spectral", [(16, 8), (8, 16), (50, 8), (50, 8)])
    plain = torch.optim.SGD([hidden[1].bias], lr=0.1)
    assert AdaptiveWarmup([muon, plain], total_steps=10, target_loss=1.0).schedule.kappa == 16.0


def test_config_object_or_keywords_build_the_same_scheduler():
    from autowarm.adaptive import AdaptiveConfig

    cfg = AdaptiveConfig(
        total_steps=50, target_loss=1.0, delta_star=1.0, div_factor=20.0, start_rate=0.0
    )
    opt_a, opt_b = sgd(), sgd()
    a = AdaptiveWarmup(opt_a, cfg, smoothing=0.5)  # keywords override the config's fields
    b = make(opt_b)
    assert a.schedule == b.schedule and a.config == cfg.replace(smoothing=0.5)
    assert drive(a, opt_a, LOSSES) == drive(b, opt_b, LOSSES)
    with pytest.raises(TypeError, match=r"unknown option.*bogus"):
        AdaptiveWarmup(sgd(), cfg, bogus=1)
    with pytest.raises(TypeError, match="needs total_steps"):
        AdaptiveWarmup(sgd(), target_loss=1.0, delta_star=1.0)


def test_a_state_dict_in_the_earlier_format_still_loads():
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, LOSSES[:5])
    new = sched.state_dict()
    machine = {k: new["machine"][k] for k in (
        "step", "observed", "nonfinite", "ema", "ema_weight", "loss", "gap", "d0", "delta_star",
        "phase", "below", "multiplier", "warmup_end_step",
    )}  # fmt: skip
    old = {
        "last_epoch": new["last_epoch"],
        "base_lrs": new["base_lrs"],
        "machine": machine,
        "pending": [],
        "ramp": "linear",
    }
    rest = LOSSES[5:] + [1.4] * 5
    want = [x[0] for x in drive(sched, opt, rest)]
    opt2 = sgd()
    sched2 = make(opt2)
    sched2.load_state_dict(old)
    assert [x[0] for x in drive(sched2, opt2, rest)] == want


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"total_steps": 60}, "saved with total_steps=50 and this scheduler has total_steps=60"),
        ({"target_loss": 1.2}, "saved with target_loss=1.0 .* target_loss=1.2"),
        ({"div_factor": 10.0}, r"div_factor=20.0 .* construct AdaptiveWarmup\(\.\.\., div_f"),
        ({"delta_star": 0.8}, "delta_star=1.0"),
        ({"smoothing": 0.0}, "smoothing=0.5"),
        ({"decay": "linear"}, "decay='cosine'"),
    ],
)
def test_resume_refuses_another_schedule_up_front_naming_the_field(change, match):
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, LOSSES[:4])
    state = sched.state_dict()
    other_opt = sgd()
    other = make(other_opt, **change)
    before = (other.state_dict(), other_opt.param_groups[0]["lr"])
    with pytest.raises(ValueError, match=match):
        other.load_state_dict(state)
    assert (other.state_dict(), other_opt.param_groups[0]["lr"]) == before  # nothing loaded
    resumed = make(sgd(), sync_every=2)  # how losses are read may change on resume
    resumed.load_state_dict(state)
    assert resumed.last_multiplier == sched.last_multiplier


def test_resume_refuses_another_number_of_param_groups():
    opt = sgd()
    sched = make(opt)
    drive(sched, opt, LOSSES[:3])
    state = sched.state_dict()
    with pytest.raises(ValueError, match=r"saved with 1 param group\(s\) .* have 2"):
        make(sgd(lrs=(0.1, 0.01), shapes=((4, 3), (3,)))).load_state_dict(state)
    legacy = {k: x for k, x in state.items() if k not in ("config", "observed")}
    with pytest.raises(ValueError, match="param group"):
        make(sgd(lrs=(0.1, 0.01), shapes=((4, 3), (3,)))).load_state_dict(legacy)
