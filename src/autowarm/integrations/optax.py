"""autowarm's schedules for JAX/optax: fixed schedules and the loss-adaptive warm-up.

Needs ``pip install 'autowarm[jax]'`` (jax and optax).

**Fixed schedules.** :func:`as_schedule` turns any ``step -> multiplier`` schedule of
:mod:`autowarm.schedules` (a callable or a spec such as ``"wsd:warmup_steps=100"``) into an optax
schedule ``count -> lr * f(count)``. optax's ``count`` is the number of updates already taken, the
same step convention as autowarm's (``f(0)`` scales the first update). The values are tabulated once
in Python for ``count = 0 .. total_steps - 1`` and indexed by the clipped count, so they are the
schedule's own values (to the float precision of JAX), jit-compatible, and held at the last value
beyond the run.

**The adaptive warm-up.** :func:`adaptive_warmup` is a stateful
``optax.GradientTransformationExtraArgs`` that takes the loss like
``optax.contrib.reduce_on_plateau``: ``update(updates, state, params, value=loss)``. Chain it after
an optimizer whose peak LR is ``lr``: update ``k`` is scaled by the multiplier ``m_k`` that
:class:`autowarm.schedules.AdaptiveWarmupSchedule` (and :class:`autowarm.AdaptiveWarmup`) give
update ``k``, a function of the losses of updates ``0 .. k-1``; the loss passed with update ``k``
(computed at its pre-update parameters, as ``jax.value_and_grad`` returns it) is observed after the
update is scaled, exactly as the torch scheduler's ``step(loss)`` after ``optimizer.step()``. So
with the same losses and the same options the multipliers, the switch step and the decay are the
torch version's; the JAX version implements neither the outlier filter, the loss-rise guard, the
latest switch, the rate limit, the ramp's hold while the loss falls fast nor
``target_loss="auto"`` (all on by default in torch): it refuses them and :func:`adaptive_warmup`
turns the first five off, so it equals ``AdaptiveWarmup(..., outlier_filter=False, guard=False,
warmup_max_frac=None, max_growth=None, start_rate=0)``. Scaling
the final updates by ``m`` is scaling the LR by ``m`` for optax's optimizers, whose LR multiplies
the whole update (AdamW's decoupled weight decay included).

The state is a NamedTuple of arrays (a pytree), and the update has no Python branching on traced
values, so ``jax.jit`` compiles it once. D0 and D* are fixed at the first finite loss by the same
Python code as the torch version (the paper's D* fit is a numerical search): one host callback
(``jax.pure_callback``), run once per run inside a ``lax.cond``; a ``target_loss`` not below the
first loss raises there (under ``jit`` JAX re-raises it wrapped in its runtime error).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from autowarm._extras import require
from autowarm.adaptive.state import AdaptiveState
from autowarm.schedules import AdaptiveWarmupSchedule, from_spec
from autowarm.schedules.adaptive import MIN_GAP
from autowarm.schedules.presets import DECAY_SHAPES

jax = require("jax", "jax", "the optax integration")
jnp = require("jax.numpy", "jax", "the optax integration")
optax = require("optax", "jax", "the optax integration")

# The fields of AdaptiveWarmupSchedule this module implements in JAX; any other option must keep
# its default (a new option of the torch machine is refused here until it is implemented).
_SUPPORTED = frozenset(
    {
        "total_steps",
        "target_loss",
        "div_factor",
        "delta_star",
        "delta_star_frac",  # D* at the first loss comes from the torch machine (host callback)
        "kappa",
        "sigma_f",
        "smoothing",
        "initial_gap",
        "patience",
        "monotone",
        "decay",
        "final_lr_factor",
        "cooldown_steps",
        "k_constants",
        "ramp",
        # the outlier filter must be off (checked in from_schedule); its settings are then unused
        "outlier_filter",
        "outlier_k",
        "outlier_window",
        "outlier_persist",
        # the latest switch and the rate limit must be None (checked in from_schedule)
        "warmup_max_frac",
        "max_growth",
        # so must the loss-rise guard (checked in from_schedule); its settings are then unused
        "guard",
        "guard_rise",
        "guard_backoff",
        "guard_spike",
        "spike_rule",
        # the hold while the loss falls fast must be off (checked in from_schedule)
        "start_rate",
    }
)


def as_schedule(
    schedule: str | Callable[[int], float], total_steps: int, *, lr: float = 1.0
) -> Callable:
    """An optax schedule ``count -> lr * schedule(count)`` from an autowarm schedule.

    Args:
        schedule: a ``step -> multiplier`` callable (any schedule of :mod:`autowarm.schedules`)
            or a spec string such as ``"wsd:warmup_steps=10,cooldown_frac=0.2"``.
        total_steps: optimizer updates in the run (>= 1); the schedule is tabulated for
            ``count = 0 .. total_steps - 1`` and holds its last value beyond.
        lr: the peak learning rate the multipliers scale (finite, >= 0); 1.0 returns the
            multipliers themselves.

    Returns:
        A function of optax's update ``count`` (an integer, traced or not), usable as
        ``optax.adamw(learning_rate=...)``; jit-compatible.

    >>> import jax.numpy as jnp
    >>> s = as_schedule("wsd:warmup_steps=2,cooldown_frac=0.5,cooldown=linear", 8, lr=2.0)
    >>> [round(float(s(k)), 4) for k in range(9)]
    [1.0, 2.0, 2.0, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0]
    """
    if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral):
        raise TypeError(f"total_steps must be an integer >= 1; got {total_steps!r}")
    if total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1; got {total_steps!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a finite number >= 0; got {lr!r}")
    if not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number >= 0; got {lr!r}")
    if isinstance(schedule, str):
        schedule = from_spec(schedule, int(total_steps))
    elif not callable(schedule):
        raise TypeError(
            f"schedule must be a step -> multiplier callable or a spec string; got {schedule!r}"
        )
    values = np.fromiter(
        (float(schedule(k)) for k in range(int(total_steps))), np.float64, int(total_steps)
    )
    if not np.all(np.isfinite(values)):
        bad = int(np.argmin(np.isfinite(values)))
        raise ValueError(f"schedule({bad}) = {values[bad]!r} is not finite")
    table = jnp.asarray(values * float(lr), dtype=jnp.result_type(float))
    last = int(total_steps) - 1

    def lr_at(count):
        return table[jnp.clip(jnp.asarray(count).astype(jnp.int32), 0, last)]

    return lr_at


class AdaptiveWarmupState(NamedTuple):
    """The adaptive warm-up's state: the fields of the torch machine's state as arrays.

    Unset values are NaN (``loss``, ``gap``, ``d0``, ``delta_star``) or -1
    (``warmup_end_step``); ``decay`` is the phase (False = warm-up); ``scale`` is the multiplier
    the last update ran with (for logging).
    """

    step: jax.Array  # int32, updates taken = index of the next update
    observed: jax.Array  # int32, finite losses observed
    nonfinite: jax.Array  # int32, non-finite losses ignored (multiplier held)
    ema: jax.Array  # EMA numerator of the smoothed loss
    ema_weight: jax.Array  # EMA weight (bias correction)
    loss: jax.Array  # last smoothed loss
    gap: jax.Array  # last smoothed gap, clamped at MIN_GAP
    d0: jax.Array  # initial gap
    delta_star: jax.Array  # D*
    decay: jax.Array  # bool, the phase
    below: jax.Array  # int32, consecutive observations with gap <= D*
    multiplier: jax.Array  # warm-up multiplier of the next update
    warmup_end_step: jax.Array  # int32, first update run by the decay
    scale: jax.Array  # the multiplier the last update ran with


def _check(machine) -> None:
    """Refuse a machine with options this module does not implement (at trace time)."""
    if not isinstance(machine, AdaptiveWarmupSchedule):
        raise TypeError(f"machine must be an AdaptiveWarmupSchedule; got {machine!r}")
    for field in dataclasses.fields(machine):
        if field.name not in _SUPPORTED and getattr(machine, field.name) != field.default:
            raise ValueError(
                f"{field.name}={getattr(machine, field.name)!r} is not implemented in the optax "
                f"integration; leave it at its default ({field.default!r})"
            )
    if machine.is_auto:
        raise ValueError(
            "target_loss='auto' is not implemented in the optax integration; give f* as a "
            "number (for a cross-entropy from scratch, 0 is the floor 'auto' would use)"
        )
    if machine.filters_outliers:
        raise ValueError(
            "the outlier filter (on by default when smoothing > 0) is not implemented in the "
            "optax integration; pass outlier_filter=False"
        )
    if machine.guards:
        raise ValueError(
            "the loss-rise guard (on by default when smoothing > 0) is not implemented in the "
            "optax integration; pass guard=False"
        )
    if machine.hold_rate is not None:
        raise ValueError(
            f"start_rate (the ramp's hold while the loss falls fast: {machine.hold_rate!r}, on "
            "by default with the linear ramp and smoothing) is not implemented in the optax "
            "integration; pass start_rate=0"
        )
    for name in ("warmup_max_frac", "max_growth"):
        if getattr(machine, name) is not None:
            raise ValueError(
                f"{name}={getattr(machine, name)!r} (on by default) is not implemented in the "
                f"optax integration; pass {name}=None"
            )


def _float_dtype():
    return jnp.result_type(float)  # float32, or float64 under jax_enable_x64


def _opt(x: float | None):
    return math.nan if x is None else float(x)


def init_state(machine: AdaptiveWarmupSchedule) -> AdaptiveWarmupState:
    """The state before the first update (the first update runs at ``1/div_factor``)."""
    return from_machine_state(machine.init())


def from_machine_state(state: dict) -> AdaptiveWarmupState:
    """The JAX state of a :class:`~autowarm.schedules.AdaptiveWarmupSchedule` state dict.

    It also reads the ``"machine"`` entry of :meth:`autowarm.AdaptiveWarmup.state_dict`, so a run
    can move between torch and JAX.
    """
    f = _float_dtype()
    i = jnp.int32
    if state.get("held"):
        raise ValueError(
            "this state holds back suspected outlier losses (the outlier filter), which the "
            "optax integration does not implement; resume it with the torch scheduler"
        )
    if state["phase"] not in ("warmup", "decay"):
        raise ValueError(f"state['phase'] must be 'warmup' or 'decay'; got {state['phase']!r}")
    end = state["warmup_end_step"]
    return AdaptiveWarmupState(
        step=jnp.asarray(state["step"], i),
        observed=jnp.asarray(state["observed"], i),
        nonfinite=jnp.asarray(state["nonfinite"], i),
        ema=jnp.asarray(state["ema"], f),
        ema_weight=jnp.asarray(state["ema_weight"], f),
        loss=jnp.asarray(_opt(state["loss"]), f),
        gap=jnp.asarray(_opt(state["gap"]), f),
        d0=jnp.asarray(_opt(state["d0"]), f),
        delta_star=jnp.asarray(_opt(state["delta_star"]), f),
        decay=jnp.asarray(state["phase"] == "decay"),
        below=jnp.asarray(state["below"], i),
        multiplier=jnp.asarray(state["multiplier"], f),
        warmup_end_step=jnp.asarray(-1 if end is None else end, i),
        scale=jnp.asarray(math.nan, f),
    )


def to_machine_state(state: AdaptiveWarmupState) -> dict:
    """The state as the torch machine's dict of plain Python values (not jit-able: reads arrays).

    >>> m = AdaptiveWarmupSchedule(10, 0.0, delta_star=1.0, div_factor=4.0, outlier_filter=False,
    ...                            start_rate=0)
    >>> to_machine_state(init_state(m)) == m.init()
    True
    """

    def opt(x):
        x = float(x)
        return None if math.isnan(x) else x

    end = int(state.warmup_end_step)
    return AdaptiveState.from_dict({
        "step": int(state.step),
        "observed": int(state.observed),
        "nonfinite": int(state.nonfinite),
        "ema": float(state.ema),
        "ema_weight": float(state.ema_weight),
        "loss": opt(state.loss),
        "gap": opt(state.gap),
        "d0": opt(state.d0),
        "delta_star": opt(state.delta_star),
        "phase": "decay" if bool(state.decay) else "warmup",
        "below": int(state.below),
        "multiplier": float(state.multiplier),
        "warmup_end_step": None if end < 0 else end,
    }).to_dict()  # fmt: skip


def _curve(curve: str, p):
    """The decay curves of :data:`autowarm.schedules.presets.DECAY_SHAPES` in jnp (power 1)."""
    if curve in ("linear", "polynomial"):  # the machine's decay uses power 1
        return p
    if curve == "cosine":
        return 0.5 * (1.0 - jnp.cos(jnp.pi * p))
    if curve == "sqrt":
        return jnp.sqrt(p)
    if curve == "square":
        return p * p
    if curve == "rex":
        return 1.0 - (1.0 - p) / (1.0 - 0.5 * p)
    if curve == "mirror_cosine":
        return 1.0 - (2.0 * (1.0 - p) - 0.5 * (1.0 + jnp.cos(jnp.pi * p)))
    raise ValueError(f"decay curve {curve!r} is not implemented in the optax integration")


def value(machine: AdaptiveWarmupSchedule, state: AdaptiveWarmupState):
    """The multiplier of the next update (``machine.value`` in jnp; jit-compatible).

    >>> m = AdaptiveWarmupSchedule(10, 0.0, delta_star=1.0, div_factor=4.0, smoothing=0.0)
    >>> float(value(m, init_state(m)))
    0.25
    """
    f = _float_dtype()
    start = jnp.maximum(state.warmup_end_step, 0)
    remaining = machine.total_steps - start
    j = state.step - start
    curve = DECAY_SHAPES[machine.decay]
    final = machine.final_lr_factor
    cooldown = machine.cooldown_steps
    if cooldown is None:
        n, jr = remaining, j
    else:  # hold the peak, then the decay over the last ``cooldown`` updates
        short = cooldown >= remaining
        n = jnp.where(short, remaining, cooldown)
        jr = jnp.where(short, j, j - (remaining - cooldown))
    p = jnp.clip((jr + 1).astype(f) / jnp.maximum(n, 1).astype(f), 0.0, 1.0)
    if curve is None:
        decayed = jnp.asarray(1.0, f)
    elif curve == "geometric":
        decayed = final**p
    else:
        decayed = 1.0 + (final - 1.0) * _curve(curve, p)
    decayed = jnp.where(jr < 0, 1.0, decayed)  # the constant part before a cooldown
    decayed = jnp.where(remaining < 1, final, decayed)
    return jnp.where(state.decay, decayed, state.multiplier).astype(f)


def _ramp(machine: AdaptiveWarmupSchedule, gap, d0, ds):
    div = machine.div_factor
    if machine.k_constants is not None:
        k0, k1, k2 = machine.k_constants
        dk = math.sqrt(k0 / k2)
        peak = dk / (k0 + k1 * dk + k2 * dk * dk)
        den = k0 + k1 * gap + k2 * gap * gap
        return jnp.where(den > 0, (gap / jnp.where(den > 0, den, 1.0)) / peak, 1.0)
    if machine.ramp == "linear":
        frac = jnp.clip((d0 - gap) / (d0 - ds), 0.0, 1.0)
        return 1.0 / div + (1.0 - 1.0 / div) * frac
    r = (gap - ds) / (d0 - ds)
    return 1.0 / (1.0 + (div - 1.0) * (d0 / gap) * r * r)


def _start(machine: AdaptiveWarmupSchedule, first, smoothed):
    """D0 and D* at the first finite loss, by the torch machine's own code (a host callback)."""
    f = _float_dtype()

    def host(is_first, loss):
        if not bool(is_first):  # a vmapped cond evaluates both branches
            return np.array([math.nan, math.nan], dtype=f)
        st = machine.observe(machine.init(), float(loss))  # raises on a bad target_loss
        return np.array([st["d0"], st["delta_star"]], dtype=f)

    out = jax.pure_callback(
        host, jax.ShapeDtypeStruct((2,), f), first, smoothed, vmap_method="sequential"
    )
    return out[0], out[1]


