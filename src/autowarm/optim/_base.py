"""The step loop shared by autowarm's optimizers: LMO groups plus optional AdamW fallback groups.

A subclass names the norm of its update (``NORM``), says how to start a parameter's state
(``_init_state``) and how to update one tensor (``_update``, a call to its pure functional rule).
This class honours the ``torch.optim`` contract: ``defaults``, ``@torch.no_grad() step(closure)``,
lazy state created at a parameter's first gradient, ``None`` grads skipped, sparse and complex
gradients rejected, hyperparameters validated when a group is added. Groups whose ``"norm"`` is
``None`` are updated by AdamW (:mod:`autowarm.optim.adamw`) inside the same optimizer, so one LR
scheduler drives everything.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.optim import Optimizer

from autowarm.optim.adamw import adamw_init, adamw_update


def scalar(value: float | Tensor) -> float:
    """A group hyperparameter as a Python float (``lr`` may be a 1-element tensor)."""
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def check_number(name: str, value: object, low: float = 0.0, high: float | None = None) -> None:
    """Raise ``ValueError`` unless ``low <= value (<= high)`` and finite."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{name} must be a number or a 1-element tensor; got shape {tuple(value.shape)}"
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bounds}; got {value!r}")


def check_fraction(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is a number in [0, 1) (a momentum or EMA factor)."""
    check_number(name, value, 0.0, 1.0)
    if value == 1.0:
        raise ValueError(f"{name} must be < 1; got 1.0")


def check_bool(name: str, value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool; got {value!r}")


def check_betas(name: str, betas: object) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair of numbers in [0, 1)."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2); got {betas!r}")
    for i, b in enumerate(betas):
        check_number(f"{name}[{i}]", b, 0.0, 1.0)
        if b == 1.0:
            raise ValueError(f"{name}[{i}] must be < 1; got {b!r}")


def sum_momentum(
    grad: Tensor, momentum_buffer: Tensor | None, *, momentum: float, nesterov: bool, caller: str
) -> Tensor:
    """The direction ``U`` of the un-damped sum-form momentum (llm-baselines), buffer in place.

        B <- mu B + g
        U <- g + mu B   if nesterov else B

    ``momentum_buffer=None`` (allowed only with ``momentum=0``) gives ``U = g``; ``caller`` is the
    update function named in the error otherwise.
    """
    if momentum_buffer is None:
        if momentum != 0:
            raise ValueError(f"{caller} needs a momentum_buffer when momentum != 0")
        return grad
    momentum_buffer.mul_(momentum).add_(grad)
    return grad.add(momentum_buffer, alpha=momentum) if nesterov else momentum_buffer


class LMOOptimizer(Optimizer):
    """Base class: a norm-constrained update for LMO groups, AdamW for ``norm=None`` groups."""

    NORM: str = ""  # the norm of the LMO update: "spectral", "sign" or "frobenius"

    def __init__(self, params, defaults: dict) -> None:
        defaults = {"norm": self.NORM, "betas": (0.9, 0.999), "eps": 1e-8, **defaults}
        super().__init__(params, defaults)

    # -- validation -------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        try:
            self._validate(self.param_groups[-1])
        except Exception:
            self.param_groups.pop()  # leave the optimizer as it was
            raise

    def _validate(self, group: dict) -> None:
        norm = group["norm"]
        if norm not in (self.NORM, None):
            raise ValueError(
                f"{type(self).__name__} param groups must have norm {self.NORM!r} (its update) or "
                f"None (AdamW fallback); got {norm!r}"
            )
        check_number("lr", group["lr"])
        check_number("weight_decay", group["weight_decay"])
        if norm is None:
            check_betas("betas", group["betas"])
            check_number("eps", group["eps"])
        else:
            self._check_group(group)

    def _check_group(self, group: dict) -> None:
        """Validate an LMO group's hyperparameters and parameter shapes (subclasses extend)."""

    # -- the update -------------------------------------------------------------------------
    def _init_state(self, param: Tensor, group: dict) -> dict:
        raise NotImplementedError

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = scalar(group["lr"])
            fallback = group["norm"] is None
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                if torch.is_complex(p):
                    raise RuntimeError(f"{type(self).__name__} does not support complex parameters")
                state = self.state[p]
                if fallback:
                    if not state:
                        state.update(adamw_init(p))
                    adamw_update(
                        p,
                        grad,
                        state,
                        lr=lr,
                        betas=tuple(group["betas"]),
                        eps=group["eps"],
                        weight_decay=group["weight_decay"],
                    )
                else:
                    if not state:
                        state.update(self._init_state(p, group))
                    self._update(p, grad, state, group, lr)
        return loss
