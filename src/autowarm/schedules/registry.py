"""Schedules by name: the registry behind specs like ``"wsd:cooldown_frac=0.2"``, and sampling."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import numpy as np

from autowarm.schedules import presets

Schedule = Callable[[int], float]

# name -> factory(total_steps, **kwargs). One dict, no if/elif chains.
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

    A key given twice, an item without ``=`` or an empty key is a ``ValueError``.

    >>> parse_spec("wsd:cooldown_frac=0.2,cooldown=linear")
    ('wsd', {'cooldown_frac': 0.2, 'cooldown': 'linear'})
    """
    if not isinstance(spec, str):
        raise TypeError(f"a schedule spec must be a string like 'wsd:decay_frac=0.2'; got {spec!r}")
    name, _, rest = spec.partition(":")
    name = name.strip()
    kwargs: dict[str, object] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"schedule spec items must be key=value; got {item!r} in {spec!r}")
        if key in kwargs:
            raise ValueError(f"schedule spec {spec!r} gives {key!r} twice")
        kwargs[key] = parse_value(val)
    return name, kwargs


def parameters(name: str) -> list[str]:
    """Every keyword argument a named schedule accepts besides ``total_steps`` (aliases included).

    >>> parameters("wsd")[:4]
    ['warmup_steps', 'decay_frac', 'decay', 'min_lr_factor']
    """
    sig = inspect.signature(_factory(name)).parameters
    return [p for p in sig if p != "total_steps"]


def aliases(name: str) -> dict[str, str]:
    """The documented aliases a named schedule accepts, each mapped to its canonical name.

    >>> aliases("wsd")
    {'cooldown_frac': 'decay_frac', 'cooldown': 'decay'}
    """
    return {p: presets.ALIASES[p] for p in parameters(name) if p in presets.ALIASES}


def required(name: str) -> list[str]:
    """The keyword arguments a named schedule cannot do without (besides ``total_steps``).

    ``wsd`` needs ``decay_frac`` (or its alias), which its signature cannot say by itself.

    >>> required("wsd"), required("power")
    (['warmup_steps', 'decay_frac'], ['tokens_per_step'])
    """
    sig = inspect.signature(_factory(name)).parameters
    out = [p for p, par in sig.items() if p != "total_steps" and par.default is par.empty]
    return out + _REQUIRED_ALIASED.get(name, [])


# Required arguments that have an alias (so the signature gives both a ``None`` default).
_REQUIRED_ALIASED: dict[str, list[str]] = {"wsd": ["decay_frac"]}


def _factory(name: str) -> Callable[..., Schedule]:
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(
            f"unknown schedule {name!r}; valid schedules are {', '.join(sorted(SCHEDULES))}"
        )
    return SCHEDULES[name]


def build(name: str, total_steps: int, **kwargs: object) -> Schedule:
    """Build a named schedule, checking every argument first.

    Unknown names, unknown or inapplicable keyword arguments, missing required arguments and bad
    values (wrong type, out of range) all raise a one-line ``ValueError`` that names the schedule,
    the argument, the value and what is valid.

    >>> build("linear", 4)(0)
    0.75
    >>> build("constant", 10, min_lr_factor=0.5)
    Traceback (most recent call last):
    ...
    ValueError: unknown argument(s) min_lr_factor for schedule 'constant'; valid: beta2, warmup, warmup_rate, warmup_start, warmup_steps
    """
    factory = _factory(name)
    valid = parameters(name)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown argument(s) {', '.join(unknown)} for schedule {name!r}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    alias_of = aliases(name)
    given = {alias_of.get(k, k) for k, val in kwargs.items() if val is not None}
    missing = [p for p in required(name) if p not in given]
    if missing:
        spelled = [
            p + "".join(f" (alias {a})" for a, c in alias_of.items() if c == p) for p in missing
        ]
        raise ValueError(
            f"schedule {name!r} needs {', '.join(spelled)}; e.g. "
            f"{name}:{','.join(f'{p}={_EXAMPLES.get(p, 1)}' for p in missing)}"
        )
    try:
        return factory(total_steps, **kwargs)
    except (TypeError, ValueError) as err:
        msg = str(err).removeprefix(f"{name}: ")
        raise ValueError(f"schedule {name!r}: {msg}") from err


# Example values for the "needs ..." message of a missing required argument.
_EXAMPLES: dict[str, object] = {"warmup_steps": 100, "decay_frac": 0.2, "tokens_per_step": 2048}


def from_spec(spec: str, total_steps: int, **overrides: object) -> Schedule:
    """Build a schedule from ``"name"`` or ``"name:key=value,..."`` for a run of ``total_steps``.

    ``overrides`` are further keyword arguments (a key both in the spec and in ``overrides`` takes
    the override). Every error is a one-line ``ValueError`` (see :func:`build`).

    >>> s = from_spec("wsd:warmup_steps=2,decay_frac=0.5,decay=linear", 8)
    >>> [s(k) for k in range(8)]
    [0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    name, kwargs = parse_spec(spec)
    kwargs.update(overrides)
    return build(name, total_steps, **kwargs)


def validate_spec(spec: str, total_steps: int) -> None:
    """Check a schedule spec for a run of ``total_steps`` without running anything.

    Building a schedule is cheap (it is a few small frozen objects; nothing is sampled), so this is
    :func:`from_spec` with the result dropped: call it before loading data or models so that a bad
    spec fails in milliseconds with the same one-line ``ValueError``.

    >>> validate_spec("wsd:warmup_steps=10,cooldown_frac=0.2", 100)
    >>> validate_spec("wsd:warmup_steps=abc,cooldown_frac=0.2", 100)
    Traceback (most recent call last):
    ...
    ValueError: schedule 'wsd': warmup_steps must be an integer number of steps; got 'abc'
    """
    from_spec(spec, total_steps)


def sample(schedule: Schedule, n: int) -> np.ndarray:
    """The multipliers of steps ``0 .. n-1`` as a float64 array.

    >>> sample(from_spec("linear", 4), 4).tolist()
    [0.75, 0.5, 0.25, 0.0]
    """
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n!r}")
    return np.fromiter((schedule(k) for k in range(n)), dtype=np.float64, count=n)


def describe(schedules: Mapping[str, Callable[..., Schedule]] = SCHEDULES) -> dict[str, list[str]]:
    """Each registered name with its canonical keyword arguments (for ``autowarm schedule --list``).

    >>> describe()["cyclic"]
    ['min_lr_factor', 'cycles', 'step_size_up', 'step_size_down', 'mode', 'gamma']
    """
    return {
        name: [p for p in parameters(name) if p not in presets.ALIASES]
        for name in sorted(schedules)
    }
