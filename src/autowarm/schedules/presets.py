"""Named schedules of pretraining practice, each a join of warm-up, hold and decay pieces.

All presets take ``total_steps`` (the number of optimizer updates of the run) and return a
picklable ``step -> multiplier`` callable; pieces follow the end-inclusive convention of
:mod:`autowarm.schedules.pieces`. Shared keyword arguments:

- ``warmup_steps``: length of the warm-up ramp (0 = none). The ramp runs update ``warmup_steps``
  (step ``warmup_steps - 1``) at the peak and never runs its first update at 0.
- ``warmup``: the ramp's shape, ``"linear"``, ``"cosine"`` (half-cosine) or ``"exponential"``
  (``1 - exp(-rate p)`` normalised to reach 1, ``warmup_rate`` default 5); or ``"untuned"`` /
  ``"untuned-exponential"``, the Ma & Yarats factor for ``beta2`` multiplied onto the schedule
  (``warmup_steps`` must then be 0).
- ``warmup_start``: the factor the ramp starts from (0 by default; ``1/div_factor`` for 1cycle).
- ``min_lr_factor``: the floor the decay ends at, as a fraction of the peak.
"""

from __future__ import annotations

from autowarm.schedules import _validate as v
from autowarm.schedules.pieces import (
    Constant,
    InverseSqrt,
    Join,
    Product,
    Ramp,
    sequence,
)
from autowarm.schedules.special import Cyclic, OneCycle, PowerLaw, UntunedWarmup

WARMUP_SHAPES = ("linear", "cosine", "exponential", "untuned", "untuned-exponential")
# User-facing decay shapes -> the curve of the ramp from 1 down to the floor.
DECAY_SHAPES = {
    "constant": None,
    "linear": "linear",
    "cosine": "cosine",
    "1-sqrt": "sqrt",
    "square": "square",
    "polynomial": "polynomial",
    "exponential": "geometric",
    "rex": "rex",
    "mirror_cosine": "mirror_cosine",
}


def warmup_ramp(
    warmup_steps: int, warmup: str = "linear", warmup_start: float = 0.0, warmup_rate: float = 5.0
) -> Ramp:
    """The warm-up piece: a ramp from ``warmup_start`` to 1 over ``warmup_steps`` updates.

    >>> [warmup_ramp(4)(k) for k in range(4)]
    [0.25, 0.5, 0.75, 1.0]
    """
    v.steps("warmup_steps", warmup_steps, minimum=1)
    v.choice("warmup", warmup, ("linear", "cosine", "exponential"))
    v.real("warmup_start", warmup_start, low=0.0, high=1.0)
    curve = {"linear": "linear", "cosine": "cosine", "exponential": "exp"}[warmup]
    return Ramp(warmup_steps, warmup_start, 1.0, curve, warmup_rate)


def decay_ramp(
    decay_steps: int, decay: str = "cosine", min_lr_factor: float = 0.0, power: float = 1.0
):
    """The decay piece: from the peak (1) down to ``min_lr_factor`` over ``decay_steps`` updates.

    ``decay`` is one of ``constant``, ``linear``, ``cosine``, ``1-sqrt``, ``square``, ``polynomial``
    (``(1 - p)**power``), ``exponential`` (geometric, needs ``min_lr_factor > 0``), ``rex``,
    ``mirror_cosine``. The last update runs at ``min_lr_factor`` exactly.

    >>> [decay_ramp(4, "linear")(k) for k in range(5)]
    [0.75, 0.5, 0.25, 0.0, 0.0]
    """
    v.steps("decay_steps", decay_steps, minimum=1)
    v.choice("decay", decay, tuple(DECAY_SHAPES))
    v.factor("min_lr_factor", min_lr_factor)
    curve = DECAY_SHAPES[decay]
    if curve is None:
        return Constant(1.0)
    return Ramp(decay_steps, 1.0, min_lr_factor, curve, power)


