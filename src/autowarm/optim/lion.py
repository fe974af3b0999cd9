"""Lion: the sign of an interpolated momentum (Chen et al. 2023, arXiv 2302.06675, Algorithm 2).

Per parameter, with ``m_0 = 0``:

    c <- b1 m + (1 - b1) g
    p <- p (1 - lr wd) - lr sign(c)          (decoupled weight decay)
    m <- b2 m + (1 - b2) g

``-sign(c)`` is the LMO of the max-norm unit ball at ``c``, so Lion is a sign (l-inf) LMO method
(arXiv 2602.05813, App. C): every entry moves by exactly ``lr`` (or 0 where ``c`` is 0).
"""

from __future__ import annotations

from torch import Tensor

from autowarm.optim._base import LMOOptimizer


def lion_update(
    param: Tensor,
    grad: Tensor,
    exp_avg: Tensor,
    *,
    lr: float,
    betas: tuple[float, float],
    weight_decay: float,
) -> None:
    """One Lion step on ``param`` in place; ``exp_avg`` (zeros at first) updated in place.

    >>> import torch
    >>> p, m = torch.zeros(3), torch.zeros(3)
    >>> lion_update(p, torch.tensor([2.0, -0.5, 0.0]), m, lr=0.1, betas=(0.9, 0.99),
    ...             weight_decay=0.0)
    >>> p
    tensor([-0.1000,  0.1000,  0.0000])
    """
    beta1, beta2 = betas
    direction = exp_avg.lerp(grad, 1 - beta1).sign_()
    param.mul_(1 - lr * weight_decay)
    param.add_(direction, alpha=-lr)
    exp_avg.lerp_(grad, 1 - beta2)


class Lion(LMOOptimizer):
    """Lion (EvoLved Sign Momentum) as a ``torch.optim.Optimizer``.

    Args:
        params: parameters or param-group dicts (any shape). Groups with ``"norm": None`` are
            updated by AdamW instead (see :class:`autowarm.optim.Muon`).
        lr: LR (>= 0); the Lion paper uses 3-10x smaller than AdamW's.
        betas: ``(b1, b2)`` (default (0.9, 0.99), the Lion paper).
        weight_decay: decoupled ``p <- p (1 - lr wd)`` (default 0.1, the seed paper's scripts).

    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(2, 2))
    >>> opt = Lion([w], lr=0.1, weight_decay=0.0)
    >>> w.sum().backward(); opt.step(); w
    Parameter containing:
    tensor([[0.9000, 0.9000],
            [0.9000, 0.9000]], requires_grad=True)
    """

    NORM = "sign"
    UPDATE = staticmethod(lion_update)
    BUFFERS = ("exp_avg",)

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.1,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, weight_decay=weight_decay)
