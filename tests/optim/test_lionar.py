"""LionAR: the torch.optim contract, fixed weight norms, angle control, momentum changes, errors."""

from __future__ import annotations

import copy
import io
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from autowarm.optim import Lion, build
from autowarm.optim.lionar import LionAR, equilibrium_angle, lion_betas, lionar_update


def _row_norms(t: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(t.detach().reshape(t.shape[0], -1), dim=1)


def _angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = a.reshape(a.shape[0], -1).double(), b.reshape(b.shape[0], -1).double()
    cos = (a * b).sum(1) / (_row_norms(a) * _row_norms(b))
    return torch.arccos(cos.clamp(-1, 1))


# --- the generic contract (the same checks as tests/optim/test_contract.py) ------------------


@pytest.mark.parametrize(("lr", "wd"), [(2e-2, 0.0), (1.0, 0.1)])
def test_loss_decreases(lr, wd, fresh, train):
    # wd = 0: no rotational tensors (plain Lion steps); wd = 0.1: matrices rotate.
    model = fresh()
    losses = train(model, build("lionar", model, lr=lr, weight_decay=wd), 40)
    assert losses[-1] < 0.5 * losses[0]


def test_state_dict_round_trip_continues_identically(fresh, train):
    model = fresh()
    opt = build("lionar", model, lr=0.3)
    train(model, opt, 3)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    resumed = fresh(seed=123)
    resumed.load_state_dict(saved["model"])
    opt2 = build("lionar", resumed, lr=0.3)
    opt2.load_state_dict(saved["opt"])
    train(model, opt, 3, seed=1)
    train(resumed, opt2, 3, seed=1)
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_zero_lr_leaves_parameters_unchanged(fresh, train):
    model = fresh()
    before = copy.deepcopy(model.state_dict())
    train(model, build("lionar", model, lr=0.0), 3)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_deterministic_on_cpu(fresh, train):
    runs = []
    for _ in range(2):
        model = fresh()
        train(model, build("lionar", model, lr=0.3), 4)
        runs.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_groups_decay_and_norm_tags(fresh):
    model = fresh()
    opt = build("lionar", model, lr=0.1, weight_decay=0.5)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(p) for p in model.parameters() if p.ndim >= 2}
    assert {g["norm"] for g in opt.param_groups} == {"frobenius"}


def test_zero_gradient_leaves_rotational_weights_unchanged(fresh):
    # The norm projection replaces weight decay: a zero gradient moves no rotational tensor
    # (unlike the decoupled decay p <- p (1 - lr wd) of the other optimizers).
    model = fresh()
    opt = build("lionar", model, lr=0.01, weight_decay=0.5)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), before[n], msg=n)


# --- fixed norms and angle control ------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    per_neuron=st.booleans(),
    nesterov=st.booleans(),
    lr=st.floats(1e-4, 1.0),
)
def test_weight_norm_is_fixed(seed, per_neuron, nesterov, lr):
    gen = torch.Generator().manual_seed(seed)
    w = nn.Parameter(torch.randn(5, 7, generator=gen))
    r0 = _row_norms(w) if per_neuron else torch.linalg.vector_norm(w.detach())
    opt = LionAR([w], lr=lr, per_neuron=per_neuron, nesterov=nesterov)
    for _ in range(6):
        w.grad = torch.randn(5, 7, generator=gen)
        opt.step()
        now = _row_norms(w) if per_neuron else torch.linalg.vector_norm(w.detach())
        torch.testing.assert_close(now, r0, rtol=1e-5, atol=0)


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("ibc", [True, False])
def test_strict_control_turns_each_row_by_the_target_angle(nesterov, ibc):
    # update_decay = 0: every step turns every row by exactly arctan(a_t), where
    # a_t = eta_r (1 - beta^t) with inverse bias correction, eta_r the equilibrium angle.
    lr, wd, beta = 0.02, 0.1, 0.98
    gen = torch.Generator().manual_seed(0)
    w = nn.Parameter(torch.randn(6, 10, generator=gen, dtype=torch.float64))
    opt = LionAR(
        [w], lr=lr, weight_decay=wd, momentum=beta, nesterov=nesterov,
        inverse_bias_correction=ibc, update_decay=0.0, eps=0.0,
    )  # fmt: skip
    eta_r = equilibrium_angle(lr, wd, lion_betas(beta, nesterov))
    for t in range(1, 8):
        before = w.detach().clone()
        w.grad = torch.randn(6, 10, generator=gen, dtype=torch.float64)
        opt.step()
        a_t = eta_r * ((1 - beta**t) if ibc else 1.0)
        expected = torch.full((6,), math.atan(a_t), dtype=torch.float64)
        torch.testing.assert_close(_angles(before, w), expected, rtol=1e-9, atol=1e-12)


def test_average_angle_follows_the_target_with_the_update_norm_average():
    # update_decay = 0.9 (REQ): the angle varies step to step, its mean matches arctan(eta_r).
    lr, wd = 0.05, 0.1
    gen = torch.Generator().manual_seed(1)
    w = nn.Parameter(torch.randn(8, 32, generator=gen, dtype=torch.float64))
    opt = LionAR([w], lr=lr, weight_decay=wd, inverse_bias_correction=False, momentum=0.9)
    eta_r = equilibrium_angle(lr, wd, lion_betas(0.9, True))
    angles = []
    for _ in range(60):
        before = w.detach().clone()
        w.grad = torch.randn(8, 32, generator=gen, dtype=torch.float64)
        opt.step()
        angles.append(_angles(before, w).mean().item())
    assert abs(sum(angles) / len(angles) / math.atan(eta_r) - 1) < 0.05


