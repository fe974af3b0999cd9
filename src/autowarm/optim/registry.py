"""Optimizers by name: ``build(name, model, lr=..., **hparams)`` and the registry behind it.

Every factory takes the parameter groups of :func:`autowarm.optim.grouping.group_parameters` and
keyword-only hyperparameters with documented defaults; :func:`build` rejects unknown names and
unknown hyperparameters (STYLE rule 8: a registry, no if/elif chains). Every param group it creates
carries ``"group"`` (``"matrix"``, ``"embed_head"`` or ``"scalar"``) and ``"norm"`` (the norm of
the group's update, read by :class:`autowarm.AdaptiveWarmup` to compute kappa): ``"spectral"``,
``"sign"`` or ``"frobenius"`` for LMO-updated groups, ``None`` for groups updated by Muon's AdamW
fallback. 1-D parameters (``"scalar"``) never get weight decay.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.optim import Optimizer

from autowarm.optim.grouping import GROUPS, NamedParams, group_parameters
from autowarm.optim.lion import Lion
from autowarm.optim.lionar import LionAR
from autowarm.optim.muon import Muon
from autowarm.optim.normsgd import NormSGD
from autowarm.optim.sign import Signum

Groups = Mapping[str, list[tuple[str, nn.Parameter]]]

# Common defaults. Weight decay 0.1 (decoupled, p <- p (1 - lr wd)) is the seed paper's setting for
# every optimizer (arXiv 2602.05813 scripts) and torch.optim.Muon's default.
WEIGHT_DECAY = 0.1


def param_groups(groups: Groups, settings: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """Torch param-group dicts, one per non-empty kind, with ``"group"`` and per-kind settings."""
    out = []
    for kind in GROUPS:
        params = [p for _, p in groups[kind]]
        if params:
            out.append({"params": params, "group": kind, **settings[kind]})
    return out


def _decay(weight_decay: float) -> dict[str, dict[str, object]]:
    """Weight decay on matrices and embeddings/head, none on 1-D parameters."""
    return {
        "matrix": {"weight_decay": weight_decay},
        "embed_head": {"weight_decay": weight_decay},
        "scalar": {"weight_decay": 0.0},
    }


def _tag(settings: dict[str, dict[str, object]], norms: Mapping[str, str | None]) -> dict:
    for kind, norm in norms.items():
        settings[kind]["norm"] = norm
    return settings


def adamw(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
) -> Optimizer:
    """``torch.optim.AdamW`` with autowarm's grouping (no decay on 1-D parameters).

    Defaults: betas (0.9, 0.95) and eps 1e-8 as in the llm-baselines code the seed paper builds
    on (``--beta1 0.9 --beta2 0.95``) and nanoGPT; weight decay 0.1 (the paper's scripts).

    Every group is tagged ``"norm": "sign"``: AdamW is the whole optimizer here, not a fallback,
    and its update ``m / sqrt(v)`` is sign-like (Balles & Hennig 2018, arXiv 1705.07774), which is
    also how :class:`autowarm.AdaptiveWarmup` treats an untagged ``torch.optim.AdamW``. (A
    ``None`` tag would mean "AdamW fallback, not part of kappa" and leave no matrices for kappa.)
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "sign"))
    return torch.optim.AdamW(param_groups(groups, settings), lr=lr, betas=betas, eps=eps)


