"""Schedules by name: the registry behind specs like ``"wsd:cooldown_frac=0.2"``, and sampling."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import numpy as np

from autowarm.schedules import presets

Schedule = Callable[[int], float]

# name -> factory(total_steps, **kwargs). One dict, no if/elif chains (STYLE rule 8).
SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": presets.constant,
    "linear": presets.linear,
    "cosine": presets.cosine,
    "polynomial": presets.polynomial,
    "exponential": presets.exponential,
    "rex": presets.rex,
    "inverse_sqrt": presets.inverse_sqrt,
    "warmup_decay": presets.warmup_decay,
    "warmup_cosine": presets.warmup_cosine,
    "onecycle": presets.onecycle,
    "wsd": presets.wsd,
    "cos_inf": presets.cos_inf,
    "cyclic": presets.cyclic,
    "power": presets.power,
}


def parse_value(text: str) -> object:
    """Parse a spec value: int, float, ``true``/``false``, ``none``, else the string itself.

    >>> parse_value("100"), parse_value("0.2"), parse_value("1e-4"), parse_value("1-sqrt")
    (100, 0.2, 0.0001, '1-sqrt')
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_spec(spec: str) -> tuple[str, dict[str, object]]:
    """Split ``"name:key=value,key=value"`` into the name and parsed keyword arguments.

    >>> parse_spec("wsd:cooldown_frac=0.2,cooldown=linear")
    ('wsd', {'cooldown_frac': 0.2, 'cooldown': 'linear'})
    """
    name, _, rest = spec.partition(":")
    name = name.strip()
    kwargs: dict[str, object] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, val = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"schedule spec items must be key=value; got {item!r} in {spec!r}")
        kwargs[key.strip()] = parse_value(val)
    return name, kwargs


def parameters(name: str) -> list[str]:
    """The keyword arguments a named schedule accepts (besides ``total_steps``).

    >>> parameters("wsd")[:3]
    ['warmup_steps', 'cooldown_frac', 'cooldown']
    """
    sig = inspect.signature(_factory(name)).parameters
    names = [p for p, par in sig.items() if p != "total_steps" and par.kind is not par.VAR_KEYWORD]
    if any(par.kind is par.VAR_KEYWORD for par in sig.values()):
        # Thin presets forward the remaining warm-up/decay options to ``warmup_decay``.
        inherited = inspect.signature(presets.warmup_decay).parameters
        names += [p for p in inherited if p not in names and p not in ("total_steps", "decay")]
    return names


def _factory(name: str) -> Callable[..., Schedule]:
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(
            f"unknown schedule {name!r}; valid schedules are {', '.join(sorted(SCHEDULES))}"
        ) from None


def build(name: str, total_steps: int, **kwargs: object) -> Schedule:
    """Build a named schedule; unknown names or keyword arguments raise ``ValueError``.

    >>> build("linear", 4)(0)
    0.75
    """
    factory = _factory(name)
    valid = set(parameters(name))
    unknown = sorted(set(kwargs) - valid)
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)} for schedule {name!r}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    return factory(total_steps, **kwargs)


def from_spec(spec: str, total_steps: int, **overrides: object) -> Schedule:
    """Build a schedule from ``"name"`` or ``"name:key=value,..."`` for a run of ``total_steps``.

    >>> s = from_spec("wsd:warmup_steps=2,cooldown_frac=0.5,cooldown=linear", 8)
    >>> [s(k) for k in range(8)]
    [0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    name, kwargs = parse_spec(spec)
    kwargs.update(overrides)
    return build(name, total_steps, **kwargs)


def sample(schedule: Schedule, n: int) -> np.ndarray:
    """The multipliers of steps ``0 .. n-1`` as a float64 array.

    >>> sample(from_spec("linear", 4), 4).tolist()
    [0.75, 0.5, 0.25, 0.0]
    """
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n!r}")
    return np.fromiter((schedule(k) for k in range(n)), dtype=np.float64, count=n)


def describe(schedules: Mapping[str, Callable[..., Schedule]] = SCHEDULES) -> dict[str, list[str]]:
    """Each registered name with its keyword arguments (for ``autowarm schedule --list``)."""
    return {name: parameters(name) for name in sorted(schedules)}
