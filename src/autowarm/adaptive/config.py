"""The one configuration of the loss-adaptive warm-up: :class:`AdaptiveConfig`, its spec, its modes.

Every option of the adaptive warm-up is declared here once, with its default and a comment. The
state machine (:class:`autowarm.adaptive.AdaptiveWarmupSchedule`), the torch adapter
(``autowarm.AdaptiveWarmup``), ``autowarm simulate``, ``autowarm train --schedule adaptive:...``
and the benchmark's adaptive modes all build on it; :meth:`AdaptiveConfig.from_spec` is the one
parser of the ``adaptive[:key=value,...]`` spec.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from autowarm.adaptive.kappa import NORMS
from autowarm.schedules import _validate as v
from autowarm.schedules.presets import DECAY_SHAPES

MIN_HISTORY = 5  # accepted losses the outlier filter needs before it acts
RAMPS = ("paper", "linear", "progress")  # the warm-up multiplier: of the gap, or closed loop
SPEC_NAME = "adaptive"  # the schedule name of the adaptive warm-up in a schedule spec
SPIKE_RULES = ("outlier", "level")  # which losses the guard's spike test looks at
HOLD_RULES = ("start", "always")  # start_rate: which fast falls hold the multiplier
AUTO = "auto"  # target_loss="auto": f* found without input (fstar_rule: the floor, or estimated)
TARGET_LOSS_WORDS = (AUTO,)  # the strings target_loss accepts
# The estimator's options, only used (and compared on resume) with target_loss="auto".
_AUTO_FIELDS = ("fstar_margin", "fstar_provisional_frac", "fstar_rule")
FSTAR_RULES = ("estimate", "floor")  # target_loss="auto": estimated online, or the loss's floor
# What a config saved before each of these options existed ran with (its default then differed
# from today's): AdaptiveConfig.from_dict reads a missing key as this value.
_BEFORE_OPTION: dict[str, object] = {
    "fstar_rule": "estimate",
    "warmup_max_frac": None,
    "max_growth": None,
    "spike_rule": "outlier",
    "guard_restart": False,
    "start_rate": 0.0,
    "hold_rule": "start",
}
# start_rate=None: this hold rate where the rule applies (the linear ramp with smoothing > 0).
START_RATE = 0.1
# The closed loop's options, only used (and compared on resume) with ramp="progress".
_PROGRESS_FIELDS = ("progress_rate", "progress_growth", "progress_max_frac")

# Fields that only say how the torch adapter reads losses, not what the schedule is: a resumed
# run may change them.
_IO_FIELDS = ("sync_every", "norm")


@dataclass(frozen=True)
class AdaptiveConfig:
    """Every option of the loss-adaptive warm-up, validated at construction (frozen, comparable).

    The fields, their units and defaults are documented inline below; the maths is in
    :mod:`autowarm.adaptive.machine`. ``delta_star``, ``kappa``, ``k_constants`` or ``norm`` say
    where D* comes from: given, fitted from kappa by the paper's rule, from measured constants, or
    (torch adapter only) fitted from the kappa of the optimizer's matrices in ``norm`` (``None``
    everywhere: the adapter infers the norm from the optimizer).

    >>> cfg = AdaptiveConfig(total_steps=600, target_loss=1.3, div_factor=10.0)
    >>> cfg.smoothing, cfg.ramp, cfg.to_spec()
    (0.9, 'linear', 'adaptive:target_loss=1.3,div_factor=10.0')
    >>> AdaptiveConfig.from_spec("adaptive:div_factor=10,ramp=paper", total_steps=600,
    ...                          target_loss=1.3).ramp
    'paper'
    """

    # Optimizer updates in the run (>= 1); the decay ends on update ``total_steps``.
    total_steps: int
    # f*, the loss the gap D = loss - f* is measured from: a finite number below the first loss,
    # or "auto": found without input, by fstar_rule (the loss's floor, or estimated online).
    target_loss: float | str
    # The warm-up starts at 1/div_factor of the peak (>= 1; the paper: 100 for Muon and Lion).
    div_factor: float = 100.0
    # D* given directly (> 0, below the initial gap); None fits it (kappa) or measures it.
    delta_star: float | None = None
    # The optimizer's norm constant for the D* fit (> 0); None: from norm/k_constants/delta_star.
    kappa: float | None = None
    # The norm whose kappa the torch adapter computes from the optimizer's matrices when neither
    # kappa, delta_star nor k_constants is given ("spectral", "sign", "frobenius"; None infers it).
    norm: str | None = None
    # The paper's sigma_F of the D* fit (> 0); the fit's weight has std 1/sqrt(sigma_f kappa).
    sigma_f: float = 1e-3
    # EMA factor beta in [0, 1) of the bias-corrected loss average; 0 = the raw loss (the paper).
    smoothing: float = 0.9
    # D0 given directly (> 0); None takes the first observed (smoothed) loss minus f*.
    initial_gap: float | None = None
    # Consecutive observations with gap <= D* needed to switch to the decay (>= 1).
    patience: int = 1
    # Never lower the multiplier during the warm-up.
    monotone: bool = False
    # The post-switch decay shape (one of autowarm.schedules.DECAY_SHAPES).
    decay: str = "cosine"
    # The multiplier of the last update, in [0, 1] (the paper: 1e-4).
    final_lr_factor: float = 1e-4
    # Hold the peak after the switch and decay over the last cooldown_steps only; None: all.
    cooldown_steps: int | None = None
    # Measured (K0, K1, K2) of K(D) = K0 + K1 D + K2 D^2 (K0, K2 > 0): the warm-up is then
    # eta(D) / eta(D*) with D* = sqrt(K0 / K2); delta_star, kappa and ramp are ignored.
    k_constants: tuple[float, float, float] | None = None
    # The warm-up multiplier between D0 and D*: "linear" in the gap, or the paper's closed form;
    # or "progress": a closed loop on the loss's progress that ignores f* and D* (see below).
    ramp: str = "linear"
    # Torch adapter: read (and all-reduce) the losses every sync_every updates in one batch (>= 1).
    sync_every: int = 1
    # Drop isolated outliers before the EMA (a loss far from the last accepted ones), accepting a
    # shift that persists; None: on unless smoothing is 0 (the paper's raw-loss rules).
    outlier_filter: bool | None = None
    # The threshold (> 0), in robust scales: 1.4826 x the median change between consecutive
    # recent losses, at least 1% of the median of the last three.
    outlier_k: float = 6.0
    # How many recent accepted losses the scale is taken over (>= 5).
    outlier_window: int = 16
    # Consecutive outliers on the same side that are a genuine shift and are accepted (>= 2).
    outlier_persist: int = 3
    # target_loss="auto": loss units added to the predicted final loss (any finite number).
    fstar_margin: float = 0.3
    # target_loss="auto": the first f* is L1 - (1 - frac) |L1| (L1 the first loss; 0.4 L1 for a
    # positive loss) and f* never rises above it; in (0, 1). Raise it for runs that end above it.
    fstar_provisional_frac: float = 0.4
    # target_loss="auto": how f* is found. "floor" (default since 2026-11-30): no estimate,
    # f* = L1 - |L1|, i.e. 0 (the floor of a cross-entropy) for a non-negative first loss L1 (for a
    # negative one, 2 L1, with a warning); "estimate": the online estimator above (the rule before).
    fstar_rule: str = "floor"
    # The loss-rise guard: when the smoothed loss climbs more than guard_rise (relative) above its
    # lowest value since the last back-off, the peak is capped at guard_backoff x the multiplier
    # in force, for the rest of the run (warm-up and decay); None: on unless smoothing is 0.
    guard: bool | None = None
    # The relative rise that triggers a back-off (> 0): 0.05 = 5% above the running minimum.
    guard_rise: float = 0.05
    # The cap after a back-off, as a fraction of the multiplier in force (in (0, 1)).
    guard_backoff: float = 0.5
    # A single loss held back as an upward outlier (the outlier filter's test) that lies more
    # than guard_spike (relative) above the recent losses backs off too (> 0): a loss spike.
    guard_spike: float = 0.2
    # ramp="progress": the multiplier grows by progress_growth per smoothing horizon (> 1;
    # 1/(1 - smoothing) updates) while the smoothed loss falls by at least progress_rate
    # (relative) per horizon, and at half that rate (in log scale) while it stalls; the warm-up
    # ends when it reaches the peak, or at progress_max_frac x total_steps (in (0, 1]) with the
    # decay from where the multiplier stands.
    progress_rate: float = 0.02
    progress_growth: float = 3.0
    progress_max_frac: float = 0.5
    # The latest switch of the gap ramps ("linear", "paper"): when the warm-up has not reached
    # f* + D* by warmup_max_frac x total_steps (in (0, 1]), it ends there and the decay runs from
    # the multiplier in force (like progress_max_frac of the closed loop). None: only at f* + D*
    # (the paper's rule, and autowarm's before 2026-11-30), which with f* below the loss the run
    # reaches means no decay at all.
    warmup_max_frac: float | None = 0.5
    # The gap ramps' rate limit: the multiplier grows by at most this factor (> 1) per smoothing
    # horizon (1/(1 - smoothing) updates), however fast the loss falls; None: no limit (the rule
    # before 2026-11-30). With smoothing=0 the horizon is one update.
    max_growth: float | None = 3.0
    # Which losses the guard_spike test looks at: "level" (default since 2026-11-30), every loss:
    # during a fast fall the filter's scale is wide and a jump of 30% need not be an outlier by
    # its test; or "outlier", only those the outlier filter holds back (the rule before).
    spike_rule: str = "level"
    # What a back-off during the warm-up does: False (every result stored before 2026-12-01), the
    # cap drops to guard_backoff x the multiplier and stays for the rest of the run; True, the
    # linear ramp restarts from guard_backoff x the multiplier at the gap where it backed off, so
    # the LR rises again as the loss keeps falling (an LR too high early can be right later: the
    # reason for a warm-up). After the switch a back-off lowers the cap either way. Needs the
    # linear ramp.
    guard_restart: bool = False
    # The hold of the linear ramp while the loss falls fast: a number r in (0, 1), the multiplier
    # does not grow while the smoothed loss falls by at least r (relative) per smoothing horizon;
    # the run starts in a hold at 1/div (at least one horizon); which falls hold: hold_rule. The
    # first fall of a language model (from ln V towards the unigram entropy) comes at almost any
    # LR and says nothing about how high the LR can go. 0: no hold, the ramp from the first loss
    # (D0 = first loss - f*; the rule before stop 25). None (default): START_RATE (0.1) for the
    # linear ramp with smoothing > 0 and no k_constants, else 0. A number > 0 needs that ramp.
    start_rate: float | None = None
    # Which fast falls hold the multiplier: "always" (default), every one during the warm-up:
    # while the smoothed loss falls by at least start_rate per horizon the multiplier stays where
    # it is, and the linear ramp then runs on from there at the gap where the fall slowed (the LR
    # in force is doing its work; a higher one is tried once progress slows); "start", only the
    # first one (the ramp starts from 1/div after it, by 0.1 x total_steps at the latest). Only
    # with the hold on (start_rate).
    hold_rule: str = "always"
    # D* as a fraction of the initial gap, D* = delta_star_frac x D0 (in (0, 1)), instead of the
    # kappa fit; with target_loss="auto" it follows D0. None: delta_star, k_constants or the fit.
    # Under f* = 0 (the floor) the gap is the loss itself, and the kappa fit, derived for a gap
    # to the true f*, decides the peak loss arbitrarily (AdamW 0.34 D0, Muon 0.09 D0 on the CPU
    # benchmark); this gives every optimizer the same peak loss, a fraction of the first one.
    delta_star_frac: float | None = None

    def __post_init__(self) -> None:
        v.steps("total_steps", self.total_steps, minimum=1)
        if isinstance(self.target_loss, str):
            if self.target_loss not in TARGET_LOSS_WORDS:
                raise ValueError(
                    f"target_loss must be a finite number or 'auto' (f* found by fstar_rule); got "
                    f"{self.target_loss!r}"
                )
            if self.initial_gap is not None:
                raise ValueError(
                    f"initial_gap ({self.initial_gap}) cannot be combined with target_loss='auto' "
                    "(D0 = first loss - f* follows the estimate); drop initial_gap or give f*"
                )
        else:
            v.real("target_loss", self.target_loss)
        v.real("fstar_margin", self.fstar_margin)
        v.real(
            "fstar_provisional_frac",
            self.fstar_provisional_frac,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
        )
        v.real("div_factor", self.div_factor, low=1.0)
        v.real("sigma_f", self.sigma_f, low=0.0, low_open=True)
        v.real("smoothing", self.smoothing, low=0.0, high=1.0, high_open=True)
        v.steps("patience", self.patience, minimum=1)
        v.steps("sync_every", self.sync_every, minimum=1)
        if not isinstance(self.monotone, bool):
            raise TypeError(f"monotone must be True or False; got {self.monotone!r}")
        v.choice("decay", self.decay, tuple(DECAY_SHAPES))
        v.choice("ramp", self.ramp, RAMPS)
        if self.norm is not None and self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)} or None; got {self.norm!r}")
        v.factor("final_lr_factor", self.final_lr_factor)
        if self.outlier_filter is not None and not isinstance(self.outlier_filter, bool):
            raise TypeError(
                f"outlier_filter must be True, False or None; got {self.outlier_filter!r}"
            )
        v.real("outlier_k", self.outlier_k, low=0.0, low_open=True)
        if self.guard is not None and not isinstance(self.guard, bool):
            raise TypeError(f"guard must be True, False or None; got {self.guard!r}")
        v.real("guard_rise", self.guard_rise, low=0.0, low_open=True)
        v.real("guard_spike", self.guard_spike, low=0.0, low_open=True)
        v.real(
            "guard_backoff", self.guard_backoff, low=0.0, high=1.0, low_open=True, high_open=True
        )
        v.real("progress_rate", self.progress_rate, low=0.0, low_open=True)
        v.real("progress_growth", self.progress_growth, low=1.0, low_open=True)
        v.real("progress_max_frac", self.progress_max_frac, low=0.0, high=1.0, low_open=True)
        v.choice("spike_rule", self.spike_rule, SPIKE_RULES)
        v.choice("fstar_rule", self.fstar_rule, FSTAR_RULES)
        if not isinstance(self.guard_restart, bool):
            raise TypeError(f"guard_restart must be True or False; got {self.guard_restart!r}")
        if self.guard_restart and not self.guards:
            raise ValueError(
                "guard_restart=True changes what the loss-rise guard does, and the guard is off "
                f"(guard={self.guard!r}, smoothing={self.smoothing!r}); turn the guard on or drop "
                "guard_restart"
            )
        if self.start_rate is not None:
            v.real("start_rate", self.start_rate, low=0.0, high=1.0, high_open=True)
        v.choice("hold_rule", self.hold_rule, HOLD_RULES)
        if self.start_rate:
            if self.ramp != "linear" or self.k_constants is not None:
                what = "k_constants" if self.k_constants is not None else f"ramp={self.ramp!r}"
                raise ValueError(
                    f"start_rate={self.start_rate} moves the start of the linear ramp; got {what}: "
                    "use ramp='linear' without k_constants, or start_rate=None"
                )
            if self.smoothing == 0:
                raise ValueError(
                    "start_rate measures the loss's fall over one smoothing horizon and needs "
                    "smoothing > 0; got smoothing=0"
                )
        if self.guard_restart and (self.ramp != "linear" or self.k_constants is not None):
            what = "k_constants" if self.k_constants is not None else f"ramp={self.ramp!r}"
            raise ValueError(
                f"guard_restart=True restarts the linear ramp; got {what}: use ramp='linear' "
                "without k_constants, or guard_restart=False"
            )
        if self.max_growth is not None:
            v.real("max_growth", self.max_growth, low=1.0, low_open=True)
        if self.warmup_max_frac is not None:
            v.real("warmup_max_frac", self.warmup_max_frac, low=0.0, high=1.0, low_open=True)
        if self.ramp == "progress" and self.smoothing == 0:
            raise ValueError(
                "ramp='progress' measures the loss's progress over one smoothing horizon and needs "
                "smoothing > 0 (e.g. 0.9); got smoothing=0"
            )
        v.steps("outlier_window", self.outlier_window, minimum=MIN_HISTORY)
        v.steps("outlier_persist", self.outlier_persist, minimum=2)
        if self.decay == "exponential" and self.final_lr_factor <= 0:
            raise ValueError("decay='exponential' needs final_lr_factor > 0")
        if self.cooldown_steps is not None:
            v.steps("cooldown_steps", self.cooldown_steps, minimum=1)
        if self.initial_gap is not None:
            v.real("initial_gap", self.initial_gap, low=0.0, low_open=True)
        if self.delta_star_frac is not None:
            v.real(
                "delta_star_frac",
                self.delta_star_frac,
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
            )
            given = [k for k in ("delta_star", "k_constants") if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"delta_star_frac ({self.delta_star_frac}) and {given[0]} both set D*; give "
                    "one of them"
                )
        if self.k_constants is not None:
            object.__setattr__(self, "k_constants", _check_k_constants(self.k_constants))
        elif self.delta_star is not None:
            v.real("delta_star", self.delta_star, low=0.0, low_open=True)
            if self.initial_gap is not None and self.delta_star >= self.initial_gap:
                raise ValueError(
                    f"delta_star ({self.delta_star}) must be below initial_gap ({self.initial_gap})"
                )
        elif self.kappa is not None:
            v.real("kappa", self.kappa, low=0.0, low_open=True)
            if self.div_factor <= 1.0:
                raise ValueError("fitting D* needs div_factor > 1 (or pass delta_star)")

    # --- conversions --------------------------------------------------------------------------

    @property
    def has_delta_star_source(self) -> bool:
        """Whether D* is set: ``delta_star``, ``delta_star_frac``, ``kappa`` or ``k_constants``.

        Without one, only the torch adapter can run it (it computes kappa from the optimizer).
        """
        sources = (self.delta_star, self.delta_star_frac, self.kappa, self.k_constants)
        return any(x is not None for x in sources)

    @property
    def is_auto(self) -> bool:
        """Whether f* is found without input (``target_loss="auto"``, see ``fstar_rule``)."""
        return self.target_loss == AUTO

    @property
    def filters_outliers(self) -> bool:
        """Whether the outlier filter is on (``outlier_filter``, or by default ``smoothing > 0``)."""
        return self.smoothing > 0 if self.outlier_filter is None else self.outlier_filter

    @property
    def hold_rate(self) -> float | None:
        """The hold's rate (``start_rate``, by default ``START_RATE`` where it applies); None: off."""
        if self.start_rate is None:
            applies = self.ramp == "linear" and self.k_constants is None and self.smoothing > 0
            return START_RATE if applies else None
        return float(self.start_rate) or None

    @property
    def guards(self) -> bool:
        """Whether the loss-rise guard is on (``guard``, or by default ``smoothing > 0``)."""
        return self.smoothing > 0 if self.guard is None else self.guard

    def replace(self, **changes: Any) -> AdaptiveConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain values by field name (``k_constants`` as a list)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(AdaptiveConfig)}
        if out["k_constants"] is not None:
            out["k_constants"] = list(out["k_constants"])
        return out

    @classmethod
    def from_dict(cls, d: dict) -> AdaptiveConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``.

        A key missing from ``d`` (a config saved before the option existed) takes the value that
        version ran with (:data:`_BEFORE_OPTION`), not today's default, so that a resumed run is
        checked against the rules it really had.
        """
        names = field_names()
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(
                f"unknown adaptive warm-up option(s) {', '.join(unknown)}; valid: {', '.join(names)}"
            )
        d = {**{k: v for k, v in _BEFORE_OPTION.items() if k not in d}, **d}
        if d.get("k_constants") is not None:
            d["k_constants"] = tuple(d["k_constants"])
        return cls(**d)

    def schedule_fields(self) -> dict:
        """The fields that decide the schedule (what a resumed run must match).

        Leaves out how losses are read (``sync_every``, ``norm``: kappa is compared instead) and
        the D* sources that are not used (e.g. ``kappa`` when ``delta_star`` is given).
        """
        out = {k: x for k, x in self.to_dict().items() if k not in _IO_FIELDS}
        out["start_rate"] = self.hold_rate or 0.0  # None (default) and 0.1 are the same rule
        if self.hold_rate is None:
            out.pop("hold_rule")
        if not self.is_auto:
            for k in _AUTO_FIELDS:
                out.pop(k)
        if self.ramp != "progress" or self.k_constants is not None:
            for k in _PROGRESS_FIELDS:
                out.pop(k)
        elif self.ramp == "progress":  # the closed loop has its own switch and growth rule
            for k in ("warmup_max_frac", "max_growth"):
                out.pop(k)
        if self.k_constants is not None:
            for k in ("delta_star", "kappa", "sigma_f", "ramp"):
                out.pop(k)
        elif self.delta_star is not None or self.delta_star_frac is not None:
            for k in ("kappa", "sigma_f"):
                out.pop(k)
        if self.delta_star_frac is None:  # (a config saved before the option compares equal)
            out.pop("delta_star_frac")
        return out

    @classmethod
    def from_spec(
        cls, spec: str, *, total_steps: int, target_loss: float | str | None = None
    ) -> AdaptiveConfig:
        """Parse ``"adaptive[:key=value,...]"`` (keys: any field but ``total_steps``).

        ``total_steps`` comes from the run; ``target_loss`` from the spec, else the argument.
        Values are read by the field's type: numbers, ``true``/``false``, ``none`` for optional
        fields, ``K0/K1/K2`` for ``k_constants``. Unknown keys, bad values and a missing f* raise
        a one-line ``ValueError`` naming the key.

        >>> AdaptiveConfig.from_spec("adaptive:k_constants=40/-5/10,monotone=true",
        ...                          total_steps=100, target_loss=1.5).k_constants
        (40.0, -5.0, 10.0)
        """
        kwargs = parse_spec(spec)
        if "total_steps" in kwargs:
            raise ValueError(
                f"the adaptive spec {spec!r} sets total_steps; the run's length sets it "
                "(e.g. --steps / --total-steps)"
            )
        kwargs.setdefault("target_loss", target_loss)
        if kwargs["target_loss"] is None:
            raise ValueError(
                "the adaptive schedule needs target_loss (f*): the loss the run can about reach, "
                "or 'auto' to need none (--target-loss F|auto or "
                "adaptive:target_loss=F|auto)"
            )
        try:
            return cls(total_steps=total_steps, **kwargs)
        except TypeError as err:  # a wrong type from the caller's arguments: say which
            raise ValueError(str(err)) from None

    def to_spec(self) -> str:
        """The spec that :meth:`from_spec` reads back (non-default fields; not ``total_steps``)."""
        items = []
        for f in dataclasses.fields(AdaptiveConfig):
            value = getattr(self, f.name)
            if f.name == "total_steps" or (
                f.default is not dataclasses.MISSING and value == f.default
            ):
                continue
            if f.name == "k_constants":
                value = "/".join(repr(float(k)) for k in value)
            items.append(f"{f.name}={value}")
        return SPEC_NAME + (":" + ",".join(items) if items else "")


def field_names() -> tuple[str, ...]:
    """The names of the fields of :class:`AdaptiveConfig`, in order."""
    return tuple(f.name for f in dataclasses.fields(AdaptiveConfig))


def is_adaptive_spec(spec: str) -> bool:
    """True when a schedule spec names the adaptive warm-up.

    >>> is_adaptive_spec("adaptive:div_factor=10"), is_adaptive_spec("wsd")
    (True, False)
    """
    return spec.partition(":")[0].strip() == SPEC_NAME


def parse_spec(spec: str) -> dict[str, Any]:
    """The typed ``key=value`` options of an ``adaptive[:...]`` spec (checked, not yet validated).

    >>> parse_spec("adaptive:div_factor=10,delta_star=none,ramp=paper")
    {'div_factor': 10.0, 'delta_star': None, 'ramp': 'paper'}
    """
    if not isinstance(spec, str):
        raise TypeError(f"a schedule spec must be a string; got {spec!r}")
    name, _, rest = spec.partition(":")
    if name.strip() != SPEC_NAME:
        raise ValueError(f"not an adaptive spec: {spec!r} (expected 'adaptive[:key=value,...]')")
    types = {f.name: f.type for f in dataclasses.fields(AdaptiveConfig)}
    out: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, text = (s.strip() for s in item.partition("="))
        if not eq or not key:
            raise ValueError(f"adaptive spec items must be key=value; got {item!r} in {spec!r}")
        if key not in types:
            raise ValueError(
                f"unknown adaptive warm-up option {key!r} in {spec!r}; valid: "
                f"{', '.join(k for k in types if k != 'total_steps')}"
            )
        if key in out:
            raise ValueError(f"adaptive option {key!r} is given twice in {spec!r}")
        out[key] = _parse_value(key, text, str(types[key]))
    return out


def _parse_value(key: str, text: str, annotation: str) -> Any:
    """Read one spec value by the field's annotation (``"float | None"``, ``"bool"``, ...)."""
    kinds = [k.strip() for k in annotation.split("|")]
    if "None" in kinds and text.lower() in ("none", "null"):
        return None
    base = kinds[0]
    try:
        if base == "int":
            return int(text)
        if base == "float":
            if "str" in kinds and not _is_number(text):
                return text
            return float(text)
        if base == "bool":
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if base.startswith("tuple"):
            return tuple(float(x) for x in text.split("/"))
    except ValueError:
        want = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
        }.get(base, "three numbers K0/K1/K2")
        none = " or none" if "None" in kinds else ""
        raise ValueError(f"adaptive option {key} must be {want}{none}; got {text!r}") from None
    return text


