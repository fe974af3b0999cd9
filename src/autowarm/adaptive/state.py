"""The typed state of the adaptive warm-up: :class:`AdaptiveState`, serialised as plain values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

PHASES = ("warmup", "decay")


@dataclass(frozen=True)
class AdaptiveState:
    """Where the adaptive warm-up stands after some updates and losses (immutable).

    :meth:`to_dict` gives plain Python values (it loads with ``torch.load(weights_only=True)``
    and round-trips through JSON); :meth:`from_dict` reads it back, including the 13-key dict of
    earlier versions (fields added since take their defaults).

    >>> st = AdaptiveState(multiplier=0.1)
    >>> AdaptiveState.from_dict(st.to_dict()) == st
    True
    """

    step: int = 0  # optimizer updates taken = index of the next update
    observed: int = 0  # finite losses taken into the smoothed loss
    nonfinite: int = 0  # non-finite losses ignored (the LR was held)
    ema: float = 0.0  # EMA numerator of the smoothed loss
    ema_weight: float = 0.0  # EMA weight (bias correction)
    loss: float | None = None  # last smoothed loss
    gap: float | None = None  # last smoothed gap, clamped at MIN_GAP
    d0: float | None = None  # the initial gap D0
    delta_star: float | None = None  # D*, fixed at the first observation
    phase: str = "warmup"  # "warmup" until the switch, then "decay"
    below: int = 0  # consecutive observations with gap <= D*
    multiplier: float = 1.0  # warm-up multiplier of the next update
    warmup_end_step: int | None = None  # first update run by the decay
    recent: tuple[float, ...] = ()  # the outlier filter's window of recent accepted losses
    held: tuple[float, ...] = ()  # consecutive outliers on one side, not yet accepted
    outliers: int = 0  # losses dropped as isolated outliers
    # target_loss="auto": the f* in force (None before the first finite loss) ...
    fstar: float | None = None
    # ... the online estimator's state (autowarm.theory.fstar.OnlineFstar.state_dict(), plain
    # values; None before the first observation, and after the estimator failed: f* then stays) ...
    estimator: dict | None = None
    # ... and whether the one warning of the auto f* (a failure and its fallback) was issued.
    fstar_warned: bool = False
    # The loss-rise guard: the cap on the multiplier (the decay runs from cap x the peak), ...
    cap: float = 1.0
    # ... the lowest smoothed loss since the last back-off (None until the guard starts), ...
    guard_min: float | None = None
    # ... and the updates at which it backed off.
    backoff_steps: tuple[int, ...] = ()
    # ramp="progress": the smoothed losses of the last smoothing horizon (oldest first).
    progress_hist: tuple[float, ...] = ()
    # guard_restart: the multiplier the linear ramp restarted from at the last back-off, and the
    # smoothed gap then (None: the ramp runs from 1/div at d0).
    ramp_start: float | None = None
    ramp_d0: float | None = None
    # start_rate: whether the multiplier is held during a fast fall (the smoothed losses of the
    # last horizon are in progress_hist).
    holding: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain values by field name (tuples become lists, the estimator's state is copied)."""
        out = {
            f.name: list(x) if isinstance(x := getattr(self, f.name), tuple) else x
            for f in dataclasses.fields(self)
        }
        out["estimator"] = _copy(self.estimator)
        return out

    @classmethod
    def from_dict(cls, d: Any) -> AdaptiveState:
        """Read :meth:`to_dict` output (or an earlier version's dict); bad input raises."""
        if isinstance(d, AdaptiveState):
            return d
        if not isinstance(d, dict):
            raise ValueError(f"an adaptive warm-up state must be a dict; got {type(d).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        missing = sorted(k for k in _REQUIRED if k not in d)
        unknown = sorted(k for k in d if k not in fields)
        if missing or unknown:
            what = f"missing {missing}" if missing else f"unknown keys {unknown}"
            raise ValueError(f"not an AdaptiveWarmup state_dict ({what})")
        if d["phase"] not in PHASES:
            raise ValueError(f"state phase must be one of {', '.join(PHASES)}; got {d['phase']!r}")
        estimator = d.get("estimator")
        if estimator is not None and not isinstance(estimator, dict):
            raise ValueError(f"state estimator must be a dict or None; got {estimator!r}")
        out = {k: tuple(x) if isinstance(x, list) else x for k, x in d.items()}
        out["estimator"] = _copy(estimator)
        return cls(**out)


def _copy(estimator: dict | None) -> dict | None:
    """A copy of the estimator's plain state whose lists are not shared."""
    if estimator is None:
        return None
    return {k: list(x) if isinstance(x, list) else x for k, x in estimator.items()}


# The keys every stored state has had since the first version; later fields are optional.
_REQUIRED = (
    "step",
    "observed",
    "nonfinite",
    "ema",
    "ema_weight",
    "loss",
    "gap",
    "d0",
    "delta_star",
    "phase",
    "below",
    "multiplier",
    "warmup_end_step",
)
