"""LR transfer across schedules and horizons, and WSD continued training, from the convex bound.

The bound-optimal base LR ``gamma*`` of :func:`autowarm.theory.bound` predicts how the tuned LR
moves when the schedule or the horizon changes (Schaipp et al. 2025, arXiv 2501.18965, Sec. 5):

.. math:: \\gamma_B = \\gamma_A\\,\\gamma^*(B)/\\gamma^*(A)

with both ``gamma*`` computed for ``D = G = 1`` (the ratio does not depend on them for constant
``G``). Example: WSD with a 20 % linear cooldown to linear decay at the same horizon multiplies the
LR by ``1/0.514 = 1.95``; cosine to WSD(0.2) divides it by about 1.9.

Continued training (same paper, Sec. 5.1): a finished WSD run of ``T1`` updates at LR ``gamma``
with cooldown fraction ``c`` is extended to ``T2 > T1`` as a two-stage WSD: hold ``gamma`` until the
old cooldown would have started (``(1 - c) T1``), then ``rho * gamma`` until the new cooldown,
then a linear cooldown over the last ``c T2`` updates, with ``rho`` chosen so that the new
schedule's ``gamma*`` equals the old one's (the run's ``gamma`` stays optimal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autowarm.schedules._validate import frac, positive, real, steps
from autowarm.theory.bound import ArrayLike, bound


@dataclass(frozen=True)
class Transfer:
    """The result of :func:`transfer_lr`.

    Attributes:
        lr: the transferred base LR ``gamma_B``.
        factor: ``gamma*(B) / gamma*(A)``.
        gamma_star_from / gamma_star_to: the bound-optimal base LRs (``D = G = 1``).
        omega_star_from / omega_star_to: the bounds at those LRs.
        steps_from / steps_to: the multipliers each bound kept (trailing zeros dropped).
    """

    lr: float
    factor: float
    gamma_star_from: float
    gamma_star_to: float
    omega_star_from: float
    omega_star_to: float
    steps_from: int
    steps_to: int


def transfer_lr(
    lr: float, etas_from: ArrayLike, etas_to: ArrayLike, grad_norms: float = 1.0
) -> Transfer:
    """Transfer a tuned base LR from schedule A to schedule B (any shapes, any horizons).

    Args:
        lr: the tuned base LR of schedule A (> 0).
        etas_from: A's multipliers, one per update (``sample(schedule_a, T_a)``).
        etas_to: B's multipliers (``sample(schedule_b, T_b)``); ``T_b != T_a`` transfers across
            horizons too.
        grad_norms: constant ``G`` for both (it cancels in the ratio; kept for completeness).

    >>> a = [1.0] * 800 + [1 - (j + 1) / 200 for j in range(200)]  # WSD, 20 % linear cooldown
    >>> b = [1 - (j + 1) / 1000 for j in range(1000)]               # linear decay to 0
    >>> round(transfer_lr(1e-3, a, b).factor, 2)
    1.95
    """
    lr = positive("lr", lr)
    g = positive("grad_norms", grad_norms)
    a, b = bound(etas_from, g), bound(etas_to, g)
    factor = b.gamma_star / a.gamma_star
    return Transfer(
        lr=lr * factor,
        factor=factor,
        gamma_star_from=a.gamma_star,
        gamma_star_to=b.gamma_star,
        omega_star_from=a.omega_star,
        omega_star_to=b.omega_star,
        steps_from=a.steps,
        steps_to=b.steps,
    )


def wsd_multipliers(
    total_steps: int,
    cooldown_frac: float,
    warmup_steps: int = 0,
    *,
    rho: float = 1.0,
    hold_steps: int | None = None,
) -> np.ndarray:
    """A (two-stage) WSD with a linear warm-up and a linear cooldown to 0, as multipliers.

    Update ``k`` (0-based) gets: a linear ramp ``(k + 1)/W`` for ``k < W = warmup_steps``; 1 until
    ``hold_steps`` (default: the start of the cooldown); ``rho`` until the cooldown; then
    ``rho (1 - (j + 1)/N)`` over the last ``N = round(cooldown_frac * total_steps)`` updates. With
    ``rho = 1`` this equals ``autowarm.schedules.wsd(total_steps, warmup_steps, cooldown_frac,
    cooldown="linear")`` sampled.

    >>> wsd_multipliers(8, 0.25, 2, rho=0.5, hold_steps=4).tolist()
    [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.0]
    """
    total = steps("total_steps", total_steps, minimum=1)
    warm = steps("warmup_steps", warmup_steps, minimum=0)
    c = frac("cooldown_frac", cooldown_frac)
    r = real("rho", rho, low=0.0, high=1.0, low_open=True)
    n_cool = round(c * total)
    start = total - n_cool
    if warm > start:
        raise ValueError(
            f"warmup_steps ({warm}) + cooldown ({n_cool}) exceed total_steps ({total})"
        )
    hold = start if hold_steps is None else steps("hold_steps", hold_steps, minimum=warm)
    if hold > start:
        raise ValueError(f"hold_steps must be <= the cooldown start {start}; got {hold_steps!r}")
    out = np.full(total, r)
    out[:hold] = 1.0
    out[:warm] = (np.arange(warm) + 1.0) / warm
    out[start:] = r * (1.0 - (np.arange(n_cool) + 1.0) / n_cool) if n_cool else r
    return out


@dataclass(frozen=True)
class Extension:
    """The result of :func:`extend_wsd`.

    Attributes:
        rho: the LR factor of the second stage.
        lr: the base LR (unchanged from the finished run).
        hold_steps: updates held at ``lr`` (the old cooldown start ``(1 - c) T1``).
        cooldown_steps: updates of the new linear cooldown (``round(c T2)``).
        multipliers: the new schedule, one multiplier per update of ``T2``.
        omega: the bound at ``lr``'s calibration for the extended schedule, a fresh WSD at ``T2``
            re-tuned, and the same WSD at the old LR (``D = G = 1``, ``gamma = gamma*(old)``):
            keys ``extended``, ``fresh_tuned``, ``fresh_same_lr``.
    """

    rho: float
    lr: float
    hold_steps: int
    cooldown_steps: int
    multipliers: np.ndarray
    omega: dict


def extend_wsd(
    lr: float,
    total_steps: int,
    new_total_steps: int,
    cooldown_frac: float = 0.2,
    warmup_steps: int = 0,
    *,
    tol: float = 1e-10,
) -> Extension:
    """Plan the continuation of a finished WSD run to a longer horizon (two-stage WSD).

    Args:
        lr: the base LR of the finished run (kept for the first stage).
        total_steps: ``T1``, updates of the finished run.
        new_total_steps: ``T2 > T1``.
        cooldown_frac: ``c``, the cooldown fraction of both the old and the new run.
        warmup_steps: the linear warm-up of the old run (part of both schedules).
        tol: bisection tolerance on ``rho``.

    ``rho`` solves ``gamma*(new(rho)) = gamma*(old)`` by bisection: ``gamma*`` of the new schedule
    grows as ``rho`` shrinks. For ``T2/T1 = 2`` and ``c = 0.2`` it is about 0.535.

    >>> e = extend_wsd(1e-3, 1000, 2000, 0.2)
    >>> round(e.rho, 2), e.hold_steps, e.cooldown_steps
    (0.54, 800, 400)
    """
    lr = positive("lr", lr)
    t1 = steps("total_steps", total_steps, minimum=2)
    t2 = steps("new_total_steps", new_total_steps, minimum=t1 + 1)
    old = wsd_multipliers(t1, cooldown_frac, warmup_steps)
    hold = t1 - round(float(cooldown_frac) * t1)
    target = bound(old).gamma_star

    def gamma(rho: float) -> float:
        return bound(
            wsd_multipliers(t2, cooldown_frac, warmup_steps, rho=rho, hold_steps=hold)
        ).gamma_star

    # gamma*(rho) rises as rho falls from 1, peaks, then falls again (rho -> 0 is an abrupt drop);
    # the plan is the largest root: scan down from 1 to bracket it, then bisect.
    rho = 1.0
    if gamma(1.0) < target:
        grid = np.linspace(1.0, 0.01, 100)
        above = next((r for r in grid if gamma(r) >= target), None)
        if above is None:
            raise ValueError(
                f"no rho in (0, 1] keeps the bound-optimal LR when extending {t1} -> {t2} steps "
                f"with cooldown_frac={cooldown_frac}"
            )
        lo, hi = float(above), float(above) + (grid[0] - grid[1])
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if gamma(mid) >= target else (lo, mid)
        rho = float(0.5 * (lo + hi))
    new = wsd_multipliers(t2, cooldown_frac, warmup_steps, rho=rho, hold_steps=hold)
    fresh = bound(wsd_multipliers(t2, cooldown_frac, warmup_steps))
    omega = {
        "extended": bound(new).omega(target),
        "fresh_tuned": fresh.omega_star,
        "fresh_same_lr": fresh.omega(target),
    }
    return Extension(
        rho=rho,
        lr=lr,
        hold_steps=hold,
        cooldown_steps=round(float(cooldown_frac) * t2),
        multipliers=new,
        omega=omega,
    )


def bound_table(schedules: dict[str, Sequence[float] | np.ndarray]) -> dict[str, dict]:
    """``gamma*``, ``Omega*`` and their ``sqrt(T)``-normalised values for named schedules."""
    out = {}
    for name, etas in schedules.items():
        b = bound(etas)
        root = math.sqrt(b.steps)
        out[name] = {
            "steps": b.steps,
            "gamma_star": b.gamma_star,
            "omega_star": b.omega_star,
            "gamma_star_sqrt_T": b.gamma_star * root,
            "omega_star_sqrt_T": b.omega_star * root,
        }
    return out