def parse_target_loss(text: str) -> float | str:
    """Read a target loss as given on a command line: a finite number, or ``"auto"``.

    >>> parse_target_loss("1.3"), parse_target_loss("auto")
    (1.3, 'auto')
    """
    word = text.strip()
    if word in TARGET_LOSS_WORDS:
        return word
    try:
        value = float(word)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(
            f"target_loss must be a finite number or 'auto' (f* found by fstar_rule); got {text!r}"
        )
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_k_constants(value: object) -> tuple[float, float, float]:
    try:
        ks = tuple(float(k) for k in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        ks = ()
    if len(ks) != 3 or not all(math.isfinite(k) for k in ks) or ks[0] <= 0 or ks[2] <= 0:
        raise ValueError(
            "k_constants must be three finite numbers (K0, K1, K2) with K0 > 0 and K2 > 0; "
            f"got {value!r}"
        )
    d = math.sqrt(ks[0] / ks[2])
    if ks[0] + ks[1] * d + ks[2] * d * d <= 0:
        raise ValueError(f"k_constants give a non-positive denominator at D*; got {ks}")
    return ks


# The benchmark's adaptive modes: name -> the AdaptiveConfig fields each sets, spelled out in full
# (in this order) so that a stored result's schedule spec names its exact rules.
# "adaptive-faithful": the seed paper's rules (raw mini-batch loss, the closed-form ramp
#   eta(D) = D / (K0 + K1 D + K2 D^2), switch on the first loss at or below f* + D*).
# "adaptive-auto": autowarm's default (the class defaults, spelled out): bias-corrected EMA of the
#   loss, the ramp linear in the gap, f* at the loss's floor (target_loss="auto"), the latest
#   switch at half the run, the rate limit and the guard: nothing to set but the peak LR,
#   div_factor and the run's length.
# "adaptive": the same rules with the preset's hand-set f*.
# "adaptive-auto-v2": autowarm's default from 2026-11-30 until stop 25 (the ramp from the first
#   loss: start_rate=0); the mode "adaptive-auto" of the results stored before then.
# "adaptive-auto-hold-start": the default with only the first fast fall held (hold_rule="start"),
#   the first form of the hold measured in stop 25 (BENCHMARKS.md), opt-in.
# "adaptive-v1", "adaptive-estimate": autowarm's default mode before 2026-11-30 (no latest switch,
#   no rate limit, the spike test on outliers only) with the preset's f* and with f* estimated
#   online; these were the modes "adaptive" and "adaptive-auto" of the results stored before then.
# "adaptive-paper-ramp": the v1 mode with the paper's closed-form ramp (autowarm's default
#   until the CPU benchmark showed that ramp idling near lr/div; BENCHMARKS.md), opt-in.
# "adaptive-progress": the v1 smoothed mode with the closed-loop ramp (ramp="progress"), which
#   uses neither f* nor D*: the LR rises while the loss falls, slower on a plateau (experimental).
# "adaptive-auto-third": the default with the peak at a third of the first loss (delta_star_frac
#   = 1/3, the same for every optimizer) instead of the kappa fit's D*, experimental (stop 27).
# "adaptive-zero*": the design study that led to the default (BENCHMARKS.md), experimental.
# The smoothed modes name the outlier filter and the guard (on by default since 2026-11-29/30)
# so that a stored result from before them, whose spec lacks them, reads as another schedule to
# the result store. The variants change a value in place or add a key at the end, so every mode
# keeps the key order its stored specs were written in. The linear, smoothed modes other than
# the default spell out start_rate=0 (the ramp from the first loss) that they ran with.
_SMOOTHED: dict[str, object] = {
    "smoothing": 0.9,
    "patience": 1,
    "monotone": False,
    "outlier_filter": True,
    "guard": True,
    "ramp": "linear",
}
# The rules autowarm's default changed from on 2026-11-30 (BENCHMARKS.md, "f* = 0 with a latest
# switch"): no latest switch, no rate limit, the spike test on outliers only, and with
# target_loss="auto" the online f* estimator. The historical modes spell them out.
_V1: dict[str, object] = {"warmup_max_frac": None, "max_growth": None, "spike_rule": "outlier"}
# The default rules since then: the latest switch at half the run, the rate limit (3x per
# smoothing horizon) and the spike test on every loss (with "auto": f* at the loss's floor).
_V2: dict[str, object] = {"warmup_max_frac": 0.5, "max_growth": 3.0, "spike_rule": "level"}
MODES: dict[str, dict[str, object]] = {
    "adaptive-faithful": {
        "smoothing": 0.0,
        "patience": 1,
        "monotone": False,
        "ramp": "paper",
        **_V1,
    },
    "adaptive": {**_SMOOTHED, **_V2, "start_rate": START_RATE, "hold_rule": "always"},
    "adaptive-auto": {
        **_SMOOTHED,
        "target_loss": AUTO,
        "fstar_rule": "floor",
        **_V2,
        "start_rate": START_RATE,
        "hold_rule": "always",
    },
    "adaptive-auto-third": {
        **_SMOOTHED,
        "target_loss": AUTO,
        "fstar_rule": "floor",
        **_V2,
        "start_rate": START_RATE,
        "hold_rule": "always",
        "delta_star_frac": 1.0 / 3.0,
    },
    "adaptive-auto-hold-start": {
        **_SMOOTHED,
        "target_loss": AUTO,
        "fstar_rule": "floor",
        **_V2,
        "start_rate": START_RATE,
        "hold_rule": "start",
    },
    "adaptive-auto-v2": {
        **_SMOOTHED,
        "target_loss": AUTO,
        "fstar_rule": "floor",
        **_V2,
        "start_rate": 0.0,
    },
    "adaptive-v1": {**_SMOOTHED, **_V1, "start_rate": 0.0},
    "adaptive-estimate": {
        **_SMOOTHED,
        "target_loss": AUTO,
        "fstar_rule": "estimate",
        **_V1,
        "start_rate": 0.0,
    },
    "adaptive-paper-ramp": {**_SMOOTHED, "ramp": "paper", **_V1},
    "adaptive-progress": {
        **_SMOOTHED,
        "ramp": "progress",
        "target_loss": AUTO,
        "fstar_rule": "estimate",
        **_V1,
    },
    "adaptive-zero": {
        **_SMOOTHED,
        "ramp": "paper",
        "target_loss": 0.0,
        "warmup_max_frac": 0.5,
        "max_growth": None,
        "spike_rule": "outlier",
    },
    "adaptive-zero-linear": {
        **_SMOOTHED,
        "target_loss": 0.0,
        "warmup_max_frac": 0.5,
        "max_growth": None,
        "spike_rule": "outlier",
        "start_rate": 0.0,
    },
    "adaptive-zero-limited": {
        **_SMOOTHED,
        "target_loss": 0.0,
        "warmup_max_frac": 0.5,
        "max_growth": 3.0,
        "spike_rule": "outlier",
        "start_rate": 0.0,
    },
    "adaptive-zero-spike": {
        **_SMOOTHED,
        "target_loss": 0.0,
        "warmup_max_frac": 0.5,
        "max_growth": 3.0,
        "spike_rule": "level",
        "start_rate": 0.0,
    },
    "adaptive-zero-restart": {
        **_SMOOTHED,
        "target_loss": 0.0,
        "warmup_max_frac": 0.5,
        "max_growth": 3.0,
        "spike_rule": "level",
        "guard_restart": True,
        "start_rate": 0.0,
    },
}

__all__ = [
    "AUTO",
    "FSTAR_RULES",
    "MODES",
    "RAMPS",
    "AdaptiveConfig",
    "field_names",
    "is_adaptive_spec",
    "parse_spec",
    "parse_target_loss",
]
