"""build(): names, hyperparameter validation, group tags, and kappa through AdaptiveWarmup."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autowarm.lr import AdaptiveWarmup
from autowarm.optim import (
    GROUPS,
    OPTIMIZERS,
    Muon,
    available,
    build,
    group_parameters,
    hyperparameters,
    spec,
)
from autowarm.schedules import kappa

# An LR each entry trains the toy model with (1.0 for the learning-rate-free ones).
LR = {name: 1.0 if entry.lr_free else 1e-2 for name, entry in OPTIMIZERS.items()}


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 40, d: int = 8, tied: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.up = nn.Linear(d, 4 * d)
        self.down = nn.Linear(4 * d, d, bias=False)
        self.norm = nn.RMSNorm(d)
        self.lm_head = None if tied else nn.Linear(d, vocab, bias=False)


@pytest.mark.parametrize("name", available())
def test_every_entry_groups_every_parameter_once_with_the_tables_norms(name):
    model = TinyLM()
    opt = build(name, model, lr=LR[name])
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    assert [g["group"] for g in opt.param_groups] == list(GROUPS)
    assert {g["group"]: g["norm"] for g in opt.param_groups} == dict(spec(name).norms)
    decay = hyperparameters(name)["weight_decay"]
    assert [g["weight_decay"] for g in opt.param_groups] == [decay, decay, 0.0]
    assert all(g["lr"] == LR[name] for g in opt.param_groups)


def test_only_classes_autowarm_does_not_own_change_their_defaults():
    for name, entry in OPTIMIZERS.items():
        cls = entry.optimizer_class()
        if cls.__module__.startswith("autowarm."):
            assert not entry.overrides, name
        assert "weight_decay" in hyperparameters(name), name  # build() decays by group


@pytest.mark.parametrize("name", available())
def test_building_by_class_and_by_name_give_the_same_trajectory(name, fresh, train):
    # By class: the class with its own defaults over the same groups, only the entry's
    # documented overrides (none for autowarm's classes) and fixed arguments added.
    entry = spec(name)
    by_name = fresh()
    opt_name = build(name, by_name, lr=LR[name])
    by_class = fresh()
    decay = hyperparameters(name)["weight_decay"]
    groups = [
        {
            "params": [p for _, p in params],
            "group": kind,
            "norm": entry.norms[kind],
            "weight_decay": 0.0 if kind == "scalar" else decay,
        }
        for kind, params in group_parameters(by_class).items()
    ]
    cls = entry.optimizer_class()
    opt_class = cls(groups, lr=LR[name], **entry.overrides, **entry.fixed)
    if entry.train_eval:
        opt_class.train()
    assert opt_class.param_groups[0].keys() == opt_name.param_groups[0].keys()
    for g_class, g_name in zip(opt_class.param_groups, opt_name.param_groups):
        assert {k: v for k, v in g_class.items() if k != "params"} == {
            k: v for k, v in g_name.items() if k != "params"
        }
    assert train(by_name, opt_name, 3) == train(by_class, opt_class, 3)
    for a, b in zip(by_name.parameters(), by_class.parameters()):
        assert torch.equal(a, b)


def test_adamw_is_torch_adamw_with_grouping():
    model = TinyLM()
    opt = build("adamw", model, lr=3e-4, weight_decay=0.05)
    assert type(opt) is torch.optim.AdamW
    by_group = {g["group"]: g for g in opt.param_groups}
    assert by_group["matrix"]["weight_decay"] == 0.05
    assert by_group["embed_head"]["weight_decay"] == 0.05
    assert by_group["scalar"]["weight_decay"] == 0.0
    assert {g["norm"] for g in opt.param_groups} == {"sign"}
    assert all(g["lr"] == 3e-4 and g["betas"] == (0.9, 0.95) for g in opt.param_groups)
    n_params = sum(len(g["params"]) for g in opt.param_groups)
    assert n_params == len(list(model.parameters()))


def test_muon_groups_use_the_adamw_fallback():
    opt = build("muon", TinyLM(), lr=0.01)
    assert isinstance(opt, Muon)
    tags = [(g["group"], g["norm"], g["betas"], g["eps"]) for g in opt.param_groups]
    assert tags == [
        ("matrix", "spectral", (0.8, 0.999), 1e-8),
        ("embed_head", None, (0.8, 0.999), 1e-8),
        ("scalar", None, (0.8, 0.999), 1e-8),
    ]
    assert opt.param_groups[0]["scale"] == "moonlight"


@pytest.mark.parametrize("name", ["nope", "Muon", "sgd", None])
def test_unknown_name(name):
    with pytest.raises(
        ValueError, match=r"unknown optimizer .*valid optimizers are adamw, dadapt-adam, lion"
    ):
        build(name, TinyLM(), lr=0.1)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_unknown_hyperparameter_names_it_and_lists_valid(name):
    with pytest.raises(ValueError, match=f"unknown hyperparameter.*bogus.*'{name}'.*valid: .*lr"):
        build(name, TinyLM(), lr=0.1, bogus=1)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("adamw", {"lr": -1.0}, "lr must be"),
        ("muon", {"lr": float("nan")}, "lr must be"),
        ("muon", {"lr": 0.1, "scale": "huge"}, "scale must be one of keller, moonlight, none"),
        ("muon", {"lr": 0.1, "momentum": 1.0}, "momentum must be"),
        ("muon", {"lr": 0.1, "ns_steps": 100}, "ns_steps"),
        ("muon", {"lr": 0.1, "ns_dtype": "float16"}, "ns_dtype"),
        ("muon", {"lr": 0.1, "betas": (0.9, 1.0)}, r"betas\[1\] must be < 1"),
        ("lion", {"lr": 0.1, "betas": (0.9,)}, "betas must be a pair"),
        ("lion", {"lr": 0.1, "weight_decay": -0.1}, "weight_decay must be"),
        ("signum", {"lr": 0.1, "momentum": -0.5}, "momentum must be"),
        ("normsgd", {"lr": 0.1, "eps": 0.0}, "eps must be"),
        ("normsgd", {"lr": 0.1, "faithful_init": "yes"}, "faithful_init must be True or False"),
    ],
)
def test_bad_hyperparameter_values(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(name, TinyLM(), **kwargs)


def test_hyperparameters_table():
    assert hyperparameters("signsgd") == {
        "lr": hyperparameters("signsgd")["lr"],
        "weight_decay": 0.1,
        "embed_rows_threshold": None,
    }
    assert hyperparameters("normsgd")["momentum"] == 0.95
    assert hyperparameters("muon")["betas"] == (0.8, 0.999)
    assert hyperparameters("muon")["scale"] == "moonlight"


def test_embed_rows_threshold_passes_to_grouping():
    model = nn.Sequential(nn.Linear(4, 12), nn.Linear(4, 4))
    opt = build("muon", model, lr=0.01, embed_rows_threshold=10)
    assert [(g["group"], len(g["params"])) for g in opt.param_groups] == [
        ("matrix", 1),
        ("embed_head", 1),
        ("scalar", 2),
    ]


def test_muon_rejects_1d_spectral_params_up_front():
    with pytest.raises(ValueError, match=r"ndim >= 2; got shape \(3,\)"):
        Muon([torch.nn.Parameter(torch.zeros(3))], lr=0.1)


@pytest.mark.parametrize("tied", [False, True])
def test_adaptive_warmup_kappa_from_the_optimizers_own_norm_and_shapes(tied):
    model = TinyLM(tied=tied)
    hidden = [(24, 8), (32, 8), (8, 32)]
    everything = [*hidden, (40, 8)] if tied else [*hidden, (40, 8), (40, 8)]
    expected = {
        "muon": ("spectral", kappa("spectral", hidden)),  # sum min(m, n) over the matrix group
        "adamw": ("sign", kappa("sign", everything)),
        "lion": ("sign", kappa("sign", everything)),
        "signum": ("sign", kappa("sign", everything)),
        "signsgd": ("sign", kappa("sign", everything)),
        "normsgd": ("frobenius", float(len(everything))),
        "lionar": ("frobenius", float(len(everything))),
    }
    assert set(expected) == {n for n, entry in OPTIMIZERS.items() if any(entry.norms.values())}
    for name, (norm, k) in expected.items():
        sched = AdaptiveWarmup(build(name, model, lr=0.01), total_steps=10, target_loss=1.0)
        assert (sched.norm, sched.schedule.kappa) == (norm, k), name
    assert expected["muon"][1] == 8 + 8 + 8
