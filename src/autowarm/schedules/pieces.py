"""Schedule building blocks: picklable ``step -> multiplier`` callables and their combinators.

Every schedule in autowarm is a frozen dataclass with ``__call__(step) -> float``; ``step`` is the
number of optimizer updates already taken (``f(0)`` scales the first update).

**Pieces are end-inclusive.** A piece of ``n`` steps sees, at local step ``j = 0, 1, ...``, the
1-based index ``t = j + 1`` and the progress ``p = min(t / n, 1)``. A ramp from ``start`` to ``end``
is ``start + (end - start) * curve(p)`` with ``curve(0) = 0`` and ``curve(1) = 1``: its first update is
one step into the ramp (never exactly ``start``, so a warm-up from 0 never runs its first update at
0) and its last update is exactly ``end``. Past its length a piece holds ``end``.

``Join`` sequences pieces at boundaries, and each piece sees the steps since its own boundary
(optax's ``join_schedules`` semantics); ``Product`` multiplies schedules pointwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from autowarm.schedules import _validate as v

# Curves c(p) on [0, 1] with c(0) = 0 and c(1) = 1. A decay "shape" h is 1 - c.
CURVES = (
    "linear",  # p
    "cosine",  # (1 - cos(pi p)) / 2: half-cosine ramp; as a decay, cosine annealing
    "sqrt",  # sqrt(p): as a decay the "1-sqrt" cooldown (Hagele et al. 2024, arXiv 2405.18392)
    "square",  # p^2: as a decay the "square" cooldown 1 - p^2
    "polynomial",  # 1 - (1 - p)^power: as a decay torch's PolynomialLR (1 - p)^power
    "rex",  # 1 - (1 - p) / (1 - p / 2): as a decay REX (Chen et al., MLSys 2022)
    "mirror_cosine",  # as a decay 2 (1 - p) - (1 + cos(pi p)) / 2 (Hagele et al. 2024)
    "exp",  # 1 - exp(-rate p), normalised to reach 1 at p = 1: exponential warm-up
    "geometric",  # log-linear interpolation: start * (end / start)^p (needs start, end > 0)
)


def curve_value(curve: str, p: float, param: float) -> float:
    """Evaluate ``curve`` at progress ``p`` in [0, 1] (``param`` is the power or the rate)."""
    if curve == "linear":
        return p
    if curve == "cosine":
        return 0.5 * (1.0 - math.cos(math.pi * p))
    if curve == "sqrt":
        return math.sqrt(p)
    if curve == "square":
        return p * p
    if curve == "polynomial":
        return 1.0 - (1.0 - p) ** param
    if curve == "rex":
        return 1.0 - (1.0 - p) / (1.0 - 0.5 * p)
    if curve == "mirror_cosine":
        return 1.0 - (2.0 * (1.0 - p) - 0.5 * (1.0 + math.cos(math.pi * p)))
    if curve == "exp":
        return -math.expm1(-param * p) / -math.expm1(-param)
    raise ValueError(f"unknown curve {curve!r}; valid curves are {', '.join(CURVES)}")


@dataclass(frozen=True)
class Constant:
    """A constant multiplier, ``f(step) = value`` for every step.

    >>> Constant(0.5)(0), Constant(0.5)(10**9)
    (0.5, 0.5)
    """

    value: float

    def __post_init__(self) -> None:
        v.real("value", self.value, low=0.0)

    def __call__(self, step: int) -> float:
        v.step_arg(step)
        return float(self.value)


@dataclass(frozen=True)
class Ramp:
    """Interpolate from ``start`` to ``end`` over ``steps`` updates along a curve (end-inclusive).

    ``f(j) = start + (end - start) * curve(min((j + 1) / steps, 1))``; for ``curve="geometric"``
    ``f(j) = start * (end / start) ** p``. Warm-ups are ramps up to 1, decays ramps down from 1.

    Args:
        steps: length of the ramp in updates, ``>= 1``.
        start: the value the ramp starts from (reached at local step -1, i.e. never run itself).
        end: the value of the ramp's last update and of every step after it.
        curve: one of :data:`CURVES`.
        param: the power of ``"polynomial"`` or the rate of ``"exp"``; unused otherwise.

    >>> r = Ramp(4, 0.0, 1.0)
    >>> [r(j) for j in range(6)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """

    steps: int
    start: float
    end: float
    curve: str = "linear"
    param: float = 1.0

    def __post_init__(self) -> None:
        v.steps("steps", self.steps, minimum=1)
        v.real("start", self.start, low=0.0)
        v.real("end", self.end, low=0.0)
        v.choice("curve", self.curve, CURVES)
        if self.curve == "polynomial":
            v.real("power", self.param, low=0.0, low_open=True)
        if self.curve == "exp":
            v.real("rate", self.param, low=0.0, low_open=True)
        if self.curve == "geometric" and (self.start <= 0.0 or self.end <= 0.0):
            raise ValueError(
                "a geometric (exponential) interpolation needs start > 0 and end > 0; "
                f"got start={self.start!r}, end={self.end!r} (use a positive min_lr_factor)"
            )

    def __call__(self, step: int) -> float:
        p = min((v.step_arg(step) + 1) / self.steps, 1.0)
        if self.curve == "geometric":
            return self.start * (self.end / self.start) ** p
        return self.start + (self.end - self.start) * curve_value(self.curve, p, self.param)


@dataclass(frozen=True, init=False)
class InverseSqrt:
    """Inverse-square-root decay from ``start``: ``f(j) = max(start * sqrt(timescale / (timescale + j + 1)), m)``.

    Seen from the end of a warm-up of ``timescale`` steps, this is the classic ``1/sqrt(step)``
    schedule of Vaswani et al. (arXiv 1706.03762) normalised to 1 at the peak. It never ends; the
    floor ``m = min_lr_factor`` (alias ``min_value``, default 0) stops it (reached, then held).

    >>> d = InverseSqrt(timescale=3)
    >>> [round(d(j), 4) for j in range(4)]
    [0.866, 0.7746, 0.7071, 0.6547]
    """

    timescale: float
    start: float
    min_lr_factor: float

    def __init__(
        self,
        timescale: float,
        start: float = 1.0,
        min_lr_factor: float | None = None,
        *,
        min_value: float | None = None,
    ) -> None:
        floor, label = v.alias("min_lr_factor", min_lr_factor, "min_value", min_value, 0.0)
        v.real("timescale", timescale, low=0.0, low_open=True)
        v.real("start", start, low=0.0)
        v.real(label, floor, low=0.0, high=start)
        object.__setattr__(self, "timescale", timescale)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "min_lr_factor", floor)

    def __call__(self, step: int) -> float:
        j = v.step_arg(step)
        return max(
            self.start * math.sqrt(self.timescale / (self.timescale + j + 1)), self.min_lr_factor
        )


@dataclass(frozen=True)
class Tabulated:
    """A schedule read from a table: ``f(step) = values[step]``, holding the last value beyond it.

    >>> t = Tabulated((0.5, 1.0, 0.25))
    >>> [t(k) for k in range(5)]
    [0.5, 1.0, 0.25, 0.25, 0.25]
    """

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        vals = tuple(float(x) for x in self.values)
        if not vals:
            raise ValueError("Tabulated needs at least one value; got an empty sequence")
        bad = [x for x in vals if not math.isfinite(x) or x < 0.0]
        if bad:
            raise ValueError(f"Tabulated values must be finite and >= 0; got {bad[0]!r}")
        object.__setattr__(self, "values", vals)

    def __call__(self, step: int) -> float:
        return self.values[min(v.step_arg(step), len(self.values) - 1)]


@dataclass(frozen=True)
class Join:
    """Sequence schedules at boundaries; each piece sees the steps since its own boundary.

    ``f(step) = pieces[i](step - boundaries[i-1])`` for ``boundaries[i-1] <= step < boundaries[i]``
    (with ``boundaries[-1] = 0``); the last piece runs forever.

    >>> wsd = Join((Ramp(2, 0.0, 1.0), Constant(1.0), Ramp(2, 1.0, 0.0)), (2, 4))
    >>> [wsd(k) for k in range(7)]
    [0.5, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]
    """

    pieces: tuple
    boundaries: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "pieces", tuple(self.pieces))
        object.__setattr__(self, "boundaries", tuple(self.boundaries))
        if len(self.pieces) != len(self.boundaries) + 1:
            raise ValueError(
                f"Join needs len(boundaries) == len(pieces) - 1; got {len(self.pieces)} pieces "
                f"and {len(self.boundaries)} boundaries"
            )
        prev = 0
        for b in self.boundaries:
            v.steps("boundary", b)
            if b < prev:
                raise ValueError(f"Join boundaries must be non-decreasing; got {self.boundaries}")
            prev = b
        for p in self.pieces:
            if not callable(p):
                raise TypeError(f"Join pieces must be schedules (callables); got {p!r}")

    def __call__(self, step: int) -> float:
        k = v.step_arg(step)
        start = 0
        for i, b in enumerate(self.boundaries):
            if k < b:
                return self.pieces[i](k - start)
            start = b
        return self.pieces[-1](k - start)


@dataclass(frozen=True)
class Product:
    """Pointwise product of schedules, ``f(step) = prod_i factors[i](step)``.

    >>> Product((Constant(0.5), Ramp(2, 0.0, 1.0)))(0)
    0.25
    """

    factors: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(self.factors))
        if not self.factors:
            raise ValueError("Product needs at least one factor")
        for f in self.factors:
            if not callable(f):
                raise TypeError(f"Product factors must be schedules (callables); got {f!r}")

    def __call__(self, step: int) -> float:
        out = 1.0
        for f in self.factors:
            out *= f(step)
        return out


def join(pieces: Sequence, boundaries: Sequence[int]) -> Join:
    """Sequence ``pieces`` at ``boundaries`` (each piece sees steps since its boundary).

    >>> [join([Constant(0.1), Constant(1.0)], [2])(k) for k in range(4)]
    [0.1, 0.1, 1.0, 1.0]
    """
    return Join(tuple(pieces), tuple(boundaries))


def product(*factors) -> Product:
    """Pointwise product of schedules.

    >>> product(Constant(0.5), Constant(0.5))(3)
    0.25
    """
    return Product(tuple(factors))


def sequence(*segments: tuple) -> Join:
    """Join ``(steps, piece)`` segments back to back; the last segment's length may be ``None``.

    Zero-length segments are skipped, so a warm-up of 0 steps simply disappears.

    >>> s = sequence((2, Ramp(2, 0.0, 1.0)), (0, Constant(0.3)), (None, Constant(1.0)))
    >>> [s(k) for k in range(4)]
    [0.5, 1.0, 1.0, 1.0]
    """
    pieces, bounds, at = [], [], 0
    for i, (n, piece) in enumerate(segments):
        last = i == len(segments) - 1
        if n is None and not last:
            raise ValueError("only the last segment may have an open length (None)")
        if n == 0 and not last:
            continue
        if pieces:
            bounds.append(at)
        pieces.append(piece)
        at += 0 if n is None else n
    return Join(tuple(pieces), tuple(bounds))
