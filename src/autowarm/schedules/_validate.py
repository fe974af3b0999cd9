"""Argument checks shared by the schedule factories (clear ``ValueError``s, no clamping)."""

from __future__ import annotations

import math
import numbers


def steps(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` as an int count of optimizer updates, ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of steps; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def real(
    name: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float inside the given interval, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not math.isfinite(v) or not lo_ok or not hi_ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{name} must be a finite number in {lo}{low}, {high}{hi}; got {value!r}")
    return v


def factor(name: str, value: object) -> float:
    """A multiplier of the peak LR in ``[0, 1]``."""
    return real(name, value, low=0.0, high=1.0)


def frac(name: str, value: object) -> float:
    """A fraction of the run in ``[0, 1]``."""
    return real(name, value, low=0.0, high=1.0)


def choice(name: str, value: object, valid: tuple[str, ...] | list[str]) -> str:
    """One of the names in ``valid``."""
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return str(value)


def step_arg(step: object) -> int:
    """The step passed to a schedule: a non-negative integer."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"a schedule is evaluated at integer steps >= 0; got {step!r}")
    return int(step)
