"""Optimizers by name: ``build(name, model, lr=..., **hparams)`` and the table behind it.

The registry is data: :data:`OPTIMIZERS` maps a name to an :class:`OptimizerSpec` (the class,
the ``"norm"`` tag of each parameter group, and the few settings that make the entry what it
is). Hyperparameters and their defaults are read from the class's own signature, so
``build("muon", model, lr=lr)`` and ``Muon(groups, lr=lr)`` over the same groups are the same
optimizer. An entry may change a class default (``overrides``) only for a class autowarm does not
own (torch's, or a baseline package's), to the setting its authors recommend for LLM training;
the source of each is written beside it.

:func:`build` splits the parameters with :func:`autowarm.optim.group_parameters` into
``"matrix"``, ``"embed_head"`` and ``"scalar"`` groups. Every group carries ``"group"`` (its kind)
and ``"norm"`` (the norm of its update, read by :class:`autowarm.AdaptiveWarmup` to compute kappa):
``"spectral"``, ``"sign"`` or ``"frobenius"`` for LMO-updated groups, ``None`` for groups updated by
Muon's AdamW fallback and for the learning-rate-free baselines, which are not LMO methods. Every
entry decays matrices and embeddings/head with its ``weight_decay`` and never decays 1-D
parameters. Unknown names and unknown hyperparameters are rejected before anything is built.

The baselines, the methods a user might pick instead of a tuned warm-up, come from their packages,
installed with ``pip install 'autowarm[baselines]'``: Schedule-Free AdamW (Defazio et al. 2024,
arXiv 2405.15682), Prodigy (Mishchenko & Defazio 2023, arXiv 2306.06101), D-Adaptation Adam
(Defazio & Mishchenko 2023, arXiv 2301.07733), and ``torch.optim.RAdam`` (Liu et al. 2020,
arXiv 1908.03265), whose variance rectifier replaces Adam's warm-up.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch
from torch import nn
from torch.optim import Optimizer

from autowarm.optim.grouping import GROUPS, NamedParams, group_parameters
from autowarm.optim.lion import Lion
from autowarm.optim.lionar import LionAR
from autowarm.optim.muon import Muon
from autowarm.optim.normsgd import NormSGD
from autowarm.optim.sign import Signum

_NO_DECAY = ("scalar",)  # group kinds that never take weight decay (norm gains, biases)


def _frozen(mapping: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class OptimizerSpec:
    """One registry entry: what :func:`build` constructs for a name, and how it groups parameters.

    Args:
        cls: the optimizer class, or ``"module:Class"`` for a class in an optional package
            (imported when the entry is used).
        norms: the ``"norm"`` tag of the param group of each kind of :data:`GROUPS`.
        overrides: class defaults this entry changes (only for classes autowarm does not own).
        fixed: constructor arguments that define the entry and are not hyperparameters
            (``signsgd`` is :class:`~autowarm.optim.Signum` with ``momentum=0``).
        run_fracs: hyperparameters its authors set from the run's length, as a fraction of the
            optimizer updates of the run (see :func:`run_hyperparameters`).
        lr_free: learning-rate-free: no LR axis, ``lr`` stays at the class default 1.0 (a
            schedule may still multiply it).
        train_eval: the optimizer must be switched with ``optimizer.train()`` before training
            steps and ``optimizer.eval()`` before evaluating or checkpointing (Schedule-Free
            evaluates the averaged weights). :func:`build` returns it in train mode.
        extra: the ``autowarm`` extra that installs the class's package (``None``: core).
    """

    cls: type[Optimizer] | str
    norms: Mapping[str, str | None]
    overrides: Mapping[str, object] = field(default_factory=_frozen)
    fixed: Mapping[str, object] = field(default_factory=_frozen)
    run_fracs: Mapping[str, float] = field(default_factory=_frozen)
    lr_free: bool = False
    train_eval: bool = False
    extra: str | None = None

    def optimizer_class(self) -> type[Optimizer]:
        """The class, imported on demand; ``ImportError`` naming the extra when it is missing."""
        if not isinstance(self.cls, str):
            return self.cls
        module, _, attr = self.cls.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as err:
            raise ImportError(
                f"{self.cls.replace(':', '.')} needs the {module} package: "
                f"pip install 'autowarm[{self.extra}]'"
            ) from err

    def defaults(self) -> dict[str, object]:
        """Every hyperparameter of the entry and its default: the class signature, overridden.

        ``lr`` has no default unless the entry is learning-rate-free; ``fixed`` arguments are
        not hyperparameters.
        """
        out: dict[str, object] = {}
        for key, par in inspect.signature(self.optimizer_class()).parameters.items():
            if key == "params" or par.kind in (par.VAR_POSITIONAL, par.VAR_KEYWORD):
                continue
            if key in self.fixed:
                continue
            out[key] = REQUIRED if par.default is par.empty else par.default
        if not self.lr_free:
            out["lr"] = REQUIRED
        out.update(self.overrides)
        return out


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()  # the default of a hyperparameter that must be given (``lr``)

_SIGN = _frozen(dict.fromkeys(GROUPS, "sign"))
_FROBENIUS = _frozen(dict.fromkeys(GROUPS, "frobenius"))
_NOT_LMO = _frozen(dict.fromkeys(GROUPS))

# name -> entry: the one table (a registry, not an if/elif chain). Weight decay 0.1 (decoupled,
# p <- p (1 - lr wd)) is the seed paper's setting for every optimizer (arXiv 2602.05813 scripts)
# and the default of autowarm's classes.
OPTIMIZERS: dict[str, OptimizerSpec] = {
    # torch.optim.AdamW itself. betas (0.9, 0.95) as in llm-baselines (the seed paper's code base)
    # and nanoGPT, weight decay 0.1 (the paper's scripts). Every group is tagged "sign": AdamW is
    # the whole optimizer here, not a fallback, and its update m / sqrt(v) is sign-like (Balles &
    # Hennig 2018, arXiv 1705.07774), as AdaptiveWarmup treats an untagged torch AdamW. (A None
    # tag would mean "not part of kappa" and leave no matrices for kappa.)
    "adamw": OptimizerSpec(
        torch.optim.AdamW, _SIGN, overrides=_frozen({"betas": (0.9, 0.95), "weight_decay": 0.1})
    ),
    "lion": OptimizerSpec(Lion, _SIGN),
    "lionar": OptimizerSpec(LionAR, _FROBENIUS),
    # Muon on the hidden matrices, its AdamW fallback on embeddings, head and 1-D parameters.
    "muon": OptimizerSpec(
        Muon, _frozen({"matrix": "spectral", "embed_head": None, "scalar": None})
    ),
    "normsgd": OptimizerSpec(NormSGD, _FROBENIUS),
    "signsgd": OptimizerSpec(Signum, _SIGN, fixed=_frozen({"momentum": 0.0, "nesterov": False})),
    "signum": OptimizerSpec(Signum, _SIGN),
    # Learning-rate-free and warm-up-free baselines, from their packages (never re-implemented).
    # Schedule-Free AdamW: its authors recommend a warm-up through its own warmup_steps argument
    # (package README); their AlgoPerf submission (schedulefree/algoperf) uses 2% of the run.
    "schedulefree-adamw": OptimizerSpec(
        "schedulefree:AdamWScheduleFree",
        _NOT_LMO,
        run_fracs=_frozen({"warmup_steps": 0.02}),
        train_eval=True,
        extra="baselines",
    ),
    # Prodigy: lr 1.0 (class default, "recommended for all networks"); safeguard_warmup,
    # use_bias_correction and weight decay 0.01 (decoupled, the class default) are the settings
    # its README recommends for large models; cosine annealing is its recommended schedule.
    "prodigy": OptimizerSpec(
        "prodigyopt:Prodigy",
        _NOT_LMO,
        overrides=_frozen(
            {"safeguard_warmup": True, "use_bias_correction": True, "weight_decay": 0.01}
        ),
        lr_free=True,
        extra="baselines",
    ),
    # D-Adaptation Adam: lr 1.0 (class default; its README: "set the LR parameter to 1.0" and
    # keep the usual schedule) and decouple=True (AdamW-style decay; its README: make sure you use
    # it when replacing AdamW).
    "dadapt-adam": OptimizerSpec(
        "dadaptation:DAdaptAdam",
        _NOT_LMO,
        overrides=_frozen({"decouple": True}),
        lr_free=True,
        extra="baselines",
    ),
    # RAdam: no warm-up needed (the rectifier), run at the AdamW arm's settings so that the
    # rectifier is the only difference: betas (0.9, 0.95), decoupled weight decay 0.1.
    "radam": OptimizerSpec(
        torch.optim.RAdam,
        _NOT_LMO,
        overrides=_frozen(
            {"betas": (0.9, 0.95), "weight_decay": 0.1, "decoupled_weight_decay": True}
        ),
    ),
}

# Keyword arguments of build() that go to the grouping rather than the optimizer.
_GROUPING_KEYS = ("embed_rows_threshold",)


def spec(name: str) -> OptimizerSpec:
    """The registry entry of ``name``; ``ValueError`` listing the valid names otherwise.

    >>> spec("prodigy").lr_free, spec("schedulefree-adamw").train_eval, spec("muon").lr_free
    (True, True, False)
    """
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; valid optimizers are {', '.join(sorted(OPTIMIZERS))}"
        ) from None


def hyperparameters(name: str) -> dict[str, object]:
    """The hyperparameters of a named optimizer and their defaults (``lr`` is ``<required>``).

    They are the class's own (its signature), with the entry's overrides applied, plus the
    grouping's ``embed_rows_threshold``.

    >>> hyperparameters("lion")
    {'lr': <required>, 'betas': (0.9, 0.99), 'weight_decay': 0.1, 'embed_rows_threshold': None}
    """
    return {**spec(name).defaults(), **dict.fromkeys(_GROUPING_KEYS)}


def run_hyperparameters(name: str, total_steps: int) -> dict[str, int]:
    """The hyperparameters an optimizer's authors set from the run's length, for a run.

    A harness merges them under the user's own arguments; every other entry gives ``{}``.

    >>> run_hyperparameters("schedulefree-adamw", 600), run_hyperparameters("adamw", 600)
    ({'warmup_steps': 12}, {})
    """
    entry = spec(name)
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive int; got {total_steps!r}")
    return {key: int(frac * total_steps) for key, frac in entry.run_fracs.items()}


def build(
    name: str,
    model_or_named_params: nn.Module | NamedParams,
    *,
    lr: float | None = None,
    embed_rows_threshold: int | None = None,
    **hparams: object,
) -> Optimizer:
    """Build a named optimizer over a model's parameters, grouped matrix / embed_head / scalar.

    Args:
        name: a name of :func:`available`.
        model_or_named_params: an ``nn.Module`` or ``(name, parameter)`` pairs; see
            :func:`autowarm.optim.group_parameters`.
        lr: the base (peak) learning rate of every group; schedules multiply it. Required,
            except for learning-rate-free entries (``spec(name).lr_free``), where it defaults
            to 1.0 as their authors recommend.
        embed_rows_threshold: also treat matrices with at least this many rows as embeddings
            (the D-Muon rule, 10000 in the seed paper's code); ``None`` off.
        **hparams: the optimizer's hyperparameters (see :func:`hyperparameters`); unknown keys
            raise ``ValueError``. ``weight_decay`` applies to the matrix and embedding/head
            groups, never to 1-D parameters.

    Returns:
        One ``torch.optim.Optimizer`` whose groups carry ``"group"`` and ``"norm"`` keys (in
        train mode when the entry needs ``train()``/``eval()`` switching).

    >>> model = nn.Sequential(nn.Embedding(16, 8), nn.Linear(8, 8), nn.LayerNorm(8))
    >>> opt = build("muon", model, lr=0.01)
    >>> [(g["group"], g["norm"], g["weight_decay"]) for g in opt.param_groups]
    [('matrix', 'spectral', 0.1), ('embed_head', None, 0.1), ('scalar', None, 0.0)]
    """
    entry = spec(name)
    defaults = entry.defaults()  # imports an optional package, or names its extra
    valid = set(defaults) - {"lr"}
    unknown = sorted(set(hparams) - valid)
    if unknown:
        raise ValueError(
            f"unknown hyperparameter(s) {', '.join(unknown)} for optimizer {name!r}; valid: "
            f"{', '.join(sorted([*valid, 'lr', *_GROUPING_KEYS]))}"
        )
    if lr is None:
        if defaults["lr"] is REQUIRED:
            raise ValueError(f"lr is required for optimizer {name!r} (a non-negative number)")
        lr = defaults["lr"]
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 <= lr < math.inf:
        raise ValueError(f"lr must be a non-negative number; got {lr!r}")
    groups = group_parameters(model_or_named_params, embed_rows_threshold=embed_rows_threshold)
    kwargs = {**entry.overrides, **hparams}
    weight_decay = kwargs.get("weight_decay", defaults["weight_decay"])
    param_groups = [
        {
            "params": [p for _, p in groups[kind]],
            "group": kind,
            "norm": entry.norms[kind],
            "weight_decay": 0.0 if kind in _NO_DECAY else weight_decay,
        }
        for kind in GROUPS
        if groups[kind]
    ]
    optimizer = entry.optimizer_class()(param_groups, lr=float(lr), **entry.fixed, **kwargs)
    if entry.train_eval:
        optimizer.train()  # ready to step; eval() before evaluating or checkpointing
    return optimizer


def available() -> list[str]:
    """The registered optimizer names, sorted.

    >>> available()  # doctest: +NORMALIZE_WHITESPACE
    ['adamw', 'dadapt-adam', 'lion', 'lionar', 'muon', 'normsgd', 'prodigy', 'radam',
     'schedulefree-adamw', 'signsgd', 'signum']
    """
    return sorted(OPTIMIZERS)