def muon(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_steps: int = 5,
    ns_coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
    ns_eps: float = 1e-7,
    ns_dtype: str = "bfloat16",
    scale: str = "moonlight",
    adamw_betas: tuple[float, float] = (0.8, 0.999),
    adamw_eps: float = 1e-8,
) -> Optimizer:
    """Muon on the hidden matrices, AdamW (same LR) on embeddings, head and 1-D parameters.

    Defaults and sources: momentum 0.95 Nesterov, 5 quintic Newton-Schulz steps with Keller
    Jordan's coefficients in bfloat16 and eps 1e-7 (torch.optim.Muon, KellerJordan/Muon; the seed
    paper's D-Muon uses momentum 0.9 at batch 256 and 0.95 at batch 32); ``scale="moonlight"``
    (update RMS matched to AdamW, ``0.2 sqrt(max(m, n))``, Liu et al. 2025, arXiv 2502.16982, as
    in the paper's D-Muon, so one LR serves both parts); AdamW betas (0.8, 0.999), eps 1e-8 (the
    paper's D-Muon scripts). See :class:`autowarm.optim.Muon`.
    """
    settings = _decay(weight_decay)
    settings = _tag(settings, {"matrix": "spectral", "embed_head": None, "scalar": None})
    return Muon(
        param_groups(groups, settings),
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        ns_steps=ns_steps,
        ns_coefficients=ns_coefficients,
        ns_eps=ns_eps,
        ns_dtype=ns_dtype,
        scale=scale,
        betas=adamw_betas,
        eps=adamw_eps,
    )


def lion(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    betas: tuple[float, float] = (0.9, 0.99),
) -> Optimizer:
    """Lion on every parameter (as in the seed paper's runs).

    Defaults: betas (0.9, 0.99) (Chen et al. 2023, arXiv 2302.06675, and the paper's scripts);
    weight decay 0.1 (paper scripts; the Lion paper suggests 3-10x AdamW's decay with a 3-10x
    smaller LR). See :class:`autowarm.optim.Lion`.
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "sign"))
    return Lion(param_groups(groups, settings), lr=lr, betas=betas)


def signum(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> Optimizer:
    """Signum (sign of momentum) on every parameter.

    Defaults: momentum 0.9 (Bernstein et al. 2018, arXiv 1802.04434), no Nesterov (the
    llm-baselines ``--nesterov`` default), weight decay 0.1. See :class:`autowarm.optim.Signum`.
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "sign"))
    return Signum(param_groups(groups, settings), lr=lr, momentum=momentum, nesterov=nesterov)


def signsgd(groups: Groups, *, lr: float, weight_decay: float = WEIGHT_DECAY) -> Optimizer:
    """Sign-SGD, ``p <- p - lr sign(g)``: :class:`autowarm.optim.Signum` with momentum 0.

    Default weight decay 0.1 (paper scripts); Bernstein et al. 2018, arXiv 1802.04434.
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "sign"))
    return Signum(param_groups(groups, settings), lr=lr, momentum=0.0)


def normsgd(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    momentum: float = 0.95,
    nesterov: bool = True,
    eps: float = 1e-8,
    faithful_init: bool = False,
) -> Optimizer:
    """Normalized SGD: per-tensor Frobenius-normalised Nesterov momentum on every parameter.

    Defaults: momentum 0.95 Nesterov (the seed paper's normSGD scripts), weight decay 0.1;
    ``faithful_init=True`` reproduces the published code's buffer initialised to a copy of the
    parameters (a bug; see :class:`autowarm.optim.NormSGD`).
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "frobenius"))
    return NormSGD(
        param_groups(groups, settings),
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        eps=eps,
        faithful_init=faithful_init,
    )


def lionar(
    groups: Groups,
    *,
    lr: float,
    weight_decay: float = WEIGHT_DECAY,
    momentum: float = 0.98,
    nesterov: bool = True,
    inverse_bias_correction: bool = True,
    per_neuron: bool = True,
    zero_mean: bool = False,
    update_decay: float = 0.9,
) -> Optimizer:
    """LionAR, the warm-up-free rotational Lion (Kosson et al. 2024, arXiv 2410.23922).

    Matrices and embeddings (decayed groups) rotate at the equilibrium angle of ``lr`` and
    ``weight_decay`` with fixed row norms; 1-D parameters take the Lion step. Defaults: momentum
    0.98 Nesterov with inverse bias correction (the paper), per-neuron control and update-norm
    EMA 0.9 (REQ). See :class:`autowarm.optim.lionar.LionAR`.
    """
    settings = _tag(_decay(weight_decay), dict.fromkeys(GROUPS, "frobenius"))
    return LionAR(
        param_groups(groups, settings),
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        inverse_bias_correction=inverse_bias_correction,
        per_neuron=per_neuron,
        zero_mean=zero_mean,
        update_decay=update_decay,
    )


