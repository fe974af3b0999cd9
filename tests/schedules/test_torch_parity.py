"""Parity with torch.optim.lr_scheduler wherever the parameterisations coincide.

Each torch scheduler is run for real on a dummy optimizer (base LR 1, or ``max_lr`` for the 1cycle
and cyclic schedulers), recording the LR each optimizer update would use.
"""

import pytest
import torch
from torch.optim import lr_scheduler as L

from autowarm import schedules as S


def torch_lrs(make, n, lr=1.0):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def ours(s, n):
    return [s(k) for k in range(n)]


ONECYCLE_CASES = [
    (anneal, three, total, pct)
    for anneal in ("cos", "linear")
    for three in (False, True)
    for total, pct in ((100, 0.3), (37, 0.25), (1000, 0.05), (10, 0.55))
    if not (three and pct > 0.5)  # three phases need pct_start <= 0.5
]


@pytest.mark.parametrize(("anneal", "three_phase", "total", "pct"), ONECYCLE_CASES)
def test_onecycle_matches_torch(anneal, three_phase, total, pct):
    want = torch_lrs(
        lambda o: L.OneCycleLR(
            o,
            max_lr=1.0,
            total_steps=total,
            pct_start=pct,
            anneal_strategy=anneal,
            three_phase=three_phase,
            div_factor=25.0,
            final_div_factor=1e4,
            cycle_momentum=False,
        ),
        total,
    )
    got = ours(S.onecycle(total, pct, 25.0, 1e4, anneal, three_phase), total)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("total", "warmup"), [(100, 30), (64, 2), (500, 25), (12, 6)])
def test_warmup_cosine_with_cosine_ramp_is_onecycle(total, warmup):
    want = torch_lrs(
        lambda o: L.OneCycleLR(
            o,
            max_lr=1.0,
            total_steps=total,
            pct_start=warmup / total,
            div_factor=100.0,
            final_div_factor=1e4,
            cycle_momentum=False,
        ),
        total,
    )
    got = ours(S.warmup_cosine(total, warmup, 100.0, 1e4, warmup="cosine"), total)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("n", "eta_min"), [(10, 0.0), (57, 0.1)])
def test_cosine_annealing_lr(n, eta_min):
    # CosineAnnealingLR runs update 0 at the peak and reaches eta_min at update T_max: a 1-step
    # hold then our end-inclusive cosine decay of T_max steps.
    want = torch_lrs(lambda o: L.CosineAnnealingLR(o, T_max=n, eta_min=eta_min), n + 1)
    got = ours(S.sequence((1, S.Constant(1.0)), (None, S.decay_ramp(n, "cosine", eta_min))), n + 1)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("start", "end", "n"), [(0.1, 1.0, 5), (1.0, 0.25, 8), (0.5, 0.5, 3)])
def test_linear_lr(start, end, n):
    want = torch_lrs(
        lambda o: L.LinearLR(o, start_factor=start, end_factor=end, total_iters=n), n + 3
    )
    got = ours(S.sequence((1, S.Constant(start)), (None, S.Ramp(n, start, end))), n + 3)
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("n", "power"), [(10, 1.0), (25, 2.0), (7, 0.5)])
def test_polynomial_lr(n, power):
    want = torch_lrs(lambda o: L.PolynomialLR(o, total_iters=n, power=power), n + 2)
    piece = S.Ramp(n, 1.0, 0.0, "polynomial", power)
    got = ours(S.sequence((1, S.Constant(1.0)), (None, piece)), n + 2)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize(("up", "down"), [(4, None), (3, 7)])
def test_cyclic_lr(mode, up, down):
    gamma = 0.97 if mode == "exp_range" else 1.0
    want = torch_lrs(
        lambda o: L.CyclicLR(
            o,
            base_lr=0.1,
            max_lr=1.0,
            step_size_up=up,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
            cycle_momentum=False,
        ),
        40,
    )
    got = ours(S.Cyclic(0.1, up, down, mode, gamma), 40)
    assert got == pytest.approx(want, rel=1e-12)


def test_warmup_decay_matches_lambda_lr_driving():
    # Our FixedSchedule and torch's LambdaLR agree on which multiplier each update gets.
    from autowarm.lr import FixedSchedule

    s = S.wsd(30, 5, 0.3)
    want = torch_lrs(lambda o: L.LambdaLR(o, s), 30)
    got = torch_lrs(lambda o: FixedSchedule(o, s), 30)
    assert got == want == ours(s, 30)
