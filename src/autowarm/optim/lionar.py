"""LionAR: a rotational Lion with a fixed weight norm, for training without LR warm-up.

Kosson, Messmer & Jaggi (2024), "Analyzing & Reducing the Need for Learning Rate Warmup in GPT
Training", arXiv 2410.23922: early updates are too large *relative to the weights* (in angle)
and in their effect on the representations. LionAR controls the angular update directly and
holds the weight norm fixed, on top of Lion (Chen et al. 2023, arXiv 2302.06675); with the
paper's momentum changes (higher momentum 0.98, Nesterov momentum, inverse bias correction) it
trained GPT-2 without warm-up as well as with it. The rotational mechanism follows the authors'
earlier "rotational equilibrium" optimizers (Kosson et al. 2024, arXiv 2305.17212, ``epfml/REQ``).

Per parameter ``w``, with ``m_0 = 0`` and ``t`` the step count (1 at the first update):

    m  <- beta m + (1 - beta) g
    c  <- beta m + (1 - beta) g    if nesterov else m
    u  <- sign(c)                                         (the Lion direction)

A *rotational* tensor (``ndim >= 2`` with ``weight_decay > 0``; per output row when
``per_neuron``, else the whole tensor) then takes an angle-controlled step on the sphere of its
initial norm ``r0 = ||w_0||``:

    u  <- u - mean(u)                                     (only if zero_mean)
    u  <- u - (<u, w> / ||w||^2) w                        (no radial component)
    v  <- rho v + (1 - rho) ||u||^2,   s = sqrt(v / (1 - rho^t))
    w  <- w - a_t r0 u / s,           w <- r0 w / ||w||

where ``a_t = eta_r * (1 - beta^t)`` with inverse bias correction (else ``eta_r``) and the target
angle ``eta_r`` is the equilibrium angular update of Lion with decoupled weight decay (REQ):

    eta_r = sqrt(pi / 2) sqrt(2 lr wd) sqrt((1 - b1)^2 + b1^2 (1 - b2) / (1 + b2)),

with the Lion-equivalent betas of the momentum above: ``(b1, b2) = (beta^2, beta)`` for Nesterov
(``c = beta^2 m_{t-1} + (1 - beta^2) g``), ``(beta, beta)`` without. So the LR schedule acts on
the angle through ``sqrt(lr)``, as in REQ. Each rotational step turns ``w`` by
``arctan(a_t ||u|| / s)``, which is ``arctan(a_t)`` exactly when ``rho = 0`` and ``a_t`` on
average otherwise; ``||w||`` never changes (the projection replaces weight decay). Other
tensors (1-D gains, or groups with ``weight_decay = 0``) take the plain Lion step
``w <- w (1 - lr wd) - lr (1 - beta^t) u`` (the factor only with inverse bias correction).

"Inverse bias correction" is our reading of the paper's term: an un-corrected momentum average
of consistent gradients grows like ``(1 - beta^t) g``, and Lion's sign discards that growth; the
factor puts it back, so the first ``~1 / (1 - beta)`` updates ramp in by themselves. ``zero_mean=False`` by default: removing the
update's mean suits weight-standardised layers (REQ), which autowarm's LLaMA does not use.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from autowarm.optim._base import LMOOptimizer, scalar


def lion_betas(momentum: float, nesterov: bool) -> tuple[float, float]:
    """The Lion ``(b1, b2)`` equivalent to EMA momentum ``momentum`` with or without Nesterov.

    >>> lion_betas(0.9, True), lion_betas(0.9, False)
    ((0.81, 0.9), (0.9, 0.9))
    """
    return (momentum * momentum if nesterov else momentum, momentum)


def equilibrium_angle(lr: float, weight_decay: float, betas: tuple[float, float]) -> float:
    """Expected angular update (radians) of Lion with decoupled decay at equilibrium (REQ).

    ``sqrt(pi/2) sqrt(2 lr wd) sqrt((1 - b1)^2 + b1^2 (1 - b2) / (1 + b2))``.

    >>> round(equilibrium_angle(1e-3, 0.1, (0.9, 0.99)), 6)
    0.002102
    """
    b1, b2 = betas
    return (
        math.sqrt(math.pi / 2)
        * math.sqrt(2 * lr * weight_decay)
        * math.sqrt((1 - b1) ** 2 + b1 * b1 * (1 - b2) / (1 + b2))
    )


def _rows(t: Tensor, per_neuron: bool) -> Tensor:
    """``t`` as ``rows x rest`` (per neuron) or ``1 x numel`` (per tensor)."""
    return t.reshape(t.shape[0], -1) if per_neuron else t.reshape(1, -1)


def lionar_update(
    param: Tensor,
    grad: Tensor,
    state: dict,
    *,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
    rotational: bool,
    inverse_bias_correction: bool = True,
    per_neuron: bool = True,
    zero_mean: bool = False,
    update_decay: float = 0.9,
    eps: float = 1e-8,
) -> None:
    """One LionAR step on ``param`` in place; ``state`` from :func:`lionar_init`, updated in place.

    Example: a rotational 1 x 2 row turns by exactly ``arctan(a_1)`` (``update_decay=0``) and
    keeps its norm:

    >>> p = torch.tensor([[1.0, 0.0]])
    >>> state = lionar_init(p, rotational=True)
    >>> lionar_update(p, torch.tensor([[0.0, -1.0]]), state, lr=0.05, momentum=0.0,
    ...               nesterov=False, weight_decay=0.1, rotational=True, update_decay=0.0)
    >>> a = equilibrium_angle(0.05, 0.1, (0.0, 0.0))
    >>> torch.allclose(p, torch.tensor([[math.cos(math.atan(a)), math.sin(math.atan(a))]]))
    True
    """
    state["step"] += 1
    t = state["step"]
    exp_avg = state["exp_avg"]
    exp_avg.lerp_(grad, 1 - momentum)
    c = exp_avg.lerp(grad, 1 - momentum) if nesterov else exp_avg
    u = torch.sign(c)
    ramp = 1.0 - momentum**t if inverse_bias_correction else 1.0
    if not rotational:
        param.mul_(1 - lr * weight_decay)
        param.add_(u, alpha=-lr * ramp)
        return
    angle = equilibrium_angle(lr, weight_decay, lion_betas(momentum, nesterov)) * ramp
    if angle == 0.0:
        return
    w = _rows(param, per_neuron)
    u = _rows(u, per_neuron).to(w.dtype)
    if zero_mean:
        u = u - u.mean(dim=1, keepdim=True)
    u = u - w * ((u * w).sum(dim=1, keepdim=True) / (w * w).sum(dim=1, keepdim=True))
    sq = state["update_sq"]
    sq.mul_(update_decay).add_((u * u).sum(dim=1, keepdim=True), alpha=1 - update_decay)
    rms = (sq / (1 - update_decay**t)).sqrt()
    r0 = state["r0"]
    new = w - (angle * r0 / (rms + eps)) * u
    new = new * (r0 / torch.linalg.vector_norm(new, dim=1, keepdim=True))
    param.copy_(new.reshape(param.shape))


def lionar_init(param: Tensor, *, rotational: bool, per_neuron: bool = True) -> dict:
    """The lazy state of one parameter: momentum, step count and, if rotational, ``r0`` and the
    update-norm average. Raises ``ValueError`` for a rotational tensor with a zero row."""
    state = {"step": 0, "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format)}
    if rotational:
        norm = torch.linalg.vector_norm(_rows(param.detach(), per_neuron), dim=1, keepdim=True)
        if not bool((norm > 0).all()):
            raise ValueError(
                f"LionAR cannot rotate a tensor of shape {tuple(param.shape)} with a zero "
                f"{'row' if per_neuron else 'norm'}; initialise it nonzero, use "
                "per_neuron=False, or put it in a group with weight_decay=0 (plain Lion)"
            )
        state["r0"] = norm
        state["update_sq"] = torch.zeros_like(norm)
    return state


class LionAR(LMOOptimizer):
    """LionAR (rotational Lion, fixed weight norms; arXiv 2410.23922) as a torch optimizer.

    Args:
        params: parameters or param-group dicts. A tensor is rotational when ``ndim >= 2`` and
            its group's ``weight_decay > 0`` (as REQ); a group may force it with
            ``"rotational": True/False``. Groups with ``"norm": None`` are updated by AdamW.
        lr: Lion-scale LR (>= 0): it sets the target angle through :func:`equilibrium_angle`
            (with ``weight_decay``) and is the step of non-rotational tensors.
        momentum: EMA factor ``beta`` in [0, 1) (default 0.98, the paper's higher momentum).
        nesterov: Nesterov-style direction (default True, the paper).
        inverse_bias_correction: scale update ``t`` by ``1 - beta^t`` (default True, the paper).
        weight_decay: the ``lambda`` of the equilibrium angle for rotational tensors (no decay is
            applied to them: their norm is fixed), decoupled decay for the others (default 0.1).
        per_neuron: control angle and norm per output row (default True) or per tensor.
        zero_mean: remove the update's mean (default False; for weight-standardised layers).
        update_decay: EMA factor of the squared update norm that sets the angle (default 0.9,
            REQ); 0 makes every step turn by exactly ``arctan(a_t)``.
        eps: added to the update-norm RMS (default 1e-8).

    >>> w = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [1.0, 0.0]]))
    >>> opt = LionAR([w], lr=0.01)
    >>> (w * torch.tensor([[1.0, -2.0], [0.5, 3.0]])).sum().backward(); opt.step()
    >>> torch.linalg.vector_norm(w.detach(), dim=1)  # row norms are kept
    tensor([5., 1.])
    """

    NORM = "frobenius"
    UPDATE = staticmethod(lionar_update)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.98,
        nesterov: bool = True,
        inverse_bias_correction: bool = True,
        weight_decay: float = 0.1,
        per_neuron: bool = True,
        zero_mean: bool = False,
        update_decay: float = 0.9,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            inverse_bias_correction=inverse_bias_correction,
            weight_decay=weight_decay,
            per_neuron=per_neuron,
            zero_mean=zero_mean,
            update_decay=update_decay,
            eps=eps,
            rotational=None,
        )

    def _check_group(self, group: dict) -> None:
        if group["rotational"] not in (None, True, False):
            raise ValueError(f"rotational must be None, True or False; got {group['rotational']!r}")
        if group["rotational"]:
            flat = [tuple(p.shape) for p in group["params"] if p.ndim < 2]
            if flat:
                raise ValueError(f"rotational groups need tensors with ndim >= 2; got {flat}")

    def _is_rotational(self, param: Tensor, group: dict) -> bool:
        if group["rotational"] is not None:
            return bool(group["rotational"])
        return param.ndim >= 2 and scalar(group["weight_decay"]) > 0

    def _init_state(self, param: Tensor, group: dict) -> dict:
        return lionar_init(
            param, rotational=self._is_rotational(param, group), per_neuron=group["per_neuron"]
        )

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float) -> None:
        # The rule takes the whole state, and whether the tensor rotates was fixed at its init.
        hyperparameters = {**self._hyperparameters(group), "rotational": "r0" in state}
        lionar_update(param, grad, state, lr=lr, **hyperparameters)


__all__ = ["LionAR", "equilibrium_angle", "lion_betas", "lionar_init", "lionar_update"]
