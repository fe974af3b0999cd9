"""The torch.optim contract, checked for every registry entry through build()."""

from __future__ import annotations

import copy
import io

import pytest
import torch

from autowarm.optim import OPTIMIZERS, build

# LRs at which each optimizer makes progress on the toy problem below within 40 steps (1.0 for
# the learning-rate-free baselines, as their authors recommend).
LRS = {
    "adamw": 1e-2,
    "dadapt-adam": 1.0,
    "prodigy": 1.0,
    "radam": 1e-2,
    "schedulefree-adamw": 1e-2,
    "lion": 1e-2,
    "lionar": 2e-2,
    "muon": 2e-2,
    "normsgd": 5e-2,
    "signsgd": 1e-2,
    "signum": 1e-2,
}


# Prodigy's step size d starts at 1e-6 and, with safeguard_warmup, takes ~60 steps to grow here.
STEPS = {"prodigy": 80}


def test_lr_table_covers_the_registry():
    assert set(LRS) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_loss_decreases(name, fresh, train):
    model = fresh()
    opt = build(name, model, lr=LRS[name], weight_decay=0.0)
    losses = train(model, opt, STEPS.get(name, 40))
    assert losses[-1] < 0.5 * losses[0], (name, losses[0], losses[-1])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name, fresh, train):
    model = fresh()
    opt = build(name, model, lr=LRS[name])
    train(model, opt, 3)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)  # plain tensors, numbers, strings, tuples
    resumed = fresh(seed=123)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = build(name, resumed, lr=LRS[name])
    opt2.load_state_dict(saved["opt"])
    train(model, opt, 3, seed=1)
    train(resumed, opt2, 3, seed=1)
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    assert [g["norm"] for g in opt2.param_groups] == [g["norm"] for g in opt.param_groups]


# Prodigy and D-Adaptation reject lr=0 (their packages require lr > 0).
@pytest.mark.parametrize("name", sorted(n for n, s in OPTIMIZERS.items() if not s.lr_free))
def test_zero_lr_leaves_parameters_unchanged(name, fresh, train):
    model = fresh()
    before = copy.deepcopy(model.state_dict())
    train(model, build(name, model, lr=0.0), 3)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_deterministic_on_cpu(name, fresh, train):
    runs = []
    for _ in range(2):
        model = fresh()
        train(model, build(name, model, lr=LRS[name]), 4)
        runs.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_weight_decay_skips_1d_parameters(name, fresh):
    model = fresh()
    opt = build(name, model, lr=LRS[name], weight_decay=0.5)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(p) for p in model.parameters() if p.ndim >= 2}


# LionAR keeps weight norms fixed instead of decaying them (tests/optim/test_lionar.py); the
# learning-rate-free methods decay by their estimated step d * lr and skip a step without gradient.
@pytest.mark.parametrize(
    "name", sorted(n for n, s in OPTIMIZERS.items() if n != "lionar" and not s.lr_free)
)
def test_decoupled_weight_decay_with_zero_gradient(name, fresh):
    # A zero gradient leaves only the decay p <- p (1 - lr wd) on the >= 2-D parameters.
    model = fresh()
    lr, wd = 0.01, 0.5
    opt = build(name, model, lr=lr, weight_decay=wd)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in model.named_parameters():
        factor = 1 - lr * wd if p.ndim >= 2 else 1.0
        torch.testing.assert_close(p.detach(), before[n] * factor, msg=f"{name}: {n}")
