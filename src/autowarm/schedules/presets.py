"""Named schedules of pretraining practice, each a join of warm-up, hold and decay pieces.

All presets take ``total_steps`` (the number of optimizer updates of the run) and return a
picklable ``step -> multiplier`` callable; pieces follow the end-inclusive convention of
:mod:`autowarm.schedules.pieces`. Every preset has an explicit signature: an option a schedule does
not use is an error, never silently ignored. One vocabulary across the package
(:data:`VOCABULARY`):

- ``warmup_steps``: length of the warm-up ramp (0 = none). The ramp runs update ``warmup_steps``
  (step ``warmup_steps - 1``) at the peak and never runs its first update at 0.
- ``warmup``: the ramp's shape, ``"linear"``, ``"cosine"`` (half-cosine) or ``"exponential"``
  (``1 - exp(-rate p)`` normalised to reach 1, ``warmup_rate`` default 5); or ``"untuned"`` /
  ``"untuned-exponential"``, the Ma & Yarats factor for ``beta2`` (default 0.999) multiplied onto
  the schedule (``warmup_steps`` must then be 0). ``warmup_rate`` is refused unless the shape is
  ``"exponential"``, ``beta2`` unless it is untuned.
- ``warmup_start``: the factor the ramp starts from (0 by default).
- ``warmup_frac``: a warm-up given as a fraction of the run (1cycle; alias ``pct_start``).
- ``decay``: the decay shape, one of :data:`DECAY_SHAPES` (alias ``cooldown`` in ``wsd``).
- ``decay_frac``: the fraction of the run the final decay takes (alias ``cooldown_frac`` in
  ``wsd``).
- ``min_lr_factor``: the floor the decay ends at, as a fraction of the peak (aliases
  ``final_div_factor`` in the torch-OneCycleLR parameterisations, ``base_factor`` in ``cyclic``).
  It defaults to 0 (decay to zero) except where 0 is invalid or pointless: ``exponential``
  (a geometric decay needs a floor > 0: 1e-2), ``cos_inf`` (the run continues at the floor: 0.1),
  ``cyclic`` (the bottom of the cycle: 0.1), ``warmup_cosine`` and ``onecycle`` (torch
  OneCycleLR's ``1 / (div_factor * final_div_factor)`` = 4e-6).

An alias and its canonical name cannot both be given; error messages name both spellings.
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

# The package's names for recurring concepts: name -> (meaning, documented aliases).
VOCABULARY: dict[str, tuple[str, tuple[str, ...]]] = {
    "total_steps": ("optimizer updates in the run", ()),
    "warmup_steps": ("updates of the warm-up ramp; update warmup_steps runs at the peak", ()),
    "warmup_frac": ("the warm-up as a fraction of total_steps (1cycle)", ("pct_start",)),
    "warmup": ("warm-up shape: linear, cosine, exponential, untuned, untuned-exponential", ()),
    "warmup_start": ("the factor the warm-up ramp starts from (never run itself)", ()),
    "hold_steps": ("updates held at the peak between warm-up and decay", ()),
    "decay": ("decay shape, one of DECAY_SHAPES", ("cooldown",)),
    "decay_frac": ("fraction of total_steps the final decay takes", ("cooldown_frac",)),
    "min_lr_factor": (
        "floor of the multiplier, as a fraction of the peak",
        ("final_div_factor", "base_factor", "min_value"),
    ),
    "div_factor": ("torch OneCycleLR: the first update runs at 1 / div_factor", ()),
    "tail_frac": ("fraction of total_steps held at the floor after the decay (cos_inf)", ()),
}
# Every alias -> its canonical name (registry specs and ``autowarm schedule --list`` use it).
ALIASES: dict[str, str] = {a: name for name, (_, al) in VOCABULARY.items() for a in al}


def warmup_ramp(
    warmup_steps: int,
    warmup: str = "linear",
    warmup_start: float = 0.0,
    warmup_rate: float = 5.0,
) -> Ramp:
    """The warm-up piece: a ramp from ``warmup_start`` to 1 over ``warmup_steps`` updates.

    ``f(j) = s + (1 - s) c((j + 1) / W)`` with ``s = warmup_start``, ``W = warmup_steps`` and ``c``
    the shape's curve (``warmup_rate`` is the rate of the exponential shape).

    >>> [warmup_ramp(4)(k) for k in range(4)]
    [0.25, 0.5, 0.75, 1.0]
    """
    v.steps("warmup_steps", warmup_steps, minimum=1)
    v.choice("warmup", warmup, ("linear", "cosine", "exponential"))
    v.real("warmup_start", warmup_start, low=0.0, high=1.0)
    v.real("warmup_rate", warmup_rate, low=0.0, low_open=True)
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


def _check_warmup(
    owner: str,
    total_steps: int,
    warmup_steps: int,
    warmup: str,
    warmup_start: float | None,
    warmup_rate: float | None,
    beta2: float | None,
) -> None:
    """Check the warm-up arguments shared by the presets (refusing options the shape ignores)."""
    v.steps("total_steps", total_steps, minimum=1)
    v.steps("warmup_steps", warmup_steps)
    v.choice("warmup", warmup, WARMUP_SHAPES)
    if warmup_steps > total_steps:
        raise ValueError(
            f"warmup_steps must be <= total_steps ({total_steps}); got {warmup_steps!r}"
        )
    untuned = warmup in ("untuned", "untuned-exponential")
    if warmup != "exponential":
        v.unused(owner, "warmup_rate", warmup_rate, "warmup='exponential'")
    if not untuned:
        v.unused(owner, "beta2", beta2, "warmup='untuned' or 'untuned-exponential'")
    else:
        v.unused(owner, "warmup_start", warmup_start, "a ramp warm-up (not an untuned one)")
        if beta2 is not None:
            v.real("beta2", beta2, low=0.0, high=1.0, high_open=True)
        if warmup_steps:
            raise ValueError(
                f"warmup={warmup!r} sets its own length from beta2; pass warmup_steps=0, "
                f"got {warmup_steps!r}"
            )
    if warmup_start is not None:
        v.real("warmup_start", warmup_start, low=0.0, high=1.0)
    if warmup_rate is not None:
        v.real("warmup_rate", warmup_rate, low=0.0, low_open=True)


def _with_warmup(
    warmup_steps: int,
    body,
    warmup: str,
    warmup_start: float | None,
    warmup_rate: float | None,
    beta2: float | None,
):
    """Prefix ``body`` (a piece run after the warm-up) with the warm-up ramp or untuned factor."""
    if warmup in ("untuned", "untuned-exponential"):
        shape = "linear" if warmup == "untuned" else "exponential"
        return Product((UntunedWarmup(0.999 if beta2 is None else beta2, shape), body))
    if warmup_steps == 0:
        return sequence((None, body))
    ramp = warmup_ramp(
        warmup_steps,
        warmup,
        0.0 if warmup_start is None else warmup_start,
        5.0 if warmup_rate is None else warmup_rate,
    )
    return sequence((warmup_steps, ramp), (None, body))


def warmup_decay(
    total_steps: int,
    warmup_steps: int = 0,
    *,
    decay: str = "cosine",
    min_lr_factor: float = 0.0,
    hold_steps: int = 0,
    power: float | None = None,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
) -> Join | Product:
    """Warm-up, optional hold at the peak, then a decay to ``min_lr_factor`` by the last update.

    The general form behind ``constant``, ``linear``, ``cosine``, ``polynomial``, ``exponential`` and
    ``rex``: ``W = warmup_steps`` of ramp, ``H = hold_steps`` at 1, and the decay
    ``f = m + (1 - m) h(p)`` (``h`` the decay shape, ``m = min_lr_factor``) over the remaining
    ``N = total_steps - W - H`` updates (at least one), ``p = (j + 1) / N``. ``power`` is the exponent
    of ``decay="polynomial"`` (default 1) and refused for other shapes; with ``decay="constant"``
    there is no decay and ``min_lr_factor`` is never reached.

    >>> s = warmup_decay(6, 2, decay="linear")
    >>> [s(k) for k in range(7)]
    [0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    owner = "warmup_decay"
    _check_warmup(owner, total_steps, warmup_steps, warmup, warmup_start, warmup_rate, beta2)
    v.steps("hold_steps", hold_steps)
    v.choice("decay", decay, tuple(DECAY_SHAPES))
    v.factor("min_lr_factor", min_lr_factor)
    if decay != "polynomial":
        v.unused(owner, "power", power, "decay='polynomial'")
    else:
        v.real("power", 1.0 if power is None else power, low=0.0, low_open=True)
    decay_steps = total_steps - warmup_steps - hold_steps
    if decay_steps < 1 and DECAY_SHAPES[decay] is not None:
        raise ValueError(
            f"warmup_steps + hold_steps must leave at least one decay step of total_steps "
            f"({total_steps}); got warmup_steps={warmup_steps}, hold_steps={hold_steps}"
        )
    body = decay_ramp(max(decay_steps, 1), decay, min_lr_factor, 1.0 if power is None else power)
    if hold_steps:
        body = sequence((hold_steps, Constant(1.0)), (None, body))
    return _with_warmup(warmup_steps, body, warmup, warmup_start, warmup_rate, beta2)


def constant(
    total_steps: int,
    warmup_steps: int = 0,
    *,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
) -> Join | Product:
    """Warm-up then a constant peak LR: ``f = 1`` after the warm-up (no floor, no decay).

    >>> [constant(5, 2)(k) for k in range(4)]
    [0.5, 1.0, 1.0, 1.0]
    """
    return warmup_decay(
        total_steps,
        warmup_steps,
        decay="constant",
        warmup=warmup,
        warmup_start=warmup_start,
        warmup_rate=warmup_rate,
        beta2=beta2,
    )


def _shaped(
    decay: str,
    total_steps: int,
    warmup_steps: int,
    min_lr_factor: float,
    hold_steps: int,
    warmup: str,
    warmup_start: float | None,
    warmup_rate: float | None,
    beta2: float | None,
    power: float | None = None,
):
    return warmup_decay(
        total_steps,
        warmup_steps,
        decay=decay,
        min_lr_factor=min_lr_factor,
        hold_steps=hold_steps,
        power=power,
        warmup=warmup,
        warmup_start=warmup_start,
        warmup_rate=warmup_rate,
        beta2=beta2,
    )


def linear(
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_factor: float = 0.0,
    *,
    hold_steps: int = 0,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then linear decay ``m + (1 - m)(1 - p)`` to ``m = min_lr_factor`` (0 = decay to zero,
    D2Z; Bergsma et al. 2025, arXiv 2502.15938). Arguments as :func:`warmup_decay`.

    >>> [linear(4)(k) for k in range(4)]
    [0.75, 0.5, 0.25, 0.0]
    """
    return _shaped(
        "linear", total_steps, warmup_steps, min_lr_factor, hold_steps,
        warmup, warmup_start, warmup_rate, beta2,
    )  # fmt: skip


def cosine(
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_factor: float = 0.0,
    *,
    hold_steps: int = 0,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then cosine annealing ``m + (1 - m)(1 + cos(pi p)) / 2`` to ``min_lr_factor``
    (Loshchilov & Hutter, arXiv 1608.03983). Arguments as :func:`warmup_decay`.

    >>> [round(cosine(4)(k), 4) for k in range(4)]
    [0.8536, 0.5, 0.1464, 0.0]
    """
    return _shaped(
        "cosine", total_steps, warmup_steps, min_lr_factor, hold_steps,
        warmup, warmup_start, warmup_rate, beta2,
    )  # fmt: skip


def polynomial(
    total_steps: int,
    warmup_steps: int = 0,
    power: float = 1.0,
    min_lr_factor: float = 0.0,
    *,
    hold_steps: int = 0,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then ``m + (1 - m) (1 - p)**power`` (torch's PolynomialLR shape).

    >>> [polynomial(4, power=2.0)(k) for k in range(4)]
    [0.5625, 0.25, 0.0625, 0.0]
    """
    return _shaped(
        "polynomial", total_steps, warmup_steps, min_lr_factor, hold_steps,
        warmup, warmup_start, warmup_rate, beta2, power,
    )  # fmt: skip


def exponential(
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_factor: float = 1e-2,
    *,
    hold_steps: int = 0,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then geometric decay ``m**p`` from 1 to ``m = min_lr_factor`` (> 0, default 1e-2).

    >>> [round(exponential(2, min_lr_factor=0.01)(k), 4) for k in range(2)]
    [0.1, 0.01]
    """
    return _shaped(
        "exponential", total_steps, warmup_steps, min_lr_factor, hold_steps,
        warmup, warmup_start, warmup_rate, beta2,
    )  # fmt: skip


def rex(
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_factor: float = 0.0,
    *,
    hold_steps: int = 0,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then REX, ``m + (1 - m)(1 - p) / (1 - p/2)`` (Chen, Wolfe & Kyrillidis, MLSys 2022,
    arXiv 2107.04197).

    >>> [round(rex(4)(k), 4) for k in range(4)]
    [0.8571, 0.6667, 0.4, 0.0]
    """
    return _shaped(
        "rex", total_steps, warmup_steps, min_lr_factor, hold_steps,
        warmup, warmup_start, warmup_rate, beta2,
    )  # fmt: skip


def inverse_sqrt(
    total_steps: int,
    warmup_steps: int = 0,
    timescale: float | None = None,
    min_lr_factor: float = 0.0,
    *,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up then ``max(sqrt(timescale / (timescale + t)), min_lr_factor)``, ``t`` updates after
    the peak.

    ``timescale`` defaults to ``warmup_steps`` (the classic ``1/sqrt(step)`` continuation of a linear
    warm-up); without a warm-up it must be given. ``total_steps`` only validates ``warmup_steps``:
    the decay never ends (held at ``min_lr_factor`` once reached).

    >>> s = inverse_sqrt(10, warmup_steps=4)
    >>> [round(s(k), 4) for k in range(6)]
    [0.25, 0.5, 0.75, 1.0, 0.8944, 0.8165]
    """
    owner = "inverse_sqrt"
    _check_warmup(owner, total_steps, warmup_steps, warmup, warmup_start, warmup_rate, beta2)
    floor = v.factor("min_lr_factor", min_lr_factor)
    if timescale is None:
        if warmup_steps == 0:
            raise ValueError(
                "inverse_sqrt without warm-up needs a timescale (in steps) > 0; got none"
            )
        timescale = float(warmup_steps)
    v.real("timescale", timescale, low=0.0, low_open=True)
    body = InverseSqrt(timescale=timescale, start=1.0, min_lr_factor=floor)
    return _with_warmup(warmup_steps, body, warmup, warmup_start, warmup_rate, beta2)


def _onecycle_floor(
    owner: str, div: float, min_lr_factor: float | None, final_div_factor: float | None
) -> float:
    """The floor from ``min_lr_factor`` or torch's ``final_div_factor`` (floor = 1/(div * fdiv))."""
    floor, _ = v.alias("min_lr_factor", min_lr_factor, "final_div_factor", final_div_factor)
    if final_div_factor is not None:
        fdiv = v.real("final_div_factor", final_div_factor, low=1.0)
        return 1.0 / div / fdiv
    if floor is None:
        return 1.0 / div / 1e4  # torch OneCycleLR's default final_div_factor
    out = v.factor("min_lr_factor", floor)
    if out > 1.0 / div:
        raise ValueError(
            f"{owner}: min_lr_factor must be <= the first update's 1/div_factor ({1.0 / div:g}); "
            f"got {floor!r}"
        )
    return out


def warmup_cosine(
    total_steps: int,
    warmup_steps: int,
    div_factor: float = 25.0,
    final_div_factor: float | None = None,
    *,
    min_lr_factor: float | None = None,
    warmup: str = "linear",
    warmup_rate: float | None = None,
):
    """Warm-up + cosine in torch ``OneCycleLR``'s parameterisation (the seed paper's baselines).

    The first update runs at ``1/div_factor``, the ramp reaches the peak at update ``warmup_steps``
    (step ``warmup_steps - 1``) and the cosine ends at the floor ``min_lr_factor`` on the last
    update. The floor can be given in torch's form, ``final_div_factor`` (an alias:
    ``min_lr_factor = 1/(div_factor * final_div_factor)``, default ``final_div_factor = 1e4``).
    With ``warmup="cosine"`` it equals
    ``OneCycleLR(pct_start=warmup_steps/total_steps, anneal_strategy="cos")`` step for step. With
    ``warmup_steps=0`` the cosine starts at the peak (OneCycleLR with ``pct_start=0``, as the seed
    paper's adaptive runs use after the switch).

    >>> s = warmup_cosine(6, 3, div_factor=10.0, final_div_factor=10.0)
    >>> [round(s(k), 4) for k in range(6)]
    [0.1, 0.55, 1.0, 0.7525, 0.2575, 0.01]
    """
    owner = "warmup_cosine"
    v.steps("total_steps", total_steps, minimum=1)
    v.steps("warmup_steps", warmup_steps)
    v.choice("warmup", warmup, ("linear", "cosine", "exponential"))
    if warmup != "exponential":
        v.unused(owner, "warmup_rate", warmup_rate, "warmup='exponential'")
    div = v.real("div_factor", div_factor, low=1.0)
    floor = _onecycle_floor(owner, div, min_lr_factor, final_div_factor)
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_steps must be < total_steps ({total_steps}) to leave a decay; "
            f"got {warmup_steps!r}"
        )
    start = 1.0 / div
    decay = Ramp(total_steps - warmup_steps, 1.0, floor, "cosine")
    if warmup_steps == 0:
        return sequence((None, decay))
    if warmup_steps == 1:
        return sequence((1, Constant(start)), (None, decay))
    rate = 5.0 if warmup_rate is None else warmup_rate
    ramp = warmup_ramp(warmup_steps - 1, warmup, start, rate)
    return sequence((1, Constant(start)), (warmup_steps - 1, ramp), (None, decay))


def onecycle(
    total_steps: int,
    warmup_frac: float | None = None,
    div_factor: float = 25.0,
    final_div_factor: float | None = None,
    anneal: str = "cos",
    three_phase: bool = False,
    *,
    pct_start: float | None = None,
    min_lr_factor: float | None = None,
) -> OneCycle:
    """The 1cycle policy, identical to ``torch.optim.lr_scheduler.OneCycleLR`` (fractional phases too).

    ``warmup_frac`` (torch's ``pct_start``, an alias; default 0.3) is the fraction of the run
    rising from ``1/div_factor`` to the peak; the annealing (``anneal``: ``cos`` or ``linear``)
    ends at ``min_lr_factor`` (torch's form ``final_div_factor``, an alias:
    ``min_lr_factor = 1/(div_factor * final_div_factor)``, default ``final_div_factor = 1e4``).

    >>> round(onecycle(100)(29), 6), round(onecycle(100)(99), 8)
    (1.0, 4e-06)
    """
    frac, label = v.alias("warmup_frac", warmup_frac, "pct_start", pct_start, 0.3)
    v.real(label, frac, low=0.0, high=1.0, low_open=True, high_open=True)
    v.steps("total_steps", total_steps, minimum=2)
    if float(frac * total_steps) - 1 <= 0:
        raise ValueError(
            f"{label} * total_steps must exceed 1 (the warm-up needs two steps); got "
            f"{label}={frac!r}, total_steps={total_steps!r}"
        )
    div = v.real("div_factor", div_factor, low=1.0)
    v.flag("three_phase", three_phase)
    if min_lr_factor is None:
        fdiv = 1e4 if final_div_factor is None else final_div_factor
        return OneCycle(total_steps, frac, div, fdiv, anneal, three_phase)
    floor = _onecycle_floor("onecycle", div, min_lr_factor, final_div_factor)
    if floor <= 0.0:
        raise ValueError(
            f"onecycle: min_lr_factor must be > 0 (OneCycleLR ends at 1/(div_factor * "
            f"final_div_factor) with a finite final_div_factor); got {min_lr_factor!r}"
        )
    return OneCycle(total_steps, frac, div, (1.0 / div) / floor, anneal, three_phase)


def wsd(
    total_steps: int,
    warmup_steps: int,
    decay_frac: float | None = None,
    decay: str | None = None,
    min_lr_factor: float = 0.0,
    *,
    cooldown_frac: float | None = None,
    cooldown: str | None = None,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warmup-stable-decay: warm-up, constant peak, then a decay over the last ``decay_frac`` of the run.

    The decay (the "cooldown" of the WSD papers: ``cooldown_frac`` and ``cooldown`` are accepted as
    aliases of ``decay_frac`` and ``decay``) has ``C = round(decay_frac * total_steps)`` updates
    ``m + (1 - m) h((j + 1) / C)`` of any decay shape ``h`` (default ``1-sqrt``,
    ``h(p) = 1 - sqrt(p)``, which beats linear in Hagele et al. 2024, arXiv 2405.18392); it ends
    at ``m = min_lr_factor`` on the last update. ``decay_frac`` is required.

    >>> s = wsd(10, 2, 0.4, decay="linear")
    >>> [s(k) for k in range(10)]
    [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    owner = "wsd"
    _check_warmup(owner, total_steps, warmup_steps, warmup, warmup_start, warmup_rate, beta2)
    frac, frac_label = v.alias("decay_frac", decay_frac, "cooldown_frac", cooldown_frac)
    v.required(owner, "decay_frac (alias cooldown_frac)", frac, "decay_frac=0.2")
    frac = v.frac(frac_label, frac)
    shape, shape_label = v.alias("decay", decay, "cooldown", cooldown, "1-sqrt")
    v.choice(shape_label, shape, tuple(DECAY_SHAPES))
    v.factor("min_lr_factor", min_lr_factor)
    cooldown_steps = round(frac * total_steps)
    stable = total_steps - warmup_steps - cooldown_steps
    if stable < 0:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) + decay ({cooldown_steps} = round({frac_label} * "
            f"total_steps)) exceed total_steps ({total_steps})"
        )
    if cooldown_steps == 0:
        body = Constant(1.0)
    else:
        body = sequence(
            (stable, Constant(1.0)), (None, decay_ramp(cooldown_steps, shape, min_lr_factor))
        )
    return _with_warmup(warmup_steps, body, warmup, warmup_start, warmup_rate, beta2)


def cos_inf(
    total_steps: int,
    warmup_steps: int = 0,
    tail_frac: float = 0.2,
    min_lr_factor: float = 0.1,
    *,
    warmup: str = "linear",
    warmup_start: float | None = None,
    warmup_rate: float | None = None,
    beta2: float | None = None,
):
    """Warm-up, cosine down to ``min_lr_factor``, then a constant tail over the last ``tail_frac``.

    The "cosine with constant tail" of Hagele et al. 2024 (arXiv 2405.18392): the run can be
    continued at the tail LR and cooled down later. ``tail_frac`` is not a ``decay_frac``: it is
    the part of the run held at the floor *after* the cosine, which takes the
    ``total_steps - warmup_steps - round(tail_frac * total_steps)`` updates in between. The floor
    defaults to 0.1 because the tail is meant to be trained at.

    >>> s = cos_inf(6, 0, tail_frac=0.5, min_lr_factor=0.2)
    >>> [round(s(k), 2) for k in range(6)]
    [0.8, 0.4, 0.2, 0.2, 0.2, 0.2]
    """
    _check_warmup("cos_inf", total_steps, warmup_steps, warmup, warmup_start, warmup_rate, beta2)
    frac = v.frac("tail_frac", tail_frac)
    floor = v.factor("min_lr_factor", min_lr_factor)
    tail = round(frac * total_steps)
    anneal = total_steps - warmup_steps - tail
    if anneal < 1:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) + tail ({tail}) must leave a cosine of at least one "
            f"step of total_steps ({total_steps})"
        )
    body = sequence((anneal, decay_ramp(anneal, "cosine", floor)), (None, Constant(floor)))
    return _with_warmup(warmup_steps, body, warmup, warmup_start, warmup_rate, beta2)


def cyclic(
    total_steps: int,
    min_lr_factor: float | None = None,
    cycles: int | None = None,
    step_size_up: int | None = None,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float | None = None,
    *,
    base_factor: float | None = None,
) -> Cyclic:
    """Cyclical LR between ``min_lr_factor`` (alias ``base_factor``, default 0.1) and 1 (torch
    ``CyclicLR`` maths).

    Either ``cycles`` (default 1) triangles fill the run, ``step_size_up = step_size_down =
    total_steps // (2 * cycles)``, or the step sizes are given (then ``cycles`` is refused);
    ``step_size_down`` defaults to ``step_size_up``. ``gamma`` (default 1) applies only to
    ``mode="exp_range"``.

    >>> [round(cyclic(8, 0.2, cycles=2)(k), 2) for k in range(8)]
    [0.2, 0.6, 1.0, 0.6, 0.2, 0.6, 1.0, 0.6]
    """
    owner = "cyclic"
    floor, label = v.alias("min_lr_factor", min_lr_factor, "base_factor", base_factor, 0.1)
    v.real(label, floor, low=0.0, high=1.0, low_open=True)
    v.steps("total_steps", total_steps, minimum=2)
    v.choice("mode", mode, ("triangular", "triangular2", "exp_range"))
    if mode != "exp_range":
        v.unused(owner, "gamma", gamma, "mode='exp_range'")
    if step_size_up is None:
        n = 1 if cycles is None else v.steps("cycles", cycles, minimum=1)
        step_size_up = total_steps // (2 * n)
        if step_size_up < 1:
            raise ValueError(f"{n} cycles do not fit in total_steps={total_steps}")
    elif cycles is not None:
        raise ValueError(
            f"cyclic: give cycles or step_size_up, not both; got cycles={cycles!r}, "
            f"step_size_up={step_size_up!r}"
        )
    step_size_down = step_size_up if step_size_down is None else step_size_down
    return Cyclic(floor, step_size_up, step_size_down, mode, 1.0 if gamma is None else gamma)


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
    v.choice("decay", decay, tuple(DECAY_SHAPES))
    v.factor("min_lr_factor", min_lr_factor)
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