def observe(machine: AdaptiveWarmupSchedule, state: AdaptiveWarmupState, loss):
    """Feed the loss of an update taken (``machine.observe`` in jnp; jit-compatible)."""
    _check(machine)
    f = _float_dtype()
    loss = jnp.asarray(loss).astype(f)
    finite = jnp.isfinite(loss)
    beta = machine.smoothing
    ema = beta * state.ema + (1.0 - beta) * loss
    ema_weight = beta * state.ema_weight + (1.0 - beta)
    smoothed = ema / ema_weight
    gap = jnp.maximum(smoothed - machine.target_loss, MIN_GAP)
    warm = finite & ~state.decay
    first = warm & jnp.isnan(state.delta_star)
    d0, ds = jax.lax.cond(
        first,
        lambda: _start(machine, first, smoothed),
        lambda: (state.d0, state.delta_star),
    )
    # at or below D* the multiplier is the peak while the patience runs
    m = jnp.clip(jnp.where(gap <= ds, 1.0, _ramp(machine, gap, d0, ds)), 0.0, 1.0)
    if machine.monotone:
        m = jnp.maximum(m, state.multiplier)
    below = jnp.where(gap <= ds, state.below + 1, 0).astype(jnp.int32)
    switch = below >= machine.patience
    observed = state._replace(
        observed=state.observed + 1, ema=ema, ema_weight=ema_weight, loss=smoothed, gap=gap
    )
    warmed = observed._replace(
        d0=d0,
        delta_star=ds,
        below=below,
        multiplier=jnp.where(switch, 1.0, m).astype(f),
        decay=switch,
        warmup_end_step=jnp.where(switch, state.step, state.warmup_end_step).astype(jnp.int32),
    )
    counted = state._replace(nonfinite=state.nonfinite + 1)
    return jax.tree.map(
        lambda a, b, c: jnp.where(finite, jnp.where(warm, a, b), c), warmed, observed, counted
    )


