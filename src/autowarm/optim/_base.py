"""The step loop shared by autowarm's optimizers: LMO groups plus optional AdamW fallback groups.

A subclass declares its update as data: the norm of its update (``NORM``), its pure per-tensor
rule (``UPDATE``, called as ``UPDATE(param, grad, *buffers, lr=lr, **hyperparameters)`` with every
keyword-only argument of the rule read from the param group under the same name), the state
tensors the rule updates in place (``BUFFERS``, zeros at a parameter's first gradient) and whether
the state counts steps (``COUNT_STEPS``). Its ``__init__`` only states the signature (the
documented defaults) and hands the values to this class. Hyperparameters shared by several
optimizers are validated here by name (:data:`CHECKS`); a subclass adds only what is its own
(``_check_group``).

This class honours the ``torch.optim`` contract: ``defaults``, ``@torch.no_grad() step(closure)``,
lazy state created at a parameter's first gradient, ``None`` grads skipped, sparse and complex
gradients rejected, hyperparameters validated when a group is added (a rejected group leaves the
optimizer as it was). Groups whose ``"norm"`` is ``None`` are updated by AdamW
(:mod:`autowarm.optim.adamw`, with the group's ``betas`` and ``eps``) inside the same optimizer, so
one LR scheduler drives everything.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import ClassVar

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
        raise ValueError(f"{name} must be True or False; got {value!r}")


def check_betas(name: str, betas: object) -> None:
    """Raise ``ValueError`` unless ``betas`` is a pair of numbers in [0, 1)."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2); got {betas!r}")
    for i, b in enumerate(betas):
        check_number(f"{name}[{i}]", b, 0.0, 1.0)
        if b == 1.0:
            raise ValueError(f"{name}[{i}] must be < 1; got {b!r}")


def check_sum_momentum(group: dict) -> None:
    """Raise ``ValueError`` for Nesterov without momentum (the sum-form rules of Signum, NormSGD)."""
    if group["nesterov"] and group["momentum"] == 0:
        raise ValueError("nesterov=True needs momentum > 0")


# Validators of the hyperparameters several optimizers share, by name: one rule per name, applied
# to every group (LMO and AdamW fallback alike) that carries the key.
CHECKS: dict[str, Callable[[str, object], None]] = {
    "weight_decay": check_number,
    "betas": check_betas,
    "eps": check_number,
    "momentum": check_fraction,
    "nesterov": check_bool,
    "update_decay": check_fraction,
    "inverse_bias_correction": check_bool,
    "per_neuron": check_bool,
    "zero_mean": check_bool,
    "faithful_init": check_bool,
}


@functools.cache
def _keywords(update: Callable[..., None]) -> tuple[str, ...]:
    """The keyword-only arguments of an update rule other than ``lr``: read from the group."""
    params = inspect.signature(update).parameters.values()
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "lr")


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

    NORM: ClassVar[str] = ""  # the norm of the LMO update: "spectral", "sign" or "frobenius"
    UPDATE: ClassVar[Callable[..., None]]  # the pure per-tensor rule (a staticmethod)
    BUFFERS: ClassVar[tuple[str, ...]] = ()  # state tensors passed to UPDATE after the gradient
    COUNT_STEPS: ClassVar[bool] = False  # keep state["step"], the updates the tensor has taken

    def __init__(self, params, **hyperparameters: object) -> None:
        defaults = {"norm": self.NORM, "betas": (0.9, 0.999), "eps": 1e-8, **hyperparameters}
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
        for key, check in CHECKS.items():
            if key in group:
                check(key, group[key])
        if isinstance(group["betas"], list):  # tuples, as the defaults and torch's own classes
            group["betas"] = tuple(group["betas"])
        if norm is not None:
            self._check_group(group)

    def _check_group(self, group: dict) -> None:
        """Validate what only this optimizer's LMO groups have (subclasses extend)."""

    # -- the update -------------------------------------------------------------------------
    def _buffers(self, group: dict) -> tuple[str, ...]:
        """The state tensors a group's update uses: all of ``BUFFERS`` unless a subclass says."""
        return self.BUFFERS

    def _hyperparameters(self, group: dict) -> dict:
        """The keyword arguments of ``UPDATE`` (other than ``lr``), read from the group."""
        return {key: group[key] for key in _keywords(self.UPDATE)}

    def _init_state(self, param: Tensor, group: dict) -> dict:
        state: dict = {"step": 0} if self.COUNT_STEPS else {}
        for name in self._buffers(group):
            state[name] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state

    def _update(self, param: Tensor, grad: Tensor, state: dict, group: dict, lr: float) -> None:
        if self.COUNT_STEPS:
            state["step"] += 1
        used = self._buffers(group)
        for name in used:
            if name not in state:  # switched on after the first step (momentum 0 -> mu)
                state[name] = torch.zeros_like(param)
        buffers = [state[name] if name in used else None for name in self.BUFFERS]
        self.UPDATE(param, grad, *buffers, lr=lr, **self._hyperparameters(group))

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
