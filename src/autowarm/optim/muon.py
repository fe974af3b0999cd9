"""Muon: Newton-Schulz-orthogonalised Nesterov momentum for hidden matrices (spectral-norm LMO).

Per matrix parameter ``W`` (``m x n``; higher-order tensors are viewed as ``shape[0] x rest``):

    B <- mu B + (1 - mu) G                   (momentum, EMA form, B_0 = 0)
    U <- (1 - mu) G + mu B   if nesterov else B
    O <- NS(U)                               (approximately U_s V_s^T, :mod:`newton_schulz`)
    W <- W (1 - lr wd)                       (decoupled decay with the unadjusted lr)
    W <- W - lr * scale(m, n) * O

``-O`` is (up to the Newton-Schulz approximation) the LMO of the spectral-norm unit ball at the
momentum, so Muon is the spectral member of the LMO family (arXiv 2602.05813, App. C). The scale
conventions (``scale=``):

==============  ===========================  =================================================
``keller``      ``sqrt(max(1, m / n))``      KellerJordan/Muon; torch's ``adjust_lr_fn=None``
``moonlight``   ``0.2 * sqrt(max(m, n))``    update RMS ~ AdamW's (arXiv 2502.16982); torch's
                                             ``"match_rms_adamw"``; the seed paper's D-Muon
``none``        ``1``                        plain LMO step of spectral radius ~lr
==============  ===========================  =================================================

This is ``torch.optim.Muon``'s maths (torch >= 2.9) re-derived here so it also runs on older torch;
the tests check parity with torch's class where it exists. Unlike torch's class, one ``Muon``
object also updates ``norm=None`` groups with AdamW (the seed paper's D-Muon: embeddings, output
head and 1-D parameters, same lr, betas (0.8, 0.999)), so one scheduler drives every parameter.
Because one LR serves both parts, the class defaults are D-Muon's: ``scale="moonlight"`` (the
spectral step's RMS matched to AdamW's) and AdamW betas (0.8, 0.999); torch's default scale is
``"keller"``.

**Deviation: kappa counts only the hidden matrices.** :class:`autowarm.AdaptiveWarmup` computes
``kappa = sum of min(m, n)`` over the matrices of the groups tagged ``"spectral"``, which are the
hidden matrices only: the embedding and head (``"embed_head"``, ``norm=None``) are moved by the
AdamW fallback, not by a spectral-norm step, so they are not part of the spectral product norm
the D* rule is derived for. The seed paper's code counts every 2-D parameter instead. On the
``cpu`` preset model (tied 256 x 128 embedding) this gives kappa 2560 instead of 2688 (-4.8%); with
the CPU benchmark's Muon setting (``L0 = ln 256``, f* 1.25, div 100) the fitted D* is 0.4116
instead of 0.4077 nats (+1.0%): the warm-up hands over 0.004 nats earlier in the loss. On the
paper's 124M model the kappas are 46080 vs 46848 and D* 2.5102 vs 2.5121 (L0 11, f* 3.2). To
reproduce the paper's count, pass ``kappa=`` to ``AdaptiveWarmup``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from autowarm.optim._base import LMOOptimizer
from autowarm.optim.newton_schulz import (
    NS_COEFFICIENTS,
    NS_DTYPES,
    NS_EPS,
    NS_STEPS,
    check_ns,
    orthogonalize,
)

SCALES = ("keller", "moonlight", "none")
# torch.optim.Muon's adjust_lr_fn names for the same conventions.
_SCALE_ALIASES = {"original": "keller", "match_rms_adamw": "moonlight"}


def scale_factor(scale: str, shape: tuple[int, int]) -> float:
    """The factor multiplying the LR of an ``m x n`` matrix's orthogonalised update.

    >>> scale_factor("keller", (1024, 256)), scale_factor("moonlight", (1024, 256))
    (2.0, 6.4)
    """
    m, n = shape
    if scale == "keller":
        return math.sqrt(max(1.0, m / n))
    if scale == "moonlight":
        return 0.2 * math.sqrt(max(m, n))
    if scale == "none":
        return 1.0
    raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")


def matrix_shape(t: Tensor) -> tuple[int, int]:
    """The 2-D view Muon uses for a tensor with ``ndim >= 2``: ``(shape[0], numel / shape[0])``."""
    if t.ndim < 2:
        raise ValueError(
            f"Muon's spectral update needs a tensor with ndim >= 2; got shape {tuple(t.shape)} "
            "(put 0-D/1-D parameters in a norm=None group, which AdamW updates)"
        )
    return int(t.shape[0]), int(t[0].numel())


def muon_update(
    param: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor,
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    nesterov: bool,
    ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    ns_steps: int = NS_STEPS,
    ns_eps: float = NS_EPS,
    ns_dtype: torch.dtype | str = torch.bfloat16,
    scale: str = "keller",
) -> None:
    """One Muon step on ``param`` in place; ``momentum_buffer`` (zeros at first) updated in place.

    ``ns_dtype`` is a torch dtype or its name (``"bfloat16"``, ``"float32"``, ``"float64"``).

    >>> w = torch.zeros(4, 2); buf = torch.zeros(4, 2)
    >>> muon_update(w, torch.ones(4, 2), buf, lr=0.1, weight_decay=0.0, momentum=0.9,
    ...             nesterov=True, ns_dtype=torch.float32, scale="none")
    >>> round(float(torch.linalg.matrix_norm(w, ord=2)), 1)  # spectral norm ~ lr
    0.1
    """
    shape = matrix_shape(param)
    momentum_buffer.lerp_(grad, 1 - momentum)
    u = grad.lerp(momentum_buffer, momentum) if nesterov else momentum_buffer
    dtype = NS_DTYPES[ns_dtype] if isinstance(ns_dtype, str) else ns_dtype
    o = orthogonalize(
        u.reshape(shape), coefficients=ns_coefficients, steps=ns_steps, eps=ns_eps, dtype=dtype
    )
    param.mul_(1 - lr * weight_decay)
    param.add_(o.view(param.shape), alpha=-lr * scale_factor(scale, shape))


class Muon(LMOOptimizer):
    """Muon for hidden matrices plus AdamW for ``norm=None`` groups, in one optimizer.

    Args:
        params: parameters or param-group dicts. Groups with ``"norm": "spectral"`` (the default)
            need ``ndim >= 2`` tensors (>2-D are flattened to ``shape[0] x rest``); groups with
            ``"norm": None`` are updated by AdamW with ``betas``/``eps``.
            :func:`autowarm.optim.build` ``("muon", model, lr=...)`` makes these groups for you.
        lr: base LR (>= 0) of both parts; the spectral step is ``lr * scale_factor``.
        weight_decay: decoupled decay ``p <- p (1 - lr wd)`` (default 0.1, torch and the seed
            paper's scripts).
        momentum: ``mu`` in [0, 1) (default 0.95, torch/Keller; the seed paper's D-Muon uses 0.9
            at batch 256).
        nesterov: Nesterov momentum (default True).
        ns_coefficients, ns_steps, ns_eps, ns_dtype: Newton-Schulz settings (defaults: Keller's
            quintic, 5 steps, 1e-7, ``"bfloat16"``; ``"float32"``/``"float64"`` for accuracy).
        scale: ``"moonlight"`` (default, D-Muon's, so one LR serves the AdamW part too),
            ``"keller"`` (torch's default) or ``"none"``; torch's names ``"original"`` and
            ``"match_rms_adamw"`` are accepted.
        betas, eps: the AdamW fallback's (default (0.8, 0.999), the seed paper's D-Muon scripts,
            and 1e-8).

    >>> torch.manual_seed(0) and None
    >>> w, b = torch.nn.Parameter(torch.randn(8, 4)), torch.nn.Parameter(torch.zeros(8))
    >>> opt = Muon([{"params": [w]}, {"params": [b], "norm": None}], lr=0.02)
    >>> (w.sum() + b.sum()).backward(); opt.step()
    >>> sorted(opt.state[w]), sorted(opt.state[b])
    (['momentum_buffer'], ['exp_avg', 'exp_avg_sq', 'step'])
    """

    NORM = "spectral"
    UPDATE = staticmethod(muon_update)
    BUFFERS = ("momentum_buffer",)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
        ns_steps: int = NS_STEPS,
        ns_eps: float = NS_EPS,
        ns_dtype: str = "bfloat16",
        scale: str = "moonlight",
        betas: tuple[float, float] = (0.8, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=tuple(ns_coefficients),
            ns_steps=ns_steps,
            ns_eps=ns_eps,
            ns_dtype=ns_dtype,
            scale=scale,
            betas=betas,
            eps=eps,
        )

    def _check_group(self, group: dict) -> None:
        if isinstance(group["ns_dtype"], torch.dtype):  # store the name: plain state_dict values
            group["ns_dtype"] = str(group["ns_dtype"]).removeprefix("torch.")
        check_ns(group["ns_coefficients"], group["ns_steps"], group["ns_eps"], group["ns_dtype"])
        group["scale"] = _SCALE_ALIASES.get(group["scale"], group["scale"])
        if group["scale"] not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {group['scale']!r}")
        for p in group["params"]:
            matrix_shape(p)  # rejects 0-D/1-D parameters up front


__all__ = ["SCALES", "Muon", "matrix_shape", "muon_update", "scale_factor"]
