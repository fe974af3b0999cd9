"""Sign-SGD and Signum: the max-norm LMO step at the gradient or its momentum.

Bernstein et al. 2018 (arXiv 1802.04434). Per parameter, with ``B_0 = 0``:

    B <- mu B + g                            (Signum; sign-SGD has mu = 0 and no buffer)
    U <- g + mu B   if nesterov else B
    p <- p (1 - lr wd) - lr sign(U)

The momentum is the un-damped sum form of the llm-baselines code the seed paper uses; the sign
makes it equivalent to the EMA form. ``-sign(U)`` minimises ``<U, x>`` over the max-norm unit ball,
so every entry moves by exactly ``lr`` (0 where ``U`` is 0).
"""

from __future__ import annotations

from torch import Tensor

from autowarm.optim._base import LMOOptimizer, check_sum_momentum, sum_momentum


def signum_update(
    param: Tensor,
    grad: Tensor,
    momentum_buffer: Tensor | None,
    *,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
) -> None:
    """One Signum step in place (``momentum_buffer=None`` and ``momentum=0``: sign-SGD).

    >>> import torch
    >>> p = torch.zeros(3)
    >>> signum_update(p, torch.tensor([3.0, -1e-9, 0.0]), None, lr=0.5, momentum=0.0,
    ...               nesterov=False, weight_decay=0.0)
    >>> p
    tensor([-0.5000,  0.5000,  0.0000])
    """
    u = sum_momentum(
        grad, momentum_buffer, momentum=momentum, nesterov=nesterov, caller="signum_update"
    )
    param.mul_(1 - lr * weight_decay)
    param.add_(u.sign(), alpha=-lr)


class Signum(LMOOptimizer):
    """Signum (sign of momentum); with ``momentum=0`` sign-SGD.

    Args:
        params: parameters or param-group dicts (any shape); ``"norm": None`` groups use AdamW.
        lr: LR (>= 0): every entry moves by ``lr`` per step.
        momentum: ``mu`` in [0, 1) (default 0.9, Bernstein et al. 2018); 0 keeps no state.
        nesterov: Nesterov momentum (default False, llm-baselines).
        weight_decay: decoupled ``p <- p (1 - lr wd)`` (default 0.1, the seed paper's scripts).

    >>> import torch
    >>> w = torch.nn.Parameter(torch.zeros(2))
    >>> opt = Signum([w], lr=0.1, momentum=0.0, weight_decay=0.0)
    >>> (w * torch.tensor([5.0, -0.1])).sum().backward(); opt.step(); w.data
    tensor([-0.1000,  0.1000])
    """

    NORM = "sign"
    UPDATE = staticmethod(signum_update)
    BUFFERS = ("momentum_buffer",)
    COUNT_STEPS = True

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        momentum: float = 0.9,
        nesterov: bool = False,
        weight_decay: float = 0.1,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )

    def _check_group(self, group: dict) -> None:
        check_sum_momentum(group)

    def _buffers(self, group: dict) -> tuple[str, ...]:
        return self.BUFFERS if group["momentum"] != 0 else ()  # sign-SGD keeps no buffer
