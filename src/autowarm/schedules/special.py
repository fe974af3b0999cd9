"""Schedules that are not plain ramps: torch's OneCycleLR and CyclicLR maths, untuned warm-up, power law.

These reproduce well-known formulas exactly (parity-tested against ``torch.optim.lr_scheduler``
where torch has them) and return multipliers of the peak LR. :class:`OneCycle` keeps the argument
names of ``OneCycleLR`` (``pct_start``, ``div_factor``, ``final_div_factor``) because it *is* that
scheduler; the factory :func:`autowarm.schedules.onecycle` also speaks the package vocabulary
(``warmup_frac``, ``min_lr_factor``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autowarm.schedules import _validate as v


def _anneal(start: float, end: float, pct: float, strategy: str) -> float:
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
    return (end - start) * pct + start


@dataclass(frozen=True)
class OneCycle:
    """The 1cycle policy exactly as ``torch.optim.lr_scheduler.OneCycleLR`` computes it.

    Phase ends are the (possibly fractional) steps ``pct_start * T - 1`` (peak) and ``T - 1`` (final);
    with ``three_phase`` the LR returns to the initial value at ``2 * pct_start * T - 2`` before
    annihilating. Multipliers are relative to the peak: initial ``1/div_factor``, final
    ``1/(div_factor * final_div_factor)`` (Smith & Topin 2019, arXiv 1708.07120). Steps past
    ``T - 1`` keep following the last phase's formula clamped to its end value.

    >>> s = OneCycle(total_steps=5, pct_start=0.4, div_factor=10.0, final_div_factor=10.0)
    >>> [round(s(k), 4) for k in range(5)]
    [0.1, 1.0, 0.7525, 0.2575, 0.01]
    """

    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: str = "cos"
    three_phase: bool = False

    def __post_init__(self) -> None:
        v.steps("total_steps", self.total_steps, minimum=2)
        v.real("pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
        v.real("div_factor", self.div_factor, low=1.0)
        v.real("final_div_factor", self.final_div_factor, low=1.0)
        v.choice("anneal", self.anneal, ("cos", "linear"))
        v.flag("three_phase", self.three_phase)
        end1 = float(self.pct_start * self.total_steps) - 1
        if end1 <= 0:
            raise ValueError(
                f"pct_start * total_steps must exceed 1 (the warm-up needs two steps); got "
                f"pct_start={self.pct_start!r}, total_steps={self.total_steps!r}"
            )

    def _phases(self) -> list[tuple[float, float, float]]:
        t = self.total_steps
        init = 1.0 / self.div_factor
        final = init / self.final_div_factor
        if self.three_phase:
            return [
                (float(self.pct_start * t) - 1, init, 1.0),
                (float(2 * self.pct_start * t) - 2, 1.0, init),
                (t - 1.0, init, final),
            ]
        return [(float(self.pct_start * t) - 1, init, 1.0), (t - 1.0, 1.0, final)]

    def __call__(self, step: int) -> float:
        k = min(v.step_arg(step), self.total_steps - 1)
        phases = self._phases()
        start_step = 0.0
        for i, (end_step, lo, hi) in enumerate(phases):
            if k <= end_step or i == len(phases) - 1:
                pct = (k - start_step) / (end_step - start_step)
                return _anneal(lo, hi, pct, self.anneal)
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Cyclic:
    """Cyclical LR (Smith 2017, arXiv 1506.01186) exactly as ``torch.optim.lr_scheduler.CyclicLR``.

    With ``c = floor(1 + k / (up + down))`` and ``x = 1 + k / (up + down) - c``, the height is
    ``x / r`` while ``x <= r = up / (up + down)`` and ``(x - 1) / (r - 1)`` after; the multiplier is
    ``m + (1 - m) * height * scale`` with ``scale = 1`` (triangular), ``1 / 2**(c - 1)``
    (triangular2) or ``gamma**k`` (exp_range). The floor ``m = min_lr_factor`` is torch's
    ``base_lr / max_lr``; it must be > 0 so no update runs at 0.

    >>> s = Cyclic(min_lr_factor=0.1, step_size_up=2, step_size_down=2)
    >>> [round(s(k), 3) for k in range(6)]
    [0.1, 0.55, 1.0, 0.55, 0.1, 0.55]
    """

    min_lr_factor: float
    step_size_up: int
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        v.real("min_lr_factor", self.min_lr_factor, low=0.0, high=1.0, low_open=True)
        v.steps("step_size_up", self.step_size_up, minimum=1)
        if self.step_size_down is not None:
            v.steps("step_size_down", self.step_size_down, minimum=1)
        v.choice("mode", self.mode, ("triangular", "triangular2", "exp_range"))
        v.real("gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def __call__(self, step: int) -> float:
        k = v.step_arg(step)
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        total = up + down
        ratio = up / total
        cycle = math.floor(1 + k / total)
        x = 1.0 + k / total - cycle
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 1.0 / (2.0 ** (cycle - 1))
        else:
            scale = self.gamma**k
        return self.min_lr_factor + (1.0 - self.min_lr_factor) * height * scale


@dataclass(frozen=True)
class UntunedWarmup:
    """Untuned warm-up factor of Ma & Yarats (AAAI 2021, arXiv 1910.04209) for Adam-style beta2.

    ``linear``: ``min(1, t (1 - beta2) / 2)`` (a warm-up of ``2 / (1 - beta2)`` steps);
    ``exponential``: ``1 - exp(-(1 - beta2) t)``, with ``t = step + 1`` the 1-based update index, so the
    first update is never at 0. Multiply it onto any schedule (``product``).

    >>> w = UntunedWarmup(beta2=0.5)
    >>> [w(k) for k in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    beta2: float = 0.999
    shape: str = "linear"

    def __post_init__(self) -> None:
        v.real("beta2", self.beta2, low=0.0, high=1.0, high_open=True)
        v.choice("shape", self.shape, ("linear", "exponential"))

    def __call__(self, step: int) -> float:
        t = v.step_arg(step) + 1
        if self.shape == "linear":
            return min(1.0, t * (1.0 - self.beta2) / 2.0)
        return -math.expm1(-(1.0 - self.beta2) * t)


@dataclass(frozen=True)
class PowerLaw:
    """The power-law LR of the Power scheduler (Shen et al. 2024, arXiv 2408.13359) as a multiplier.

    ``eta(n) = min(lr_max, batch_size * a * n**b)`` with ``n`` the tokens seen after the update
    (``n = (offset + j + 1) * tokens_per_step``); the multiplier is ``eta(n) / lr_max`` (so the
    optimizer's base LR should be ``lr_max``).

    >>> p = PowerLaw(tokens_per_step=1000, a=4.0, b=-0.51, lr_max=0.02)
    >>> round(p(0), 6), round(p(10**6), 6)
    (1.0, 0.005141)
    """

    tokens_per_step: float
    a: float = 4.0
    b: float = -0.51
    lr_max: float = 0.02
    batch_size: float = 1.0
    offset: int = 0

    def __post_init__(self) -> None:
        v.real("tokens_per_step", self.tokens_per_step, low=0.0, low_open=True)
        v.real("a", self.a, low=0.0, low_open=True)
        v.real("b", self.b, high=0.0)
        v.real("lr_max", self.lr_max, low=0.0, low_open=True)
        v.real("batch_size", self.batch_size, low=0.0, low_open=True)
        v.steps("offset", self.offset)

    def __call__(self, step: int) -> float:
        n = (self.offset + v.step_arg(step) + 1) * self.tokens_per_step
        return min(1.0, self.batch_size * self.a * n**self.b / self.lr_max)
