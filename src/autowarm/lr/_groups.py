"""Helpers shared by the LR-scheduler adapters: param groups of one or several optimizers."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim import Optimizer

from autowarm.schedules.kappa import NORMS


def as_optimizers(optimizer: Optimizer | Iterable[Optimizer]) -> list[Optimizer]:
    """Accept one optimizer or a sequence of them (one scheduler may drive several)."""
    opts = [optimizer] if isinstance(optimizer, Optimizer) else list(optimizer)
    if not opts:
        raise ValueError("expected a torch.optim.Optimizer or a non-empty sequence of them")
    for o in opts:
        if not isinstance(o, Optimizer):
            raise TypeError(f"expected torch.optim.Optimizer instances; got {type(o).__name__}")
    return opts


def all_groups(optimizers: list[Optimizer]) -> list[dict]:
    """Every param group of every optimizer, in order."""
    return [g for o in optimizers for g in o.param_groups]


def set_group_lr(group: dict, value: float) -> None:
    """Write an LR into a group, in place when the group's LR is a tensor (no recompiles)."""
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(value)
    else:
        group["lr"] = value


def base_lrs(optimizers: list[Optimizer]) -> list[float]:
    """The base (peak) LR of every group: ``initial_lr``, set from ``lr`` when missing."""
    out = []
    for g in all_groups(optimizers):
        if "initial_lr" not in g:
            lr = g["lr"]
            g["initial_lr"] = lr.clone() if isinstance(lr, torch.Tensor) else lr
        out.append(float(g["initial_lr"]))
    return out


# Optimizers outside the LMO family: the norm the adaptive warm-up uses for them, and why.
# Adam's update m / sqrt(v) is close to sign(m) (a max-norm LMO step) once the second moment
# tracks the squared gradient (Balles & Hennig 2018, arXiv 1705.07774; Kunstner et al. 2023,
# arXiv 2304.13960), so Adam-family optimizers are treated as sign descent.
_TYPE_NORMS = {
    "Muon": "spectral",
    "Adam": "sign",
    "AdamW": "sign",
    "NAdam": "sign",
    "RAdam": "sign",
    "Adamax": "sign",
}


def infer_norm(optimizers: list[Optimizer], norm: str | None = None) -> tuple[str, list[tuple]]:
    """The norm of the optimizers' updates and the 2-D shapes it acts on (for kappa).

    ``norm`` wins when given. Otherwise the ``"norm"`` keys of the param groups (set by
    :func:`autowarm.optim.build`) decide, then the optimizer type (torch Muon: spectral; the Adam
    family: sign). Shapes are those of the parameters in groups of that norm (all groups when no
    group carries a ``"norm"`` key), with >2-D tensors flattened to ``(shape[0], rest)``.
    """
    groups = all_groups(optimizers)
    if norm is None:
        named = {g["norm"] for g in groups if g.get("norm") is not None}
        if len(named) > 1:
            raise ValueError(
                f"the param groups use several norms {sorted(named)}; pass norm= explicitly "
                f"(one of {', '.join(NORMS)}), kappa= or delta_star="
            )
        if named:
            norm = named.pop()
        else:
            kinds = {_TYPE_NORMS.get(type(o).__name__) for o in optimizers}
            if None in kinds or len(kinds) != 1:
                names = ", ".join(type(o).__name__ for o in optimizers)
                raise ValueError(
                    f"cannot infer the update norm of {names}; pass norm= (one of "
                    f"{', '.join(NORMS)}), kappa= or delta_star="
                )
            norm = kinds.pop()
    elif norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {norm!r}")
    tagged = any("norm" in g for g in groups)
    shapes = []
    for g in groups:
        if tagged and g.get("norm") != norm:
            continue
        for p in g["params"]:
            if p.ndim >= 2:
                shapes.append((int(p.shape[0]), int(p.numel() // p.shape[0])))
    if not shapes:
        raise ValueError(
            f"no matrix parameters are updated with the {norm!r} norm, so kappa is undefined; "
            "pass kappa= or delta_star="
        )
    return norm, shapes
