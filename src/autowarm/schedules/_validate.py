"""The argument checks of the whole package: one set, one exception type per mistake.

Every public constructor and factory checks its arguments with these helpers *before* building
anything, so a bad value never leaves half-built state behind. The rule:

- ``TypeError`` when the value has the wrong type: a float, string or ``bool`` where an integer
  count is expected (``True`` is an ``int`` to Python but never a step count here), a string where
  a number is expected;
- ``ValueError`` when the type is right but the value is out of range, not finite, or not one of
  the valid names.

Every message is one line: ``<name> must be <what is valid>; got <value>``. This module imports
nothing from autowarm and no torch, so any layer (schedules, theory, optim, train, cli) can use it.

>>> steps("warmup_steps", 10)
10
>>> steps("warmup_steps", 2.5)
Traceback (most recent call last):
...
TypeError: warmup_steps must be an integer number of steps; got 2.5
>>> frac("decay_frac", 1.5)
Traceback (most recent call last):
...
ValueError: decay_frac must be a finite number in [0.0, 1.0]; got 1.5
"""

from __future__ import annotations

import math
import numbers


def integer(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` (``bool`` refused), ``>= minimum`` when given.

    >>> integer("seed", 3)
    3
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def steps(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` as an int count of optimizer updates, ``>= minimum``.

    >>> steps("total_steps", 100, minimum=1)
    100
    """
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
    """Return ``value`` as a finite float inside the given interval, else raise.

    >>> real("lr", 1e-3, low=0.0, low_open=True)
    0.001
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    v = float(value)
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not math.isfinite(v) or not lo_ok or not hi_ok:
        raise ValueError(
            f"{name} must be a finite number{_interval(low, high, low_open, high_open)}; got {value!r}"
        )
    return v


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """`` in [a, b)`` for a bounded interval, `` > a`` / `` <= b`` for a one-sided one, else ``""``.

    >>> _interval(0.0, 1.0, False, True), _interval(0.0, math.inf, True, False)
    (' in [0.0, 1.0)', ' > 0.0')
    """
    if math.isinf(high) and math.isinf(low):
        return ""
    if math.isinf(high):
        return f" {'>' if low_open else '>='} {float(low)}"
    if math.isinf(low):
        return f" {'<' if high_open else '<='} {float(high)}"
    return f" in {'(' if low_open else '['}{float(low)}, {float(high)}{')' if high_open else ']'}"


def positive(name: str, value: object) -> float:
    """A finite number ``> 0`` (learning rates, scales, timescales).

    >>> positive("lr", 2)
    2.0
    """
    return real(name, value, low=0.0, low_open=True)


def factor(name: str, value: object) -> float:
    """A multiplier of the peak LR in ``[0, 1]``."""
    return real(name, value, low=0.0, high=1.0)


def frac(name: str, value: object) -> float:
    """A fraction of the run in ``[0, 1]``."""
    return real(name, value, low=0.0, high=1.0)


def flag(name: str, value: object) -> bool:
    """A ``bool`` (not ``0``/``1``, not a string).

    >>> flag("three_phase", True)
    True
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false; got {value!r}")
    return value


def choice(name: str, value: object, valid: tuple[str, ...] | list[str]) -> str:
    """One of the names in ``valid``."""
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return str(value)


def step_arg(step: object) -> int:
    """The step passed to a schedule: a non-negative integer."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"a schedule is evaluated at integer steps >= 0; got {step!r}")
    return int(step)


def alias(
    canonical: str, value: object, old: str, old_value: object, default: object = None
) -> tuple[object, str]:
    """Resolve an argument given under its canonical name or under its documented alias.

    Returns ``(value, label)``: the value given (or ``default`` when neither is given) and the label
    to name it by in error messages, ``"canonical / alias"``, so a message shows both spellings.
    Giving both spellings is a ``ValueError``.

    >>> alias("decay_frac", None, "cooldown_frac", 0.2)
    (0.2, 'decay_frac / cooldown_frac')
    >>> alias("decay_frac", 0.1, "cooldown_frac", 0.2)
    Traceback (most recent call last):
    ...
    ValueError: give decay_frac or its alias cooldown_frac, not both; got decay_frac=0.1, cooldown_frac=0.2
    """
    label = f"{canonical} / {old}"
    if value is not None and old_value is not None:
        raise ValueError(
            f"give {canonical} or its alias {old}, not both; "
            f"got {canonical}={value!r}, {old}={old_value!r}"
        )
    return (value if value is not None else old_value if old_value is not None else default), label


def required(owner: str, name: str, value: object, example: str) -> None:
    """Raise ``ValueError`` when a required argument was not given (is ``None``).

    >>> required("wsd", "decay_frac", None, "decay_frac=0.2")
    Traceback (most recent call last):
    ...
    ValueError: wsd needs decay_frac (e.g. decay_frac=0.2); it was not given
    """
    if value is None:
        raise ValueError(f"{owner} needs {name} (e.g. {example}); it was not given")


def unused(owner: str, name: str, value: object, when: str) -> None:
    """Refuse an option that the rest of the arguments make meaningless (instead of ignoring it).

    >>> unused("cosine", "warmup_rate", 3.0, "warmup='exponential'")
    Traceback (most recent call last):
    ...
    ValueError: cosine: warmup_rate=3.0 applies only with warmup='exponential'; remove it
    """
    if value is not None:
        raise ValueError(f"{owner}: {name}={value!r} applies only with {when}; remove it")
