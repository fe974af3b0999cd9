"""Normalized SGD: per-tensor Frobenius-normalised (Nesterov) momentum, the Euclidean LMO step.

Per parameter, with ``B_0 = 0``:

    B <- mu B + g
    U <- g + mu B   if nesterov else B
    p <- p (1 - lr wd) - lr U / max(||U||_F, eps)

``-U / ||U||_F`` minimises ``<U, x>`` over the Frobenius unit ball, so the step of every tensor has
Frobenius norm exactly ``lr`` (arXiv 2602.05813, App. C). The momentum is the un-damped sum form
of the llm-baselines code the seed paper uses (with ``B_0 = 0`` the normalisation makes it
equivalent to the EMA form).

**The published code's bug** (the seed paper's normSGD optimizer): its buffer starts as a copy of
the (already decayed) parameters instead of zeros, so for roughly the first ``1 / (1 - mu)``
steps the update is close to ``-lr p / ||p||``, an extra shrinkage of every weight.
``faithful_init=True`` reproduces it, for exact replication only. The published code also divides
by ``||U|| + 1e-8``; here ``eps`` is a floor instead, so the step norm is exactly ``lr``.
"""

from __future__ import annotations

from torch import Tensor

from autowarm.optim._base import LMOOptimizer, check_sum_momentum, scalar, sum_momentum


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

    >>> import torch
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
        eps: floor of ``||U||_F`` (default 1e-8, > 0); a zero gradient gives a zero step. Also the
            ``eps`` of ``"norm": None`` (AdamW fallback) groups.
        faithful_init: start the buffer at a copy of the decayed parameters, as the published
            code does (a bug; default False: zeros).

    >>> import torch
    >>> w = torch.nn.Parameter(torch.zeros(3, 4))
    >>> opt = NormSGD([w], lr=0.2, weight_decay=0.0)
    >>> (w * torch.randn(3, 4)).sum().backward(); opt.step()
    >>> round(float(w.detach().norm()), 4)
    0.2
    """

    NORM = "frobenius"
    UPDATE = staticmethod(normsgd_update)
    BUFFERS = ("momentum_buffer",)
    COUNT_STEPS = True

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
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            eps=eps,
            faithful_init=faithful_init,
        )

    def _check_group(self, group: dict) -> None:
        check_sum_momentum(group)
        if group["eps"] == 0:
            raise ValueError("eps must be > 0; got 0")

    def _init_state(self, param: Tensor, group: dict) -> dict:
        state = super()._init_state(param, group)
        if group["faithful_init"]:  # the published code clones the parameters after the decay
            decay = 1 - scalar(group["lr"]) * group["weight_decay"]
            state["momentum_buffer"] = param.detach().clone().mul_(decay)
        return state
