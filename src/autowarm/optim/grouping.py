"""Parameter grouping: every trainable parameter in exactly one of matrix / embed_head / scalar.

Norm-constrained optimizers treat three kinds of parameters differently (Jordan et al. 2024, Muon;
Liu et al. 2025, arXiv 2502.16982; the seed paper's D-Muon, arXiv 2602.05813):

- ``"matrix"``: hidden weights with ``ndim >= 2`` (attention and MLP projections, convolutions).
  Muon orthogonalises their update; they carry weight decay.
- ``"embed_head"``: the input embedding (``nn.Embedding`` weights) and the output head
  (``lm_head``). Their rows are token vectors rather than a linear map, so Muon hands them to
  AdamW. They carry weight decay.
- ``"scalar"``: every 0-D and 1-D parameter (norm gains, biases). No weight decay.

The model never builds its optimizer: :func:`group_parameters` reads it from the outside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import torch
from torch import nn

from autowarm.schedules import _validate as v

GROUPS = ("matrix", "embed_head", "scalar")

# Module names of embeddings and output heads in common codebases: nanoGPT (wte, wpe, lm_head),
# Meta LLaMA (tok_embeddings, output), HF (embed_tokens, word_embeddings, lm_head), autowarm's
# LLaMA (embed, lm_head). Matched against the module path of a parameter's name.
_EMBED_LEAF = re.compile(r"^(embed\w*|\w*_embeddings?|wte|wpe|tok_embeddings|lm_head)$")
_TOP_LEVEL_HEADS = frozenset({"output", "head", "lm_head"})

NamedParams = Iterable[tuple[str, nn.Parameter]]


def is_embed_head_name(name: str) -> bool:
    """Whether a parameter name looks like an embedding or output-head weight.

    The module path (the name without its last component) must end in an embedding/head module
    name (``embed``, ``embed_tokens``, ``word_embeddings``, ``wte``, ``wpe``, ``tok_embeddings``,
    ``lm_head``), or be exactly a top-level ``output``/``head`` module (Meta LLaMA's head).

    >>> [is_embed_head_name(n) for n in ("embed.weight", "transformer.wte.weight",
    ...                                   "output.weight", "layers.0.attn.output.weight")]
    [True, True, True, False]
    """
    path = name.rsplit(".", 1)[0] if "." in name else ""
    if path in _TOP_LEVEL_HEADS:
        return True
    leaf = path.rsplit(".", 1)[-1]
    return bool(leaf) and _EMBED_LEAF.match(leaf) is not None


def _named_trainable(
    model_or_named_params: nn.Module | NamedParams,
) -> tuple[list[tuple[str, nn.Parameter]], set[int]]:
    """Unique trainable (name, param) pairs and the ids of ``nn.Embedding`` weights."""
    embed_ids: set[int] = set()
    if isinstance(model_or_named_params, nn.Module):
        model = model_or_named_params
        named = list(model.named_parameters())  # tied parameters appear once, first name wins
        for module in model.modules():
            if isinstance(module, nn.Embedding | nn.EmbeddingBag):
                embed_ids.add(id(module.weight))
    else:
        named = []
        for item in model_or_named_params:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(
                    "expected an nn.Module or an iterable of (name, parameter) pairs such as "
                    f"model.named_parameters(); got an item of type {type(item).__name__}"
                )
            if not isinstance(item[1], torch.Tensor):
                raise TypeError(
                    f"parameter {item[0]!r} is a {type(item[1]).__name__}, not a tensor"
                )
            named.append(item)
    seen: set[int] = set()
    unique = []
    for name, p in named:
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            unique.append((name, p))
    return unique, embed_ids


def group_parameters(
    model_or_named_params: nn.Module | NamedParams,
    *,
    embed_rows_threshold: int | None = None,
) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """Split trainable parameters into ``"matrix"``, ``"embed_head"`` and ``"scalar"`` groups.

    Rules, first match wins:

    1. ``ndim <= 1`` -> ``"scalar"`` (norm gains, biases, including an ``lm_head`` bias);
    2. an ``nn.Embedding`` weight (when a module is given), a name matched by
       :func:`is_embed_head_name`, or, with ``embed_rows_threshold=r``, ``shape[0] >= r`` (the
       D-Muon rule of the seed paper's code, ``r = 10000``) -> ``"embed_head"``;
    3. everything else (``ndim >= 2``) -> ``"matrix"``.

    Frozen parameters (``requires_grad=False``) are left out; a parameter shared by several
    modules (tied embeddings) appears once, under its first name.

    Args:
        model_or_named_params: an ``nn.Module`` or ``(name, parameter)`` pairs such as
            ``model.named_parameters()``.
        embed_rows_threshold: optional row count from which a matrix counts as an embedding/head;
            ``None`` (default) disables the rule. Must be an integer >= 1.

    Returns:
        A dict with the keys of :data:`GROUPS` in that order (lists may be empty), each a list of
        ``(name, parameter)`` in model order.

    >>> model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.LayerNorm(4))
    >>> {k: [n for n, _ in v] for k, v in group_parameters(model).items()}
    {'matrix': ['1.weight'], 'embed_head': ['0.weight'], 'scalar': ['1.bias', '2.weight', '2.bias']}
    """
    if embed_rows_threshold is not None:
        v.integer("embed_rows_threshold", embed_rows_threshold, minimum=1)
    named, embed_ids = _named_trainable(model_or_named_params)
    groups: dict[str, list[tuple[str, nn.Parameter]]] = {g: [] for g in GROUPS}
    for name, p in named:
        if p.ndim <= 1:
            kind = "scalar"
        elif (
            id(p) in embed_ids
            or is_embed_head_name(name)
            or (embed_rows_threshold is not None and p.shape[0] >= embed_rows_threshold)
        ):
            kind = "embed_head"
        else:
            kind = "matrix"
        groups[kind].append((name, p))
    if not any(groups.values()):
        raise ValueError("no trainable parameters to optimise (all frozen, or none given)")
    return groups