def update(machine: AdaptiveWarmupSchedule, state: AdaptiveWarmupState, loss):
    """``observe(advance(state), loss)``: the loss of the update just taken."""
    return observe(machine, state._replace(step=state.step + 1), loss)


def simulate(machine: AdaptiveWarmupSchedule, losses, state: AdaptiveWarmupState | None = None):
    """Run over a loss sequence with ``lax.scan``: one loss per update, in order (jit-compatible).

    Returns ``(multipliers, state)``: ``multipliers[k]`` is the multiplier update ``k`` ran with
    (``machine.simulate(losses)["multiplier"]`` in jnp) and ``state`` the state after the last loss.

    >>> m = AdaptiveWarmupSchedule(4, 0.0, delta_star=1.0, div_factor=4.0, smoothing=0.0,
    ...                            warmup_max_frac=None, max_growth=None)
    >>> mults, state = simulate(m, jnp.array([3.0, 2.0, 1.0, 0.5]))
    >>> [round(float(x), 3) for x in mults], int(state.warmup_end_step)
    ([0.25, 0.25, 0.625, 0.0], 3)
    """
    if state is None:
        state = init_state(machine)

    def body(st, loss):
        return update(machine, st, loss), value(machine, st)

    final, mults = jax.lax.scan(body, state, jnp.asarray(losses))
    return mults, final