def _with_warmup(total_steps: int, warmup_steps: int, body, *, warmup: str, **wkw):
    """Prefix ``body`` (a piece run after the warm-up) with the warm-up ramp or untuned factor."""
    if warmup in ("untuned", "untuned-exponential"):
        if warmup_steps:
            raise ValueError(
                f"warmup={warmup!r} sets its own length from beta2; pass warmup_steps=0, "
                f"got {warmup_steps!r}"
            )
        shape = "linear" if warmup == "untuned" else "exponential"
        return Product((UntunedWarmup(wkw.get("beta2", 0.999), shape), body))
    if warmup_steps == 0:
        return sequence((None, body))
    ramp = warmup_ramp(warmup_steps, warmup, wkw.get("warmup_start", 0.0), wkw.get("rate", 5.0))
    return sequence((warmup_steps, ramp), (None, body))


def _check_common(total_steps: int, warmup_steps: int, warmup: str) -> None:
    v.steps("total_steps", total_steps, minimum=1)
    v.steps("warmup_steps", warmup_steps)
    v.choice("warmup", warmup, WARMUP_SHAPES)
    if warmup_steps > total_steps:
        raise ValueError(
            f"warmup_steps must be <= total_steps ({total_steps}); got {warmup_steps!r}"
        )


def warmup_decay(
    total_steps: int,
    warmup_steps: int = 0,
    *,
    decay: str = "cosine",
    min_lr_factor: float = 0.0,
    hold_steps: int = 0,
    power: float = 1.0,
    warmup: str = "linear",
    warmup_start: float = 0.0,
    warmup_rate: float = 5.0,
    beta2: float = 0.999,
) -> Join | Product:
    """Warm-up, optional hold at the peak, then a decay to ``min_lr_factor`` by the last update.

    The general form behind ``constant``, ``linear``, ``cosine``, ``polynomial``, ``exponential`` and
    ``rex``: ``warmup_steps`` of ramp, ``hold_steps`` at 1, and the decay over the remaining
    ``total_steps - warmup_steps - hold_steps`` updates (at least one).

    >>> s = warmup_decay(6, 2, decay="linear")
    >>> [s(k) for k in range(7)]
    [0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    _check_common(total_steps, warmup_steps, warmup)
    v.steps("hold_steps", hold_steps)
    decay_steps = total_steps - warmup_steps - hold_steps
    if decay_steps < 1 and DECAY_SHAPES.get(decay, "") is not None:
        raise ValueError(
            f"warmup_steps + hold_steps must leave at least one decay step of total_steps "
            f"({total_steps}); got warmup_steps={warmup_steps}, hold_steps={hold_steps}"
        )
    body = decay_ramp(max(decay_steps, 1), decay, min_lr_factor, power)
    if hold_steps:
        body = sequence((hold_steps, Constant(1.0)), (None, body))
    return _with_warmup(
        total_steps,
        warmup_steps,
        body,
        warmup=warmup,
        warmup_start=warmup_start,
        rate=warmup_rate,
        beta2=beta2,
    )


def constant(total_steps: int, warmup_steps: int = 0, **kw) -> Join | Product:
    """Warm-up then a constant peak LR.

    >>> [constant(5, 2)(k) for k in range(4)]
    [0.5, 1.0, 1.0, 1.0]
    """
    return warmup_decay(total_steps, warmup_steps, decay="constant", **kw)


def linear(total_steps: int, warmup_steps: int = 0, min_lr_factor: float = 0.0, **kw):
    """Warm-up then linear decay to ``min_lr_factor`` (0 = decay to zero, D2Z; Bergsma et al. 2025,
    arXiv 2502.15938).

    >>> [linear(4)(k) for k in range(4)]
    [0.75, 0.5, 0.25, 0.0]
    """
    return warmup_decay(
        total_steps, warmup_steps, decay="linear", min_lr_factor=min_lr_factor, **kw
    )


def cosine(total_steps: int, warmup_steps: int = 0, min_lr_factor: float = 0.0, **kw):
    """Warm-up then cosine annealing to ``min_lr_factor`` (Loshchilov & Hutter, arXiv 1608.03983).

    >>> [round(cosine(4)(k), 4) for k in range(4)]
    [0.8536, 0.5, 0.1464, 0.0]
    """
    return warmup_decay(
        total_steps, warmup_steps, decay="cosine", min_lr_factor=min_lr_factor, **kw
    )


def polynomial(
    total_steps: int, warmup_steps: int = 0, power: float = 1.0, min_lr_factor: float = 0.0, **kw
):
    """Warm-up then ``min + (1 - min) (1 - p)**power`` (torch's PolynomialLR shape).

    >>> [polynomial(4, power=2.0)(k) for k in range(4)]
    [0.5625, 0.25, 0.0625, 0.0]
    """
    return warmup_decay(
        total_steps,
        warmup_steps,
        decay="polynomial",
        power=power,
        min_lr_factor=min_lr_factor,
        **kw,
    )


def exponential(total_steps: int, warmup_steps: int = 0, min_lr_factor: float = 1e-2, **kw):
    """Warm-up then geometric decay from 1 to ``min_lr_factor`` (> 0) by the last update.

    >>> [round(exponential(2, min_lr_factor=0.01)(k), 4) for k in range(2)]
    [0.1, 0.01]
    """
    return warmup_decay(
        total_steps, warmup_steps, decay="exponential", min_lr_factor=min_lr_factor, **kw
    )


def rex(total_steps: int, warmup_steps: int = 0, min_lr_factor: float = 0.0, **kw):
    """Warm-up then REX, ``(1 - z) / (1 - z/2)`` (Chen, Wolfe & Kyrillidis, MLSys 2022, arXiv 2107.04197).

    >>> [round(rex(4)(k), 4) for k in range(4)]
    [0.8571, 0.6667, 0.4, 0.0]
    """
    return warmup_decay(total_steps, warmup_steps, decay="rex", min_lr_factor=min_lr_factor, **kw)


def inverse_sqrt(
    total_steps: int,
    warmup_steps: int = 0,
    timescale: float | None = None,
    min_lr_factor: float = 0.0,
    *,
    warmup: str = "linear",
    warmup_start: float = 0.0,
    beta2: float = 0.999,
):
    """Warm-up then ``sqrt(timescale / (timescale + t))``, ``t`` updates after the peak.

    ``timescale`` defaults to ``warmup_steps`` (the classic ``1/sqrt(step)`` continuation of a linear
    warm-up); without a warm-up it must be given. ``total_steps`` only validates ``warmup_steps``:
    the decay never ends (held at ``min_lr_factor`` once reached).

    >>> s = inverse_sqrt(10, warmup_steps=4)
    >>> [round(s(k), 4) for k in range(6)]
    [0.25, 0.5, 0.75, 1.0, 0.8944, 0.8165]
    """
    _check_common(total_steps, warmup_steps, warmup)
    if timescale is None:
        if warmup_steps == 0:
            raise ValueError("inverse_sqrt without warm-up needs a timescale (in steps) > 0")
        timescale = float(warmup_steps)
    body = InverseSqrt(
        timescale=timescale, start=1.0, min_value=v.factor("min_lr_factor", min_lr_factor)
    )
    return _with_warmup(
        total_steps, warmup_steps, body, warmup=warmup, warmup_start=warmup_start, beta2=beta2
    )


def warmup_cosine(
    total_steps: int,
    warmup_steps: int,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    *,
    warmup: str = "linear",
):
    """Warm-up + cosine in torch ``OneCycleLR``'s parameterisation (the seed paper's baselines).

    The first update runs at ``1/div_factor``, the ramp reaches the peak at update ``warmup_steps``
    (step ``warmup_steps - 1``) and the cosine ends at ``1/(div_factor * final_div_factor)`` on the
    last update. With ``warmup="cosine"`` it equals
    ``OneCycleLR(pct_start=warmup_steps/total_steps, anneal_strategy="cos")`` step for step. With
    ``warmup_steps=0`` the cosine starts at the peak (OneCycleLR with ``pct_start=0``, as the seed
    paper's adaptive runs use after the switch).

    >>> s = warmup_cosine(6, 3, div_factor=10.0, final_div_factor=10.0)
    >>> [round(s(k), 4) for k in range(6)]
    [0.1, 0.55, 1.0, 0.7525, 0.2575, 0.01]
    """
    v.steps("total_steps", total_steps, minimum=1)
    v.steps("warmup_steps", warmup_steps)
    v.choice("warmup", warmup, ("linear", "cosine", "exponential"))
    div = v.real("div_factor", div_factor, low=1.0)
    fdiv = v.real("final_div_factor", final_div_factor, low=1.0)
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_steps must be < total_steps ({total_steps}) to leave a decay; "
            f"got {warmup_steps!r}"
        )
    start = 1.0 / div
    decay = Ramp(total_steps - warmup_steps, 1.0, start / fdiv, "cosine")
    if warmup_steps == 0:
        return sequence((None, decay))
    if warmup_steps == 1:
        return sequence((1, Constant(start)), (None, decay))
    ramp = warmup_ramp(warmup_steps - 1, warmup, start)
    return sequence((1, Constant(start)), (warmup_steps - 1, ramp), (None, decay))


def onecycle(
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> OneCycle:
    """The 1cycle policy, identical to ``torch.optim.lr_scheduler.OneCycleLR`` (fractional phases too).

    >>> round(onecycle(100)(29), 6), round(onecycle(100)(99), 8)
    (1.0, 4e-06)
    """
    return OneCycle(total_steps, pct_start, div_factor, final_div_factor, anneal, three_phase)


def wsd(
    total_steps: int,
    warmup_steps: int,
    cooldown_frac: float,
    cooldown: str = "1-sqrt",
    min_lr_factor: float = 0.0,
    *,
    warmup: str = "linear",
    warmup_start: float = 0.0,
    beta2: float = 0.999,
):
    """Warmup-stable-decay: warm-up, constant peak, cooldown over the last ``cooldown_frac`` of the run.

    The cooldown has ``round(cooldown_frac * total_steps)`` updates and any decay shape (default
    ``1-sqrt``, which beats linear in Hagele et al. 2024, arXiv 2405.18392); it ends at
    ``min_lr_factor`` on the last update.

    >>> s = wsd(10, 2, 0.4, cooldown="linear")
    >>> [s(k) for k in range(10)]
    [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    _check_common(total_steps, warmup_steps, warmup)
    frac = v.frac("cooldown_frac", cooldown_frac)
    v.choice("cooldown", cooldown, tuple(DECAY_SHAPES))
    cooldown_steps = round(frac * total_steps)
    stable = total_steps - warmup_steps - cooldown_steps
    if stable < 0:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) + cooldown ({cooldown_steps} = round(cooldown_frac * "
            f"total_steps)) exceed total_steps ({total_steps})"
        )
    if cooldown_steps == 0:
        body = Constant(1.0)
    else:
        body = sequence(
            (stable, Constant(1.0)), (None, decay_ramp(cooldown_steps, cooldown, min_lr_factor))
        )
    return _with_warmup(
        total_steps, warmup_steps, body, warmup=warmup, warmup_start=warmup_start, beta2=beta2
    )


def cos_inf(
    total_steps: int,
    warmup_steps: int = 0,
    tail_frac: float = 0.2,
    min_lr_factor: float = 0.1,
    *,
    warmup: str = "linear",
    warmup_start: float = 0.0,
):
    """Warm-up, cosine down to ``min_lr_factor``, then a constant tail over the last ``tail_frac``.

    The "cosine with constant tail" of Hagele et al. 2024 (arXiv 2405.18392): the run can be
    continued at the tail LR and cooled down later.

    >>> s = cos_inf(6, 0, tail_frac=0.5, min_lr_factor=0.2)
    >>> [round(s(k), 2) for k in range(6)]
    [0.8, 0.4, 0.2, 0.2, 0.2, 0.2]
    """
    _check_common(total_steps, warmup_steps, warmup)
    frac = v.frac("tail_frac", tail_frac)
    tail = round(frac * total_steps)
    anneal = total_steps - warmup_steps - tail
    if anneal < 1:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) + tail ({tail}) must leave a cosine of at least one "
            f"step of total_steps ({total_steps})"
        )
    body = sequence(
        (anneal, decay_ramp(anneal, "cosine", min_lr_factor)),
        (None, Constant(v.factor("min_lr_factor", min_lr_factor))),
    )
    return _with_warmup(total_steps, warmup_steps, body, warmup=warmup, warmup_start=warmup_start)


