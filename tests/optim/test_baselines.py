"""The learning-rate-free and warm-up-free baselines: built from their real packages on the LLaMA.

schedulefree-adamw (schedulefree), prodigy (prodigyopt), dadapt-adam (dadaptation) and radam
(torch.optim.RAdam): flags, training progress on the ``tiny`` preset, exact resume from a
state_dict, and the one-line error naming the extra when a package is missing.
"""

from __future__ import annotations

import io
import sys

import pytest
import torch

from autowarm.optim import OPTIMIZERS, build, hyperparameters, run_hyperparameters, spec
from autowarm.train import LLaMA, model_config

BASELINES = ("dadapt-adam", "prodigy", "radam", "schedulefree-adamw")
PACKAGES = {
    "dadapt-adam": "dadaptation",
    "prodigy": "prodigyopt",
    "schedulefree-adamw": "schedulefree",
}
# lr of the entries with an LR axis (the cpu preset's AdamW LR); None: the LR-free default 1.0.
LR = {"dadapt-adam": None, "prodigy": None, "radam": 3e-3, "schedulefree-adamw": 3e-3}


def _model(seed: int = 0) -> LLaMA:
    torch.manual_seed(seed)
    return LLaMA(model_config("tiny"))


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences of the learnable map x -> 5x + 3 (mod 256); a function of the step only."""
    gen = torch.Generator().manual_seed(step)
    seq = [torch.randint(0, 256, (8, 1), generator=gen)]
    for _ in range(32):
        seq.append((seq[-1] * 5 + 3) % 256)
    tokens = torch.cat(seq, 1)
    return tokens[:, :-1], tokens[:, 1:]


def _steps(model: LLaMA, opt: torch.optim.Optimizer, start: int, stop: int) -> list[float]:
    losses = []
    for step in range(start, stop):
        x, y = _batch(step)
        loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


def test_flags_of_the_table():
    assert {n for n, e in OPTIMIZERS.items() if e.lr_free} == {"dadapt-adam", "prodigy"}
    assert {n for n, e in OPTIMIZERS.items() if e.train_eval} == {"schedulefree-adamw"}
    assert {n for n, e in OPTIMIZERS.items() if e.extra} == set(PACKAGES)
    for name in BASELINES:
        assert set(spec(name).norms.values()) == {None}, name  # not LMO methods


def test_hyperparameters_follow_their_authors():
    assert hyperparameters("prodigy")["lr"] == 1.0
    assert hyperparameters("prodigy")["safeguard_warmup"] is True
    assert hyperparameters("prodigy")["use_bias_correction"] is True
    assert hyperparameters("dadapt-adam")["lr"] == 1.0
    assert hyperparameters("dadapt-adam")["decouple"] is True
    assert hyperparameters("radam")["decoupled_weight_decay"] is True
    assert hyperparameters("radam")["betas"] == hyperparameters("adamw")["betas"]
    assert run_hyperparameters("schedulefree-adamw", 600) == {"warmup_steps": 12}
    assert run_hyperparameters("schedulefree-adamw", 12) == {"warmup_steps": 0}
    assert all(run_hyperparameters(n, 600) == {} for n in OPTIMIZERS if n != "schedulefree-adamw")


@pytest.mark.parametrize("total_steps", [0, -5, 2.5, True, "600"])
def test_run_hyperparameters_rejects_bad_lengths(total_steps):
    with pytest.raises(ValueError, match="total_steps must be a positive int"):
        run_hyperparameters("schedulefree-adamw", total_steps)


def test_lr_defaults_to_one_only_without_an_lr_axis():
    assert {g["lr"] for g in build("prodigy", _model()).param_groups} == {1.0}
    assert {g["lr"] for g in build("dadapt-adam", _model()).param_groups} == {1.0}
    for name in ("radam", "schedulefree-adamw", "muon"):
        with pytest.raises(ValueError, match=f"lr is required for optimizer '{name}'"):
            build(name, _model())


def test_schedulefree_is_built_in_train_mode_with_its_warmup():
    opt = build(
        "schedulefree-adamw", _model(), lr=3e-3, **run_hyperparameters("schedulefree-adamw", 600)
    )
    assert all(g["train_mode"] and g["warmup_steps"] == 12 for g in opt.param_groups)


# Prodigy's step size starts at d0 = 1e-6 and, with safeguard_warmup, needs ~60 updates to grow;
# RAdam takes un-adapted momentum steps until its rectifier switches on.
STEPS = {"dadapt-adam": 12, "prodigy": 90, "radam": 25, "schedulefree-adamw": 12}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "prodigy" else n for n in BASELINES]
)
def test_loss_decreases_on_the_tiny_llama(name):
    model = _model()
    losses = _steps(model, build(name, model, lr=LR[name]), 0, STEPS[name])
    assert sum(losses[-3:]) / 3 < losses[0] - 0.3, (name, losses[0], losses[-3:])


def _save(model: LLaMA, opt: torch.optim.Optimizer) -> dict:
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)  # plain tensors, numbers, strings, tuples


@pytest.mark.parametrize("name", BASELINES)
def test_resume_from_a_state_dict_is_bit_identical(name):
    model = _model()
    opt = build(name, model, lr=LR[name])
    straight = _steps(model, opt, 0, 6)

    first = _model()
    opt1 = build(name, first, lr=LR[name])
    head = _steps(first, opt1, 0, 3)
    saved = _save(first, opt1)
    resumed = _model(seed=123)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = build(name, resumed, lr=LR[name])
    opt2.load_state_dict(saved["opt"])
    tail = _steps(resumed, opt2, 3, 6)

    assert head + tail == straight
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_schedulefree_resume_through_eval_mode_checkpoints_is_bit_identical():
    # The method's protocol: eval() (parameters = the averaged x) before evaluating and
    # checkpointing, train() (parameters = y) after. Both runs switch at the same update.
    name, lr = "schedulefree-adamw", LR["schedulefree-adamw"]
    model = _model()
    opt = build(name, model, lr=lr, warmup_steps=2)
    _steps(model, opt, 0, 3)
    opt.eval()
    x_straight = [p.detach().clone() for p in model.parameters()]
    opt.train()
    straight = _steps(model, opt, 3, 6)

    first = _model()
    opt1 = build(name, first, lr=lr, warmup_steps=2)
    _steps(first, opt1, 0, 3)
    opt1.eval()
    saved = _save(first, opt1)
    resumed = _model(seed=123)
    resumed.load_state_dict(saved["model"])
    assert all(torch.equal(a, b) for a, b in zip(resumed.parameters(), x_straight))
    opt2 = build(name, resumed, lr=lr, warmup_steps=2)
    opt2.load_state_dict(saved["opt"])
    assert not opt2.param_groups[0]["train_mode"]  # the checkpoint's mode came back
    opt2.train()
    assert _steps(resumed, opt2, 3, 6) == straight
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    opt.eval()
    opt2.eval()
    assert not all(torch.equal(a, b) for a, b in zip(model.parameters(), x_straight))
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_a_missing_package_names_the_extra_in_one_line(name, monkeypatch):
    monkeypatch.setitem(sys.modules, PACKAGES[name], None)  # as if it were not installed
    for call in (lambda: build(name, _model(), lr=1.0), lambda: hyperparameters(name)):
        with pytest.raises(ImportError, match=r"pip install 'autowarm\[baselines\]'") as err:
            call()
        assert PACKAGES[name] in str(err.value) and "\n" not in str(err.value)
    assert build("adamw", _model(), lr=1e-3)  # the core entries do not need it
