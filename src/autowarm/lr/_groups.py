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


# Optimizer types and the norm of their update, for optimizers whose groups carry no "norm" key.
# torch's Muon is a spectral-norm LMO method: its parameters are the norm-constrained set.
_LMO_TYPE_NORMS = {"Muon": "spectral"}
# Outside the LMO family: Adam's update m / sqrt(v) is close to sign(m) (a max-norm LMO step) once
# the second moment tracks the squared gradient (Balles & Hennig 2018, arXiv 1705.07774; Kunstner
# et al. 2023, arXiv 2304.13960), so Adam-family optimizers are treated as sign descent when no LMO
# optimizer is present. Beside one (torch Muon for the matrices + AdamW for the rest, the usual
# pairing) they are the fallback for the parameters outside the norm-constrained set and do not
# enter kappa.
_FALLBACK_TYPE_NORMS = {
    "Adam": "sign",
    "AdamW": "sign",
    "NAdam": "sign",
    "RAdam": "sign",
    "Adamax": "sign",
}


def _matrix_shapes(groups: Iterable[dict]) -> list[tuple[int, int]]:
    """2-D shapes of the parameters of ``groups`` (>2-D tensors flattened to (shape[0], rest))."""
    return [
        (int(p.shape[0]), int(p.numel() // p.shape[0]))
        for g in groups
        for p in g["params"]
        if p.ndim >= 2
    ]


def _norm_from_types(optimizers: list[Optimizer]) -> tuple[str, list[Optimizer]]:
    """The norm inferred from the optimizer types, and the optimizers whose parameters it covers."""
    names = [type(o).__name__ for o in optimizers]
    lmo = {_LMO_TYPE_NORMS[n] for n in names if n in _LMO_TYPE_NORMS}
    if len(lmo) == 1:
        norm = lmo.pop()
        return norm, [o for o, n in zip(optimizers, names) if _LMO_TYPE_NORMS.get(n) == norm]
    kinds = {_FALLBACK_TYPE_NORMS.get(n) for n in names}
    if lmo or None in kinds or len(kinds) != 1:
        raise ValueError(
            f"cannot infer the update norm of {', '.join(names)}; pass norm= (one of "
            f"{', '.join(NORMS)}), kappa= or delta_star="
        )
    return kinds.pop(), optimizers


def infer_norm(optimizers: list[Optimizer], norm: str | None = None) -> tuple[str, list[tuple]]:
    """The norm of the optimizers' updates and the 2-D shapes it acts on (for kappa).

    ``norm`` wins when given (its shapes: every matrix, or those of the groups tagged with it).
    Otherwise the ``"norm"`` keys of the param groups (set by :func:`autowarm.optim.build`) decide,
    and kappa counts the matrices of the groups of that norm. Without tags the optimizer types
    decide: with a torch ``Muon`` among them the norm is spectral and kappa counts the Muon
    optimizers' matrices only (an AdamW beside it updates embeddings, head and gains outside the
    norm-constrained set); with only Adam-family optimizers it is sign over every matrix.
    Shapes flatten >2-D tensors to ``(shape[0], rest)``.
    """
    groups = all_groups(optimizers)
    tagged = any("norm" in g for g in groups)
    if norm is not None and norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}; got {norm!r}")
    if norm is None and tagged:
        named = {g["norm"] for g in groups if g.get("norm") is not None}
        if len(named) > 1:
            raise ValueError(
                f"the param groups use several norms {sorted(named)}; pass norm= explicitly "
                f"(one of {', '.join(NORMS)}), kappa= or delta_star="
            )
        norm = named.pop() if named else None
    if tagged and norm is not None:
        shapes = _matrix_shapes(g for g in groups if g.get("norm") == norm)
    elif norm is None:
        norm, covered = _norm_from_types(optimizers)
        shapes = _matrix_shapes(all_groups(covered))
    else:
        shapes = _matrix_shapes(groups)
    if not shapes:
        raise ValueError(
            f"no matrix parameters are updated with the {norm!r} norm, so kappa is undefined; "
            "pass kappa= or delta_star="
        )
    return norm, shapes