# name -> factory(groups, *, lr, **hparams). One dict (STYLE rule 8).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "adamw": adamw,
    "lion": lion,
    "lionar": lionar,
    "muon": muon,
    "normsgd": normsgd,
    "signsgd": signsgd,
    "signum": signum,
}

# Keyword arguments of build() that go to the grouping rather than the optimizer.
_GROUPING_KEYS = ("embed_rows_threshold",)


def hyperparameters(name: str) -> dict[str, object]:
    """The hyperparameters of a named optimizer and their defaults (``lr`` has none).

    >>> hyperparameters("lion")
    {'lr': <required>, 'weight_decay': 0.1, 'betas': (0.9, 0.99), 'embed_rows_threshold': None}
    """
    factory = _factory(name)
    out: dict[str, object] = {}
    for key, par in inspect.signature(factory).parameters.items():
        if par.kind is par.KEYWORD_ONLY:
            out[key] = _REQUIRED if par.default is par.empty else par.default
    out.update(dict.fromkeys(_GROUPING_KEYS))
    return out


class _Required:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED = _Required()


def _factory(name: str) -> Callable[..., Optimizer]:
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; valid optimizers are {', '.join(sorted(OPTIMIZERS))}"
        ) from None


def build(
    name: str,
    model_or_named_params: nn.Module | NamedParams,
    *,
    lr: float,
    embed_rows_threshold: int | None = None,
    **hparams: object,
) -> Optimizer:
    """Build a named optimizer over a model's parameters, grouped matrix / embed_head / scalar.

    Args:
        name: one of ``adamw``, ``lion``, ``lionar``, ``muon``, ``normsgd``, ``signsgd``, ``signum``.
        model_or_named_params: an ``nn.Module`` or ``(name, parameter)`` pairs; see
            :func:`autowarm.optim.group_parameters`.
        lr: the base (peak) learning rate of every group; schedules multiply it.
        embed_rows_threshold: also treat matrices with at least this many rows as embeddings
            (the D-Muon rule, 10000 in the seed paper's code); ``None`` off.
        **hparams: the optimizer's hyperparameters (see :func:`hyperparameters`); unknown keys
            raise ``ValueError``.

    Returns:
        One ``torch.optim.Optimizer`` whose groups carry ``"group"`` and ``"norm"`` keys.

    >>> model = nn.Sequential(nn.Embedding(16, 8), nn.Linear(8, 8), nn.LayerNorm(8))
    >>> opt = build("muon", model, lr=0.01)
    >>> [(g["group"], g["norm"], g["weight_decay"]) for g in opt.param_groups]
    [('matrix', 'spectral', 0.1), ('embed_head', None, 0.1), ('scalar', None, 0.0)]
    """
    factory = _factory(name)
    valid = {k for k in hyperparameters(name) if k not in ("lr", *_GROUPING_KEYS)}
    unknown = sorted(set(hparams) - valid)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for optimizer {name!r}; valid: "
            f"{', '.join(sorted([*valid, 'lr', *_GROUPING_KEYS]))}"
        )
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 <= lr < math.inf:
        raise ValueError(f"lr must be a non-negative number; got {lr!r}")
    groups = group_parameters(model_or_named_params, embed_rows_threshold=embed_rows_threshold)
    return factory(groups, lr=float(lr), **hparams)


def available() -> list[str]:
    """The registered optimizer names, sorted.

    >>> available()
    ['adamw', 'lion', 'lionar', 'muon', 'normsgd', 'signsgd', 'signum']
    """
    return sorted(OPTIMIZERS)