def from_schedule(machine: AdaptiveWarmupSchedule):
    """The adaptive warm-up of a :class:`~autowarm.schedules.AdaptiveWarmupSchedule` as an
    ``optax.GradientTransformationExtraArgs`` (see :func:`adaptive_warmup`)."""
    _check(machine)

    def init_fn(params):
        del params
        return init_state(machine)

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del params, extra_args
        if value is None:
            raise TypeError(
                "the adaptive warm-up needs the loss of this update: "
                "tx.update(grads, state, params, value=loss)"
            )
        if jnp.ndim(value) != 0:
            raise ValueError(
                f"value must be the scalar loss of this update; got shape {jnp.shape(value)}"
            )
        scale = _value(machine, state)
        updates = jax.tree.map(lambda g: (scale * g).astype(jnp.result_type(g)), updates)
        new = update(machine, state, value)._replace(scale=scale)
        return updates, new

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


_value = value  # update_fn's keyword argument is named ``value`` like optax's


def adaptive_warmup(total_steps: int, target_loss: float, **options):
    """The loss-adaptive warm-up as a stateful optax transformation that takes the loss.

    Chain it after an optimizer with the peak LR: ``optax.chain(optax.adamw(lr),
    adaptive_warmup(...))``, and pass the loss of each update as
    ``tx.update(grads, opt_state, params, value=loss)`` (like ``optax.contrib.reduce_on_plateau``).
    Update ``k`` is scaled by ``m(D)``, with the smoothed gap ``D = loss - target_loss`` of the
    losses of updates ``0 .. k-1``: from ``1/div_factor`` at the first gap ``D0`` up to 1 at ``D*``
    (linear in ``D`` by default; ``ramp="paper"`` is ``m(D) = 1 / (1 + (div - 1) (D0/D)
    ((D - D*)/(D0 - D*))^2)``), then, from the first gap at or below ``D*``, a decay (cosine to
    ``final_lr_factor`` by default) over the remaining updates: the same numbers as
    :class:`autowarm.AdaptiveWarmup` with the same options on the same losses (Riabinin et al.
    2026, arXiv 2602.05813); see the module's docstring for the options JAX leaves out.

    Args:
        total_steps: optimizer updates in the run.
        target_loss: ``f*``, below the first loss.
        **options: the other arguments of :class:`autowarm.schedules.AdaptiveWarmupSchedule`
            (``div_factor``, ``delta_star``, ``kappa``, ``smoothing``, ``patience``, ``ramp``,
            ``decay``, ``final_lr_factor``, ``cooldown_steps``, ``monotone``, ``initial_gap``,
            ``sigma_f``, ``k_constants``), with the same defaults and checks, except that the
            outlier filter and the loss-rise guard of the smoothed mode, the latest switch and
            the rate limit and the ramp's hold while the loss falls fast are not implemented
            here and are off (``outlier_filter=False``, ``guard=False``,
            ``warmup_max_frac=None``, ``max_growth=None``, ``start_rate=0``; other values are
            refused), so the warm-up ends only at ``f* + D*``: give a numeric ``target_loss``
            the run reaches. One of
            ``delta_star``, ``kappa`` (e.g. ``autowarm.schedules.kappa("spectral", shapes)`` over
            the matrices the optimizer's norm applies to) or ``k_constants`` is needed.

    The state (:class:`AdaptiveWarmupState`, a pytree) records the multiplier the last update ran
    with in ``scale``; :func:`to_machine_state` reads it as the torch machine's dict.

    >>> import jax, jax.numpy as jnp, optax
    >>> tx = optax.chain(optax.sgd(0.1), adaptive_warmup(
    ...     100, target_loss=0.0, delta_star=1.0, div_factor=10.0, smoothing=0.0))
    >>> params = {"w": jnp.ones(3)}
    >>> state = tx.init(params)
    >>> step = jax.jit(lambda g, s, loss: tx.update(g, s, params, value=loss))
    >>> scales = []
    >>> for loss in [4.0, 3.0, 2.0, 0.9, 0.8]:
    ...     _, state = step({"w": jnp.ones(3)}, state, loss)
    ...     scales.append(round(float(state[1].scale), 4))
    >>> scales  # the multiplier each update ran with: 1/div, the ramp, then the decay
    [0.1, 0.1, 0.4, 0.7, 1.0]
    >>> int(state[1].warmup_end_step)
    4
    """
    options.setdefault("outlier_filter", False)
    options.setdefault("guard", False)
    options.setdefault("warmup_max_frac", None)  # the latest switch and the rate limit: not here
    options.setdefault("max_growth", None)
    options.setdefault("start_rate", 0.0)  # the ramp from the first loss
    return from_schedule(AdaptiveWarmupSchedule(total_steps, target_loss, **options))


__all__ = [
    "AdaptiveWarmupState",
    "adaptive_warmup",
    "as_schedule",
    "from_machine_state",
    "from_schedule",
    "init_state",
    "observe",
    "simulate",
    "to_machine_state",
    "update",
    "value",
]