def cyclic(
    total_steps: int,
    base_factor: float = 0.1,
    cycles: int = 1,
    step_size_up: int | None = None,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Cyclic:
    """Cyclical LR between ``base_factor`` and 1 (torch ``CyclicLR`` maths).

    Without explicit step sizes the run holds ``cycles`` triangles: ``step_size_up = step_size_down =
    total_steps // (2 * cycles)``.

    >>> [round(cyclic(8, 0.2, cycles=2)(k), 2) for k in range(8)]
    [0.2, 0.6, 1.0, 0.6, 0.2, 0.6, 1.0, 0.6]
    """
    v.steps("total_steps", total_steps, minimum=2)
    v.steps("cycles", cycles, minimum=1)
    if step_size_up is None:
        step_size_up = total_steps // (2 * cycles)
        if step_size_up < 1:
            raise ValueError(f"{cycles} cycles do not fit in total_steps={total_steps}")
        step_size_down = step_size_up if step_size_down is None else step_size_down
    return Cyclic(base_factor, step_size_up, step_size_down, mode, gamma)


def power(
    total_steps: int,
    warmup_steps: int = 0,
    decay_frac: float = 0.1,
    *,
    tokens_per_step: float,
    a: float = 4.0,
    b: float = -0.51,
    lr_max: float = 0.02,
    batch_size: float = 1.0,
    decay: str = "linear",
    min_lr_factor: float = 0.0,
):
    """The Power scheduler (Shen et al. 2024, arXiv 2408.13359): warm-up, power law, final decay.

    With ``eta_pow(n) = min(lr_max, batch_size * a * n**b)`` and ``n`` tokens seen: a linear ramp to
    ``eta_pow`` at the end of the warm-up, then ``eta_pow(n)``, then a decay from
    ``eta_pow(N - N_decay)`` over the last ``decay_frac`` of the run (shape ``decay``, default linear as
    in a public reference implementation; the paper defines the decay function generically). The
    multiplier is relative to ``lr_max``: set the optimizer's base LR to ``lr_max``. Defaults
    ``a = 4``, ``b = -0.51``, ``lr_max = 0.02`` are the paper's muP values.

    >>> s = power(100, 10, 0.2, tokens_per_step=1e5)
    >>> round(s(9), 4), round(s(50), 4), s(99)
    (0.1742, 0.0759, 0.0)
    """
    v.steps("total_steps", total_steps, minimum=1)
    v.steps("warmup_steps", warmup_steps)
    frac = v.frac("decay_frac", decay_frac)
    decay_steps = round(frac * total_steps)
    stable = total_steps - warmup_steps - decay_steps
    if stable < 0:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) + decay ({decay_steps}) exceed total_steps "
            f"({total_steps})"
        )
    law = PowerLaw(tokens_per_step, a, b, lr_max, batch_size)
    segments = []
    if warmup_steps:
        segments.append((warmup_steps, Ramp(warmup_steps, 0.0, law(warmup_steps - 1))))
    segments.append((stable, PowerLaw(tokens_per_step, a, b, lr_max, batch_size, warmup_steps)))
    if decay_steps:
        peak = law(warmup_steps + stable - 1) if stable + warmup_steps else 1.0
        ramp = decay_ramp(decay_steps, decay, min_lr_factor)
        segments.append((None, Product((Constant(peak), ramp))))
    else:
        segments[-1] = (None, segments[-1][1])
    return sequence(*segments)