def test_update_is_orthogonal_to_the_weights_per_row():
    w0 = torch.tensor([[3.0, 4.0, 0.0]], dtype=torch.float64)
    p = w0.clone()
    state = {"step": 0, "exp_avg": torch.zeros_like(p)}
    state["r0"] = torch.tensor([[5.0]], dtype=torch.float64)
    state["update_sq"] = torch.zeros(1, 1, dtype=torch.float64)
    lionar_update(
        p, torch.tensor([[1.0, 1.0, -1.0]], dtype=torch.float64), state, lr=0.5, momentum=0.0,
        nesterov=False, weight_decay=0.1, rotational=True, update_decay=0.0, eps=0.0,
    )  # fmt: skip
    # sign(g) = (1, 1, -1); minus its radial part along (3, 4, 0)/5: (1 - 21/25 (3, 4)/5 ...)
    u = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    u = u - (u @ w0[0]) / 25 * w0[0]
    a = equilibrium_angle(0.5, 0.1, (0.0, 0.0))
    expected = w0[0] - a * 5 * u / u.norm()
    expected = expected * 5 / expected.norm()
    torch.testing.assert_close(p[0], expected)


def test_non_rotational_path_is_lion_with_equivalent_betas():
    # Without inverse bias correction, a tensor in a weight_decay = 0 group takes exactly
    # Lion's step with betas lion_betas(beta, nesterov).
    for nesterov in (True, False):
        w0 = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
        ours, ref = nn.Parameter(w0.clone()), nn.Parameter(w0.clone())
        opt = LionAR([ours], lr=0.01, momentum=0.9, nesterov=nesterov, weight_decay=0.0,
                     inverse_bias_correction=False)  # fmt: skip
        ref_opt = Lion([ref], lr=0.01, betas=lion_betas(0.9, nesterov), weight_decay=0.0)
        gen = torch.Generator().manual_seed(3)
        for _ in range(5):
            g = torch.randn(4, 3, generator=gen)
            ours.grad, ref.grad = g.clone(), g.clone()
            opt.step()
            ref_opt.step()
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_inverse_bias_correction_ramps_the_plain_step():
    p = nn.Parameter(torch.zeros(3))
    opt = LionAR([p], lr=0.1, momentum=0.98, weight_decay=0.0)
    p.grad = torch.tensor([1.0, -1.0, 0.0])
    opt.step()
    torch.testing.assert_close(p.detach(), torch.tensor([-0.1, 0.1, 0.0]) * (1 - 0.98))


def test_equilibrium_angle_values():
    # Hand-computed: sqrt(pi/2) sqrt(2 lr wd) sqrt((1-b1)^2 + b1^2 (1-b2)/(1+b2)).
    assert equilibrium_angle(1e-3, 0.1, (0.9, 0.99)) == pytest.approx(
        1.2533141 * 0.0141421356 * math.sqrt(0.01 + 0.81 * 0.01 / 1.99), rel=1e-7
    )
    assert equilibrium_angle(0.05, 0.1, (0.0, 0.0)) == pytest.approx(
        math.sqrt(math.pi / 2) * 0.1 * 1
    )
    assert equilibrium_angle(0.0, 0.1, (0.9, 0.9)) == 0.0
    assert lion_betas(0.98, True) == pytest.approx((0.9604, 0.98))


def test_works_with_the_adaptive_warmup_kappa(fresh):
    from autowarm import AdaptiveWarmup
    from autowarm.schedules import kappa

    model = fresh()
    sched = AdaptiveWarmup(build("lionar", model, lr=0.1), total_steps=10, target_loss=1.0)
    assert sched.norm == "frobenius"
    assert sched.schedule.kappa == kappa("frobenius", [(16, 12), (24, 12), (12, 24), (16, 12)])


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"momentum": 1.0}, r"momentum must be a finite number in \[0.0, 1.0\); got 1.0"),
        ({"momentum": -0.1}, r"momentum must be a finite number in \[0.0, 1.0\); got -0.1"),
        ({"update_decay": 1.0}, r"update_decay must be a finite number in \[0.0, 1.0\)"),
        ({"lr": -1.0}, "lr must be"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LionAR([nn.Parameter(torch.ones(2, 2))], **kwargs)


def test_wrong_hyperparameter_type():
    with pytest.raises(TypeError, match="nesterov must be true or false; got 1"):
        LionAR([nn.Parameter(torch.ones(2, 2))], nesterov=1)


def test_rotational_group_rejects_1d_tensors_and_zero_rows():
    with pytest.raises(ValueError, match=r"ndim >= 2; got \[\(3,\)\]"):
        LionAR([{"params": [nn.Parameter(torch.ones(3))], "rotational": True}])
    w = nn.Parameter(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    opt = LionAR([w])
    w.grad = torch.ones(2, 2)
    with pytest.raises(ValueError, match="zero row"):
        opt.step()
