"""Parameter grouping: every trainable parameter in exactly one group, by the documented rules."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from autowarm.optim import GROUPS, group_parameters, is_embed_head_name


class TinyLM(nn.Module):
    """The harness's naming convention: ``embed`` (nn.Embedding) and ``lm_head`` (nn.Linear)."""

    def __init__(self, vocab: int = 50, d: int = 8, tied: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"norm": nn.RMSNorm(d), "qkv": nn.Linear(d, 3 * d, bias=False)})
            for _ in range(2)
        )
        self.norm = nn.RMSNorm(d)
        if not tied:
            self.lm_head = nn.Linear(d, vocab, bias=False)


def names(groups):
    return {k: [n for n, _ in v] for k, v in groups.items()}


def test_llama_naming_convention():
    g = names(group_parameters(TinyLM()))
    assert g["embed_head"] == ["embed.weight", "lm_head.weight"]
    assert g["matrix"] == ["blocks.0.qkv.weight", "blocks.1.qkv.weight"]
    assert g["scalar"] == ["blocks.0.norm.weight", "blocks.1.norm.weight", "norm.weight"]
    assert list(g) == list(GROUPS)


def test_tied_embedding_counted_once():
    model = TinyLM(tied=True)
    model.head = nn.Linear(8, 50, bias=False)
    model.head.weight = model.embed.weight  # tied under a second name
    g = names(group_parameters(model))
    assert g["embed_head"] == ["embed.weight"]


def test_named_params_use_name_patterns():
    model = TinyLM()
    g = names(group_parameters(list(model.named_parameters())))
    assert g["embed_head"] == ["embed.weight", "lm_head.weight"]
    # nanoGPT, Meta LLaMA and HF spellings
    shapes = {
        "transformer.wte.weight": (50, 8),
        "transformer.wpe.weight": (16, 8),
        "tok_embeddings.weight": (50, 8),
        "model.embed_tokens.weight": (50, 8),
        "output.weight": (50, 8),
        "layers.0.attention.output.weight": (8, 8),  # a hidden "output" projection: a matrix
        "transformer.h.0.mlp.c_fc.weight": (32, 8),
        "lm_head.bias": (50,),
    }
    named = [(n, nn.Parameter(torch.zeros(s))) for n, s in shapes.items()]
    g = names(group_parameters(named))
    assert g["embed_head"] == [
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "tok_embeddings.weight",
        "model.embed_tokens.weight",
        "output.weight",
    ]
    assert g["matrix"] == ["layers.0.attention.output.weight", "transformer.h.0.mlp.c_fc.weight"]
    assert g["scalar"] == ["lm_head.bias"]


def test_embed_rows_threshold_is_the_d_muon_rule():
    model = nn.Sequential(nn.Linear(8, 12000), nn.Linear(8, 8))
    assert names(group_parameters(model))["embed_head"] == []
    g = names(group_parameters(model, embed_rows_threshold=10000))
    assert g["embed_head"] == ["0.weight"] and g["matrix"] == ["1.weight"]


def test_frozen_parameters_are_left_out_and_conv_is_a_matrix():
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Linear(4, 4))
    model[1].weight.requires_grad_(False)
    g = names(group_parameters(model))
    assert g == {"matrix": ["0.weight"], "embed_head": [], "scalar": ["0.bias", "1.bias"]}


@pytest.mark.parametrize(
    ("arg", "kwargs", "match"),
    [
        (nn.Linear(2, 2), {"embed_rows_threshold": 0}, "embed_rows_threshold"),
        (nn.Linear(2, 2), {"embed_rows_threshold": 1.5}, "embed_rows_threshold"),
        ([torch.zeros(2)], {}, "iterable of \\(name, parameter\\) pairs"),
        ([("w", 3.0)], {}, "not a tensor"),
    ],
)
def test_bad_input(arg, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        group_parameters(arg, **kwargs)


def test_no_trainable_parameters():
    model = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        group_parameters(model)


def test_is_embed_head_name_table():
    assert is_embed_head_name("embed.weight")
    assert is_embed_head_name("lm_head.weight")
    assert is_embed_head_name("bert.embeddings.word_embeddings.weight")
    assert not is_embed_head_name("weight")
    assert not is_embed_head_name("blocks.0.head.weight")  # only a top-level "head"
    assert not is_embed_head_name("blocks.0.mlp.up.weight")


_LAYERS = st.sampled_from(["linear", "linear_nobias", "embedding", "norm", "conv", "frozen"])


def _make(kind: str, d: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(d, d)
    if kind == "linear_nobias":
        return nn.Linear(d, d + 1, bias=False)
    if kind == "embedding":
        return nn.Embedding(d + 3, d)
    if kind == "norm":
        return nn.LayerNorm(d)
    if kind == "conv":
        return nn.Conv1d(d, d, 2)
    return nn.Linear(d, d).requires_grad_(False)


@st.composite
def modules(draw, depth=0):
    children = draw(st.lists(_LAYERS, min_size=1, max_size=4))
    root = nn.Module()
    for i, kind in enumerate(children):
        root.add_module(f"m{i}", _make(kind, draw(st.integers(2, 5))))
    if depth < 2 and draw(st.booleans()):
        root.add_module("sub", draw(modules(depth=depth + 1)))
    if draw(st.booleans()):  # tie one matrix to a second name
        mats = [m for m in root.modules() if isinstance(m, nn.Linear)]
        if mats:
            root.tied = nn.Linear(1, 1, bias=False)
            root.tied.weight = mats[0].weight
    return root


@settings(max_examples=60, deadline=None)
@given(modules(), st.sampled_from([None, 4, 10_000]))
def test_every_trainable_parameter_in_exactly_one_group(model, threshold):
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    if not trainable:
        return
    groups = group_parameters(model, embed_rows_threshold=threshold)
    ids = [id(p) for kind in GROUPS for _, p in groups[kind]]
    assert len(ids) == len(set(ids)) and set(ids) == trainable
    for _, p in groups["scalar"]:
        assert p.ndim <= 1
    for _, p in groups["matrix"] + groups["embed_head"]:
        assert p.ndim >= 2
    embed_ids = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    assert embed_ids & trainable <= {id(p) for _, p in groups["embed_head"]}
