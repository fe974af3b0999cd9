"""build() on the harness's LLaMA: grouping by its naming convention and kappa per optimizer."""

from __future__ import annotations

import math

import pytest
import torch

from autowarm.lr import AdaptiveWarmup
from autowarm.optim import OPTIMIZERS, build, group_parameters
from autowarm.schedules import fit_delta_star, kappa

model_mod = pytest.importorskip("autowarm.train.model")


@pytest.mark.parametrize("tied", [True, False])
def test_llama_groups_and_muon_kappa(tied):
    cfg = model_mod.model_config("tiny").replace(tie_embeddings=tied)
    model = model_mod.LLaMA(cfg)
    groups = {k: [n for n, _ in v] for k, v in group_parameters(model).items()}
    assert groups["embed_head"] == (
        ["embed.weight"] if tied else ["embed.weight", "lm_head.weight"]
    )
    assert all(n.startswith("blocks.") for n in groups["matrix"])
    assert all(n.endswith("norm.weight") for n in groups["scalar"])
    hidden = [tuple(p.shape) for _, p in group_parameters(model)["matrix"]]
    sched = AdaptiveWarmup(build("muon", model, lr=1e-3), total_steps=10, target_loss=3.0)
    assert sched.norm == "spectral" and sched.schedule.kappa == kappa("spectral", hidden)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_one_training_step_on_llama(name):
    torch.manual_seed(0)
    model = model_mod.LLaMA(model_mod.model_config("tiny"))
    lr = None if OPTIMIZERS[name].lr_free else 1e-3  # None: the LR-free default 1.0
    opt = build(name, model, lr=lr)
    idx = torch.randint(0, 256, (2, 16))
    before = [p.detach().clone() for p in model.parameters()]
    model(idx, idx).backward()
    opt.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_muon_kappa_deviation_on_the_cpu_model_is_as_documented():
    # The Muon docstring's figures: kappa over the hidden matrices vs every 2-D parameter (the
    # seed paper's count), and the D* each gives at the CPU benchmark's Muon setting.
    with torch.device("meta"):
        model = model_mod.LLaMA(model_mod.model_config("cpu"))
    groups = group_parameters(model)
    hidden = [tuple(p.shape) for _, p in groups["matrix"]]
    every = hidden + [tuple(p.shape) for _, p in groups["embed_head"]]
    assert (kappa("spectral", hidden), kappa("spectral", every)) == (2560.0, 2688.0)
    sched = AdaptiveWarmup(build("muon", model, lr=1e-2), total_steps=10, target_loss=1.25)
    assert sched.schedule.kappa == 2560.0
    d0 = math.log(256) - 1.25
    ours, paper = (fit_delta_star(d0, 100.0, k) for k in (2560.0, 2688.0))
    assert (round(ours, 4), round(paper, 4)) == (0.4116, 0.4077)
