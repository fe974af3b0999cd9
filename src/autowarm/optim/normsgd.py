"""Normalized SGD: per-tensor Frobenius-normalised (Nesterov) momentum, the Euclidean LMO step.

Per parameter, with ``B_0 = 0``:

    B <- mu B + g
    U <- g + mu B   if nesterov else B
    p <- p (1 - lr wd) - lr U / max(||U||_F, eps)

``-U / ||U||_F`` minimises ``<U, x>`` over the Frobenius unit ball, so the step of every tensor has
Frobenius norm exactly ``lr`` (arXiv 2602.05813, App. C). The momentum is the un-damped sum form
of the llm-baselines code the seed paper uses (with ``B_0 = 0`` the normalisation makes it
equivalent to the EMA form).

**The published code's bug** (seed paper digest, section 6 item 9): its buffer starts as a copy of
the (already decayed) parameters instead of zeros, so for roughly the first ``1 / (1 - mu)``
steps the update is close to ``-lr p / ||p||``, an extra shrinkage of every weight.
``faithful_init=True`` reproduces it, for exact replication only. The published code also divides
by ``||U|| + 1e-8``; here ``eps`` is a floor instead, so the step norm is exactly ``lr``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from autowarm.optim._base import (
    LMOOptimizer,
    check_bool,
    check_fraction,
    check_number,
    scalar,
    sum_momentum,
)


def normsgd_update(
    param: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor | None,
    *,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
    eps: float = 1e-8,
) -> None:
    """One normalized-SGD step in place (``momentum_buffer=None`` with ``momentum=0``).

    >>> p = torch.zeros(2)
    >>> normsgd_update(p, torch.tensor([3.0, 4.0]), torch.zeros(2), lr=0.5, momentum=0.9,
    ...                nesterov=True, weight_decay=0.0)
    >>> p
    tensor([-0.3000, -0.4000])
    """
    u = sum_momentum(
        grad, momentum_buffer, momentum=momentum, nesterov=nesterov, caller="normsgd_update"
    )
    param.mul_(1 - lr * weight_decay)
    param.sub_(u / u.norm().clamp(min=eps) * lr)


class NormSGD(LMOOptimizer):
    """Normalized SGD with (Nesterov) momentum, per-tensor Frobenius normalisation.

    Args:
        params: parameters or param-group dicts (any shape); ``"norm": None`` groups use AdamW.
        lr: LR (>= 0): the Frobenius norm of every tensor's step.
        momentum: ``mu`` in [0, 1) (default 0.95, the seed paper's scripts).
        nesterov: Nesterov momentum (default True, the seed paper's scripts).
        weight_decay: decoupled ``p <- p (1 - lr wd)`` (default 0.1).
        eps: floor of ``||U||_F`` (default 1e-8); a zero gradient gives a zero step.
        faithful_init: start the buffer at a copy of the decayed parameters, as the published
            code does (a bug; default False: zeros).

    >>> w = torch.nn.Parameter(torch.zeros(3, 4))
    >>> opt = NormSGD([w], lr=0.2, weight_decay=0.0)
    >>> (w * torch.randn(3, 4)).sum().backward(); opt.step()
    >>> round(float(w.detach().norm()), 4)
    0.2
    """

    NORM = "frobenius"

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.1,
        eps: float = 1e-8,
        faithful_init: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": weight_decay,
            "norm_eps": eps,
            "faithful_init": faithful_init,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check_fraction("momentum", group["momentum"])
        check_bool("nesterov", group["nesterov"])
        check_bool("faithful_init", group["faithful_init"])
        if group["nesterov"] and group["momentum"] == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        check_number("eps", group["norm_eps"])
        if group["norm_eps"] == 0:
            raise ValueError("eps must be > 0; got 0")

    def _init_state(self, param: Tensor, group: dict) -> dict:
        if group["faithful_init"]:
            decay = 1 - scalar(group["lr"]) * group["weight_decay"]
            buf = param.detach().clone().mul_(decay)  # the published code clones after decay
        else:
            buf = torch.zeros_like(param, memory_format=torch.preserve_format)
        return {"step": 0, "momentum_buffer": buf}

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float) -> None:
        state["step"] += 1
        normsgd_update(
            param,
            grad,
            state["momentum_buffer"],
            lr=lr,
            momentum=group["momentum"],
            nesterov=group["nesterov"],
            weight_decay=group["weight_decay"],
            eps=group["norm_eps"],
        )
