"""AdamW as a pure per-tensor update: the fallback Muon uses for embeddings, head and 1-D weights.

The maths of ``torch.optim.AdamW`` (Loshchilov & Hutter 2019, arXiv 1711.05101) for step ``t``:

    p <- p (1 - lr wd)
    m <- b1 m + (1 - b1) g,          v <- b2 v + (1 - b2) g^2
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

(the ``"adamw"`` registry entry is ``torch.optim.AdamW`` itself; this function is parity-tested
against it).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def adamw_init(param: Tensor) -> dict[str, object]:
    """Fresh AdamW state for one parameter: step count and zero first/second moments."""
    return {
        "step": 0,
        "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
        "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
    }


def adamw_update(
    param: Tensor,
    grad: Tensor,
    state: dict[str, object],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> None:
    """One AdamW step on ``param`` in place; ``state`` from :func:`adamw_init`, updated in place.

    >>> p = torch.ones(3); s = adamw_init(p)
    >>> adamw_update(p, torch.tensor([1.0, -2.0, 0.0]), s, lr=0.1, betas=(0.9, 0.999), eps=1e-8,
    ...              weight_decay=0.0)
    >>> p  # the first step is lr * sign(g)
    tensor([0.9000, 1.1000, 1.0000])
    """
    beta1, beta2 = betas
    state["step"] = step = int(state["step"]) + 1
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    param.mul_(1 - lr * weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    step_size = lr / (1 - beta1**step)
    denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step)).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-step_size)
