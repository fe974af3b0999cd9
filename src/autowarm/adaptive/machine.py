"""The loss-adaptive warm-up (Riabinin et al. 2026, arXiv 2602.05813) as an explicit state machine.

The LR multiplier is a function of the sub-optimality gap ``D = loss - f*`` (``f*`` = ``target_loss``)
rather than of the step. The paper's ramp (``ramp="paper"``) is ``m(D) = eta(D) / lr`` with
``eta(D) = D / (K0 + K1 D + K2 D^2)`` fixed by ``m(D0) = 1/div``, ``m(D*) = 1`` and ``m'(D*) = 0``
(:mod:`autowarm.adaptive.dstar`), i.e.

    m(D) = 1 / (1 + (div - 1) (D0 / D) ((D - D*) / (D0 - D*))^2)   while D > D*.

The default ramp (``ramp="linear"``) is the template the paper's D* fit matches that closed form to,
linear in the gap: ``m(D) = 1/div + (1 - 1/div) (D0 - D) / (D0 - D*)``. Both start at ``1/div``, peak
at ``D*`` and switch there; the closed form stays within a few per cent of ``1/div`` until the gap
nears ``D*``, which on the CPU benchmark kept Muon's and Lion's warm-ups from ever ending
(BENCHMARKS.md). Either way the LR rises while the loss falls, and it holds the peak (1) while the
gap is at or below ``D*`` but ``patience`` is not yet reached. When the (smoothed) gap has been at
or below ``D*`` for ``patience`` observations the schedule switches, permanently, to a decay from
the peak over the remaining ``total_steps`` (default cosine to ``1e-4`` of the peak, as the paper).

A third ramp, ``ramp="progress"`` (experimental, opt-in), is a closed loop that uses neither f* nor
D*: the multiplier grows by ``progress_growth`` per smoothing horizon while the smoothed loss falls
by at least ``progress_rate`` per horizon, at half that rate (in log scale) while it stalls, and the
warm-up ends at the peak or at ``progress_max_frac x total_steps`` (:meth:`_progress`).

The machine is pure: a frozen, complete configuration (:class:`AdaptiveWarmupSchedule`, an
:class:`~autowarm.adaptive.config.AdaptiveConfig` that knows where D* comes from) and an immutable
state (:class:`~autowarm.adaptive.state.AdaptiveState`; the methods also take and return its
plain-dict form, which loads with ``torch.load(weights_only=True)``):

- ``init()`` -> the state before any update as a dict (``initial_state()``: typed); the first update
  runs at ``1/div``, not at the peak;
- ``advance(state)`` -> one optimizer update has been taken;
- ``observe(state, loss)`` -> a loss has been observed (updates smoothing, the multiplier, the switch);
- ``update(state, loss)`` = ``observe(advance(state), loss)``: the usual per-step call with the loss of
  the update just taken (computed at its pre-update weights);
- ``value(state)`` -> the multiplier of the next update (index ``state.step``).

Differences from the published code, each fixing a defect of it: the first update runs at
``1/div`` (not at the peak); the loss is smoothed by a bias-corrected EMA by default
(``smoothing=0`` gives the raw, paper-faithful loss); the switch may require ``patience``
consecutive observations at or below ``D*``; D* is fitted accurately (:func:`fit_delta_star`); a
non-finite loss holds the multiplier and is counted; a loss below the target clamps the gap to
``MIN_GAP`` (which triggers the switch); with smoothing (the default mode) an isolated outlier in
either direction (a loss more than ``outlier_k`` robust scales from the last accepted ones, see
:func:`_outlier_side`) is held back and dropped, while ``outlier_persist`` consecutive outliers on
one side are a genuine shift and are all taken, in order; the raw-loss mode (``smoothing=0``)
does not filter unless ``outlier_filter=True``. Four rules are not in the paper and are on by
default: a warm-up that has not reached ``f* + D*`` by ``warmup_max_frac`` of the run ends there
(the decay from the multiplier in force); the multiplier grows by at most ``max_growth`` per
smoothing horizon (a switch at ``f* + D*`` waits until the limited ramp reaches the peak); the
linear ramp does not climb while the loss falls fast (``start_rate``, ``hold_rule="always"``:
the multiplier stays where it is while the smoothed loss falls by at least 10% per horizon, and
the ramp runs on from there, :meth:`_hold`; the run starts in such a hold at ``1/div``); and
``target_loss="auto"`` takes the loss's floor. ``smoothing=0, warmup_max_frac=None,
max_growth=None, ramp="paper"`` is the paper's scheduler (the bench mode ``adaptive-faithful``).

**Automatic f*** (``target_loss="auto"``): the user gives only the peak LR, ``div_factor`` and
``total_steps``. With ``fstar_rule="floor"`` (the default) f* is ``L1 - |L1|`` at the first loss
``L1`` (0 for a non-negative loss), never revised, and the warm-up ends at the latest switch
(``warmup_max_frac``). With ``fstar_rule="estimate"`` f* is estimated online by
:class:`autowarm.theory.fstar.OnlineFstar` from the run's own losses. While the warm-up runs, every observation feeds the
estimator the smoothed (outlier-filtered) loss with the multiplier of the update just taken (a
loss that is non-finite or held by the outlier filter is fed as NaN, so that the estimator's
update count and LR area ``P_t = sum m_k`` stay the run's). The estimate is

    f*_0 = L1 - (1 - fstar_provisional_frac) |L1|          (0.4 L1 for a positive first loss L1)
    f*_t = min(f*_0, median(last 3 accepted predictions of the final loss) + fstar_margin)

where a prediction extrapolates the law ``L(P) = c + a P^-alpha`` fitted to the losses seen (from
5% of the run, every ``total_steps // 100`` updates) to the end of the run, and is accepted only if
it lies between the current smoothed loss ``S`` and ``S - (L1 - S)``. f* therefore never rises
above ``f*_0``; it can move between fits. Whenever f* changes, ``D0 = (first smoothed loss) - f*``
and ``D*`` (the given ``delta_star``, ``sqrt(K0 / K2)``, or the fit from kappa for the new D0) are
re-derived, then the gap and the ramp as usual. At the switch the estimator is frozen: f* (recorded
in the state as ``fstar``, with the estimator's plain-value state) no longer matters.

What it assumes: a run that starts near its initial (for a language model, uniform: ``ln V``) loss
and ends at about 0.25-0.4 of it (the CPU benchmark's recorded runs end at 0.26-0.41 ``L1``; the
seed paper's 124M runs near 0.3 ``L1``), and a loss that follows a power law in the LR area after
its first transient. f* then starts at or above the final loss, where the warm-up's result was
measured to be flat, and the fit lowers it towards the final loss plus ``fstar_margin``.

When it fails: a run that ends above ``fstar_provisional_frac x L1`` (fine-tuning, where ``L1`` is
already low; a weak model or a hard corpus; a loss with a large irreducible part; or a large
vocabulary whose first loss ``ln V`` is large compared with what the model reaches in the run, e.g.
a short run of a small model on BPE tokens: the ``cpu`` model on 4096 BPE tokens, AdamW, 600
updates, ends at 0.52 ``L1``). f* is then below the loss the run can reach, the
peak loss ``f* + D*`` is reached late or never, and the warm-up runs long (the torch adapter warns
at half the run and names the fix: a number for ``target_loss``, or a larger
``fstar_provisional_frac``). A loss near zero or negative makes the fractions of ``L1`` meaningless,
and a long plateau followed by a sudden drop gives the fit nothing to extrapolate (f* stays at
``f*_0``).

Fallback: the machine never raises because of the estimate. Non-finite losses are skipped; a fit
that fails keeps the last f* (the estimator's own rule); an exception inside the estimator keeps
the last f* (before the first one: the provisional rule) and turns the estimator off; a given D*
that is not below the D0 of the estimated f* is replaced by ``D0 / 2``. The first of these events
issues one ``RuntimeWarning`` naming what happened and the f* kept; later ones are silent (one
warning per run: ``fstar_warned`` in the state).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import statistics
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from autowarm.adaptive.config import MIN_HISTORY, AdaptiveConfig
from autowarm.adaptive.dstar import constants as dstar_constants
from autowarm.adaptive.dstar import fit_delta_star, linear_multiplier, multiplier
from autowarm.adaptive.state import AdaptiveState
from autowarm.schedules.presets import decay_ramp
from autowarm.theory.fstar import OnlineFstar

MIN_GAP = 1e-12  # a gap at or below zero is clamped to this (loss below the target)
GUARD_START = 10  # accepted losses before the loss-rise guard watches the smoothed loss
START_MAX_FRAC = 0.1  # start_rate: the hold at 1/div ends by this fraction of total_steps


@functools.lru_cache(maxsize=64)
def _decay_piece(n: int, decay: str, final: float, cooldown: int | None):
    """The post-switch schedule over ``n`` remaining updates (cached per switch step)."""
    if cooldown is None or cooldown >= n:
        return decay_ramp(n, decay, final)
    from autowarm.schedules.pieces import Constant, sequence

    return sequence((n - cooldown, Constant(1.0)), (None, decay_ramp(cooldown, decay, final)))


def _outlier_side(recent: tuple[float, ...], loss: float, k: float) -> int:
    """+1 / -1 when ``loss`` is an outlier above / below the recent losses, else 0.

    The reference is the median of the last three accepted losses; the scale is the typical
    change between consecutive ones (``1.4826 median |L_t - L_{t-1}|``, which a steady trend does
    not inflate the way a MAD around a lagging median does), at least 1% of the reference. An
    outlier is more than ``k`` scales away. With fewer than ``MIN_HISTORY`` losses: 0.
    """
    if len(recent) < MIN_HISTORY:
        return 0
    ref = statistics.median(recent[-3:])
    steps = statistics.median(abs(b - a) for a, b in itertools.pairwise(recent))
    scale = max(1.4826 * steps, 0.01 * abs(ref), 1e-12)
    z = (loss - ref) / scale
    return 0 if abs(z) <= k else (1 if z > 0 else -1)


def _feed_estimator(
    config: AdaptiveConfig, state: AdaptiveState, loss: float
) -> tuple[float | None, dict | None, bool, str | None]:
    """One update of the online f* estimator from ``state``: ``(f*, its state, warned, note)``.

    ``note`` is the one warning to issue: the estimator's own (a fit that failed) or an exception
    it raised, after which the estimator is dropped (its state ``None``) and f* keeps its last
    value, or before any value the provisional rule ``L1 - (1 - frac) |L1|``.
    """
    options = {"margin": config.fstar_margin, "provisional_frac": config.fstar_provisional_frac}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if state.estimator is None:
                est = OnlineFstar(config.total_steps, **options)
            else:
                est = OnlineFstar.from_state(state.estimator, **options)
            est.update(loss, lr=state.multiplier)
            value = est.value
            if value is not None and not math.isfinite(value):
                raise FloatingPointError(f"the estimate is {value!r}")
        note = str(caught[0].message) if caught else None
        return value, est.state_dict(), bool(caught), note
    except Exception as err:  # the warm-up must never raise mid-run: fall back, say so once
        fstar = state.fstar
        if fstar is None and math.isfinite(loss):
            frac = config.fstar_provisional_frac
            fstar = loss - (1.0 - frac) * max(abs(loss), 1e-12)
            fstar = fstar if math.isfinite(fstar) else loss  # (|loss| near the float maximum)
        kept = "none yet" if fstar is None else f"{fstar:.4g}"
        return (
            fstar,
            None,
            True,
            (
                f"the f* estimator failed ({type(err).__name__}: {err}); f* stays at {kept} for the "
                "rest of the warm-up"
            ),
        )


def _typed(fn: Callable[..., AdaptiveState]) -> Callable[..., Any]:
    """Let a transition take a typed state or its dict form and return the same form."""

    @functools.wraps(fn)
    def wrapper(self, state, *args):
        if isinstance(state, AdaptiveState):
            return fn(self, state, *args)
        return fn(self, AdaptiveState.from_dict(state), *args).to_dict()

    return wrapper


class AdaptiveWarmupSchedule(AdaptiveConfig):
    """Configuration and pure transition functions of the loss-adaptive warm-up.

    The fields are those of :class:`~autowarm.adaptive.config.AdaptiveConfig` (same order and
    defaults); the machine also needs a source of D*: ``delta_star``, ``kappa`` (the D* fit) or
    ``k_constants``. ``norm`` and ``sync_every`` only concern the torch adapter.

    Example, driving it by hand with a falling loss (f* = 1, D* given):

    >>> s = AdaptiveWarmupSchedule(total_steps=10, target_loss=1.0, delta_star=1.0,
    ...                            div_factor=10.0, smoothing=0.0, max_growth=None)
    >>> state = s.init()
    >>> lrs = []
    >>> for loss in [5.0, 4.0, 3.0, 2.5, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4]:
    ...     lrs.append(round(s.value(state), 3))
    ...     state = s.update(state, loss)
    >>> lrs
    [0.1, 0.1, 0.4, 0.7, 0.85, 0.905, 0.655, 0.346, 0.096, 0.0]
    >>> state["warmup_end_step"], state["phase"]
    (5, 'decay')
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.has_delta_star_source:
            raise ValueError(
                "the adaptive warm-up needs delta_star, delta_star_frac, kappa (for the D* fit) "
                "or k_constants; got none of them"
            )

    @classmethod
    def from_config(cls, config: AdaptiveConfig, **changes: Any) -> AdaptiveWarmupSchedule:
        """The machine of a configuration (with some fields changed, e.g. a computed kappa)."""
        return cls(**{**config.to_dict(), **changes, "k_constants": config.k_constants})

    # --- the state machine -------------------------------------------------------------------

    def initial_state(self) -> AdaptiveState:
        """The state before the first update: step 0, no loss seen, multiplier ``1/div``."""
        return AdaptiveState(
            d0=self.initial_gap,
            multiplier=1.0 / self.div_factor,
            holding=self.hold_rate is not None,
        )

    def init(self) -> dict:
        """:meth:`initial_state` as a plain dict."""
        return self.initial_state().to_dict()

    @_typed
    def advance(self, state: AdaptiveState) -> AdaptiveState:
        """One optimizer update has been taken."""
        return dataclasses.replace(state, step=state.step + 1)

    @_typed
    def observe(self, state: AdaptiveState, loss: float) -> AdaptiveState:
        """Feed the loss of an update taken; the switch (if any) applies from ``state.step``.

        With ``target_loss="auto"`` the f* estimator takes one value per call during the warm-up
        (before the loss enters the ramp): the smoothed loss when the loss is accepted now, NaN
        when it is not (non-finite, or held by the outlier filter), so that its update count and
        LR area stay those of the run.
        """
        loss = float(loss)
        if not math.isfinite(loss):
            state = dataclasses.replace(state, nonfinite=state.nonfinite + 1)
            return self._estimate(state, math.nan)
        if not self.filters_outliers:
            return self._accept(self._estimate(state, loss), loss)
        side = _outlier_side(state.recent, loss, self.outlier_k)
        # a loss spike: the guard may back off at once (spike_rule: an upward outlier, or any loss)
        if self.guards and (side > 0 if self.spike_rule == "outlier" else len(state.recent) >= 3):
            state = self._spike(state, loss)
        if side == 0:  # an ordinary loss: any held outliers were isolated
            state = dataclasses.replace(state, held=(), outliers=state.outliers + len(state.held))
            return self._accept(self._estimate(state, loss), loss)
        held = state.held
        if held and _outlier_side(state.recent, held[0], self.outlier_k) != side:
            state = dataclasses.replace(state, outliers=state.outliers + len(held))
            held = ()
        held = (*held, loss)
        if len(held) < self.outlier_persist:  # wait: a spike, or a shift?
            return self._estimate(dataclasses.replace(state, held=held), math.nan)
        # The shift persists: accept the held losses in order, the window restarts from them.
        state = self._estimate(dataclasses.replace(state, held=(), recent=()), loss)
        for x in held:
            state = self._accept(state, x)
        return state

    def _accept(self, state: AdaptiveState, loss: float) -> AdaptiveState:
        """Take a finite loss into the smoothed loss, the multiplier and the switch."""
        recent = state.recent
        if self.filters_outliers:
            recent = (*recent, loss)[-self.outlier_window :]
        beta = self.smoothing
        ema = beta * state.ema + (1.0 - beta) * loss
        weight = beta * state.ema_weight + (1.0 - beta)
        smoothed = ema / weight
        gap = max(smoothed - self.target(state), MIN_GAP)
        changes: dict[str, Any] = {
            "recent": recent,
            "ema": ema,
            "ema_weight": weight,
            "observed": state.observed + 1,
            "loss": smoothed,
            "gap": gap,
        }
        self._guard(state, smoothed, changes)
        if state.phase == "decay":
            return dataclasses.replace(state, **changes)
        if self.closed_loop:
            return dataclasses.replace(state, **self._progress(state, smoothed, changes))
        d0, ds = state.d0, state.delta_star
        if ds is None and self.is_auto:  # f* is below the first loss by construction
            d0, ds, warned = self._auto_gaps(smoothed - state.fstar, state.fstar, state)
            changes.update(d0=d0, delta_star=ds, fstar_warned=warned)
        elif ds is None:
            d0, ds = self._start(d0, smoothed)
            changes.update(d0=d0, delta_star=ds)
        # a hold ends at f* + D* at the latest: the warm-up's end is the peak loss's to decide
        watch = state.holding or (self.hold_rule == "always" and self.hold_rate is not None)
        holding = watch and gap > ds and self._hold(state, smoothed, gap, changes)
        if watch and gap <= ds:
            changes["holding"] = False
        if holding:  # a fast fall (the first: at 1/div, the ramp has not started): hold
            m = changes.get("multiplier", state.multiplier)
        elif gap <= ds:
            m = 1.0  # at the peak: hold it while the patience runs
        elif self.k_constants is not None:
            m = self._k_multiplier(gap)
        elif self.ramp == "linear":
            start = changes.get("ramp_start", state.ramp_start)  # a restarted ramp's start
            if start is None:
                m = linear_multiplier(gap, d0, ds, self.div_factor)
            else:  # from the back-off's multiplier at the back-off's gap
                m = linear_multiplier(gap, changes.get("ramp_d0", state.ramp_d0), ds, 1.0 / start)
        else:
            m = multiplier(gap, d0, ds, self.div_factor)
        last = changes.get("multiplier", state.multiplier)  # a restart lowered it
        m = min(max(m, 0.0), 1.0) if math.isfinite(m) else last
        if self.max_growth is not None:  # the rate limit: at most max_growth per horizon
            m = min(m, last * self.max_growth ** (1.0 / self.horizon))
        if self.monotone:
            m = max(m, last)
        cap = changes.get("cap", state.cap)
        m = min(m, cap)  # the guard's cap wins over monotone
        below = state.below + 1 if gap <= ds and not holding else 0
        changes.update(multiplier=m, below=below)
        # At f* + D* the switch waits until a rate-limited multiplier has reached the peak (or
        # the cap), so that the decay does not start with a jump the limit exists to prevent.
        if below >= self.patience and m >= min(1.0, cap) - 1e-12:
            changes.update(self._switch(state))
        elif (
            self.warmup_max_frac is not None
            and state.step >= self.warmup_max_frac * self.total_steps
        ):
            # the latest switch: the decay runs from the multiplier in force (the cap scales it)
            changes.update(self._switch(state), cap=m)
        return dataclasses.replace(state, **changes)

    def _hold(
        self, state: AdaptiveState, smoothed: float, gap: float, changes: dict[str, Any]
    ) -> bool:
        """``start_rate``: whether the multiplier is held now (the changes into ``changes``).

        Called with the gap above D* (a hold ends at ``f* + D*``). A fall is fast while the
        smoothed loss has fallen by at least the hold rate (relative) over the last smoothing
        horizon; the first horizon counts as fast. ``hold_rule="always"``: every fast fall holds
        the multiplier in force, and when one ends the linear ramp runs on from the held
        multiplier at the smoothed gap then. ``"start"``: the first one only, not past
        ``START_MAX_FRAC x total_steps``, after which the ramp runs from ``1/div`` at that gap.
        """
        h = self.horizon
        hist = (*state.progress_hist, smoothed)[-(h + 1) :]
        fast = len(hist) <= h or hist[0] - smoothed >= self.hold_rate * max(abs(hist[0]), 1e-12)
        if self.hold_rule == "always":
            changes.update(progress_hist=hist, holding=fast)
            if state.holding and not fast:  # the ramp runs on from the hold
                changes.update(ramp_start=changes.get("multiplier", state.multiplier), ramp_d0=gap)
            return fast
        if fast and state.step < START_MAX_FRAC * self.total_steps:
            changes["progress_hist"] = hist
            return True
        changes.update(
            holding=False, progress_hist=(), ramp_start=1.0 / self.div_factor, ramp_d0=gap
        )
        return False

    @staticmethod
    def _switch(state: AdaptiveState) -> dict[str, Any]:
        """The state changes of the switch to the decay, from the next update on."""
        changes: dict[str, Any] = {
            "phase": "decay",
            "warmup_end_step": state.step,
            "multiplier": 1.0,
        }
        if state.estimator is not None:  # f* is no longer used: stop revising it
            changes["estimator"] = {**state.estimator, "frozen": True}
        return changes

    def _progress(
        self, state: AdaptiveState, smoothed: float, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """The closed-loop warm-up (``ramp="progress"``): the changes of one accepted loss.

        Over the last smoothing horizon ``h = 1/(1 - smoothing)`` updates the smoothed loss fell
        by the relative amount ``r = (S[t-h] - S[t]) / |S[t-h]|``. While ``r >= progress_rate``
        the LR in force works and the multiplier grows by ``progress_growth`` per horizon
        (``progress_growth ** (1/h)`` per update); while the loss stalls (``r`` below it) the
        multiplier grows at half that rate in log scale, so a plateau is crossed at a lower LR
        without holding the LR where it cannot leave the plateau. The warm-up ends when the
        multiplier reaches the peak, or at ``progress_max_frac x total_steps`` with the decay
        scaled to start where the multiplier stands (the cap). f* and D* are not used.
        """
        h = self.horizon
        hist = (*state.progress_hist, smoothed)[-(h + 1) :]
        m = state.multiplier
        if len(hist) > h:
            ref = hist[0]
            falling = ref - smoothed >= self.progress_rate * max(abs(ref), 1e-12)
            m = m * self.progress_growth ** ((1.0 if falling else 0.5) / h)
        cap = changes.get("cap", state.cap)
        m = min(m, 1.0, cap)
        changes.update(progress_hist=hist, multiplier=m)
        if m >= 1.0 or state.step >= self.progress_max_frac * self.total_steps:
            # the decay runs from the multiplier in force (the cap scales it)
            changes.update(self._switch(state), cap=m)
        return changes

    @property
    def closed_loop(self) -> bool:
        """Whether the warm-up is the closed loop of ``ramp="progress"`` (no f*, no D*)."""
        return self.ramp == "progress" and self.k_constants is None

    @property
    def horizon(self) -> int:
        """The smoothed loss's time constant ``1/(1 - smoothing)`` in updates (at least 1)."""
        return max(1, round(1.0 / (1.0 - self.smoothing)))

    def _guard(self, state: AdaptiveState, smoothed: float, changes: dict[str, Any]) -> None:
        """The loss-rise guard: back the peak off when the smoothed loss climbs (into ``changes``).

        From the ``GUARD_START``-th accepted loss on, the guard keeps the lowest smoothed loss
        since its last back-off. A smoothed loss more than ``guard_rise`` (relative) above it
        means the LR in force is too high for where the run is: the cap on the multiplier drops to
        ``guard_backoff`` times the multiplier in force (during the warm-up the current warm-up
        multiplier, after the switch the current cap, which scales the whole remaining decay), but
        never below ``1/div``. The smoothed loss lags the LR, so after a back-off the guard waits
        one smoothing horizon (``1/(1 - smoothing)`` updates) before it judges the lowered LR,
        its reference following the smoothed loss meanwhile. A loss spike (:meth:`_spike`) backs
        off the same way.
        """
        if not self.guards or state.observed + 1 < GUARD_START:
            return
        ref = state.guard_min
        if self._waiting(state):
            changes["guard_min"] = smoothed  # judge the lowered LR after one smoothing horizon
            return
        if ref is None or smoothed < ref:
            changes["guard_min"] = smoothed
            return
        if smoothed - ref <= self.guard_rise * max(abs(ref), 1e-12):
            return
        changes["guard_min"] = smoothed
        changes.update(self._backoff(state, changes["gap"]))

    def _spike(self, state: AdaptiveState, loss: float) -> AdaptiveState:
        """Back off on a loss spike: an upward outlier more than ``guard_spike`` above the recent.

        The reference is the median of the last three accepted losses (the outlier test's). The
        spike itself is still held back by the outlier filter as usual.
        """
        if state.observed < GUARD_START or self._waiting(state):
            return state
        ref = statistics.median(state.recent[-3:])
        if loss - ref <= self.guard_spike * max(abs(ref), 1e-12):
            return state
        return dataclasses.replace(state, **self._backoff(state, state.gap))

    def _waiting(self, state: AdaptiveState) -> bool:
        """Whether the last back-off is less than one smoothing horizon ago."""
        return bool(state.backoff_steps) and state.step - state.backoff_steps[-1] < self.horizon

    def _backoff(self, state: AdaptiveState, gap: float | None) -> dict[str, Any]:
        """The state changes of one back-off (none at the floor).

        The cap drops to ``guard_backoff`` times the multiplier in force; with ``guard_restart``
        during a gap ramp's warm-up, the ramp instead restarts from that value at ``gap`` (the
        smoothed gap now), and the cap stays.
        """
        floor = 1.0 / self.div_factor
        current = state.multiplier if state.phase == "warmup" else state.cap
        current = min(current, state.cap)
        if current <= floor:  # nothing lower to go to: the warm-up's start is the floor
            return {}
        lowered = max(self.guard_backoff * current, floor)
        steps = (*state.backoff_steps, state.step)
        restart = (
            self.guard_restart
            and state.phase == "warmup"
            and gap is not None
            and state.delta_star is not None
            and gap > state.delta_star  # at or below D* the ramp is at the peak: cap it
        )
        if restart:
            return {
                "multiplier": lowered,
                "ramp_start": lowered,
                "ramp_d0": gap,
                "backoff_steps": steps,
            }
        changes: dict[str, Any] = {"cap": lowered, "backoff_steps": steps}
        if state.phase == "warmup":
            # at once: a spike held back by the outlier filter accepts no loss this update, and
            # the next update must not run above the cap
            changes["multiplier"] = min(state.multiplier, lowered)
        return changes

    def update(self, state, loss: float):
        """``observe(advance(state), loss)``: the loss of the update just taken."""
        return self.observe(self.advance(state), loss)

    def value(self, state) -> float:
        """The multiplier of update ``state.step`` (in ``[0, 1]``, always finite)."""
        st = AdaptiveState.from_dict(state)
        if st.phase == "warmup":
            return st.multiplier
        start = st.warmup_end_step
        remaining = self.total_steps - start
        if remaining < 1:
            return self.final_lr_factor
        piece = _decay_piece(remaining, self.decay, self.final_lr_factor, self.cooldown_steps)
        return st.cap * piece(st.step - start)

    # --- helpers -------------------------------------------------------------------------------

    def _delta_star_for(self, d0: float) -> float:
        """D* for the gap ``d0``: from ``k_constants``, given, a fraction of ``d0``, or fitted."""
        if self.k_constants is not None:
            k0, _, k2 = self.k_constants
            return math.sqrt(k0 / k2)
        if self.delta_star is not None:
            return float(self.delta_star)
        if self.delta_star_frac is not None:
            return float(self.delta_star_frac) * d0
        return fit_delta_star(d0, self.div_factor, float(self.kappa), self.sigma_f)

    def _start(self, d0: float | None, first_loss: float) -> tuple[float, float]:
        """D0 and D* at the first finite observation (a given f*)."""
        if d0 is None:
            d0 = first_loss - self.target_loss
            if d0 <= 0:
                raise ValueError(
                    f"target_loss ({self.target_loss}) must be below the first observed loss "
                    f"({first_loss}); choose f* under the initial loss (about the loss you expect "
                    "to reach, see the docs)"
                )
        ds = self._delta_star_for(d0)
        if ds >= d0:
            raise ValueError(
                f"delta_star ({ds}) must be below the initial gap D0 = {d0} (first loss minus "
                f"target_loss {self.target_loss})"
            )
        return float(d0), float(ds)

    # --- target_loss="auto" ---------------------------------------------------------------------

    def target(self, state) -> float | None:
        """The f* in force: ``target_loss``, or with ``"auto"`` the estimate (None before a loss)."""
        if not self.is_auto:
            return float(self.target_loss)
        return AdaptiveState.from_dict(state).fstar

    def _estimate(self, state: AdaptiveState, loss: float) -> AdaptiveState:
        """Feed the f* estimator one value (auto, warm-up only); re-derive D0 and D* on a change.

        ``loss`` is NaN for an update whose loss is not taken now. The LR area grows by the
        multiplier in force (that of the update just taken; with ``sync_every > 1`` in the torch
        adapter, that of the batch's updates until the first loss of the batch changes it). Any
        exception inside the estimator is caught: f* keeps its last value (or, before the first
        value, the provisional rule), the estimator is dropped, and one ``RuntimeWarning`` says so.
        """
        if not self.is_auto or state.phase != "warmup":
            return state
        if state.estimator is None and state.fstar is not None:
            return state  # the estimator failed earlier (or fstar_rule="floor"): f* stays
        if self.fstar_rule == "floor":  # set once, at the first finite loss
            return (
                self._floor(state, loss) if math.isfinite(loss) and state.fstar is None else state
            )
        if math.isfinite(loss):  # the smoothed loss _accept is about to compute
            beta = self.smoothing
            ema = beta * state.ema + (1.0 - beta) * loss
            smoothed = ema / (beta * state.ema_weight + (1.0 - beta))
            loss = smoothed if math.isfinite(smoothed) else loss  # (an overflowing EMA)
        fstar, estimator, warned, note = _feed_estimator(self, state, loss)
        if note is not None and not state.fstar_warned:
            warnings.warn(f"target_loss='auto' at update {state.step}: {note}", RuntimeWarning, 4)
        warned = warned or state.fstar_warned
        changes: dict[str, Any] = {"fstar": fstar, "estimator": estimator, "fstar_warned": warned}
        if state.d0 is not None and fstar != state.fstar:  # a revision: D0 = first loss - f*
            d0, ds, warned = self._auto_gaps(state.d0 + state.fstar - fstar, fstar, state)
            changes.update(d0=d0, delta_star=ds, fstar_warned=warned or changes["fstar_warned"])
        return dataclasses.replace(state, **changes)

    def _floor(self, state: AdaptiveState, loss: float) -> AdaptiveState:
        """fstar_rule="floor": f* = L1 - |L1| at the first finite loss L1, never revised.

        0 for a non-negative first loss (a cross-entropy cannot go below it); for a negative one
        there is no known floor, and f* = 2 L1 with one warning.
        """
        fstar = loss - abs(loss)
        warned = state.fstar_warned
        if loss < 0 and not warned:
            warnings.warn(
                f"target_loss='auto' with fstar_rule='floor': the first loss {loss:.4g} is "
                f"negative, so 0 is no floor for it; using f* = {fstar:.4g} (2 x the first loss); "
                "give target_loss a number if you know where the loss levels off",
                RuntimeWarning,
                4,
            )
            warned = True
        return dataclasses.replace(state, fstar=fstar, fstar_warned=warned)

    def _auto_gaps(
        self, d0: float, fstar: float, state: AdaptiveState
    ) -> tuple[float, float, bool]:
        """D0 and D* for an estimated f*, never raising; and whether the warning was issued.

        D* is the given ``delta_star``, ``sqrt(K0 / K2)`` of ``k_constants`` or the fit from kappa.
        When it is not in ``(0, D0)`` (a given D* at or above the gap of a provisional f*, or a
        fit that failed numerically), D* is ``D0 / 2`` and one warning says so.
        """
        d0 = max(float(d0), MIN_GAP)
        try:
            ds = self._delta_star_for(d0)
            problem = None if 0.0 < ds < d0 else f"D* = {ds:.4g} is not below D0 = {d0:.4g}"
        except (ValueError, ArithmeticError, FloatingPointError) as err:
            problem = f"the D* fit failed ({err})"
        if problem is None:
            return d0, float(ds), state.fstar_warned
        if not state.fstar_warned:
            warnings.warn(
                f"target_loss='auto' at update {state.step}: {problem} with the estimated f* = "
                f"{fstar:.4g}; using D* = D0 / 2 = {0.5 * d0:.4g} (give a smaller delta_star, "
                "or a number for target_loss)",
                RuntimeWarning,
                4,
            )
        return d0, 0.5 * d0, True

    def _k_multiplier(self, gap: float) -> float:
        k0, k1, k2 = self.k_constants
        ds = math.sqrt(k0 / k2)
        peak = ds / (k0 + k1 * ds + k2 * ds * ds)
        den = k0 + k1 * gap + k2 * gap * gap
        return (gap / den) / peak if den > 0 else 1.0

    def constants(self, state, lr: float = 1.0) -> tuple[float, float, float] | None:
        """``(K0, K1, K2)`` for the peak LR ``lr`` (``None`` before the first loss)."""
        if self.k_constants is not None:
            return self.k_constants
        st = AdaptiveState.from_dict(state)
        if st.delta_star is None:
            return None
        return dstar_constants(st.d0, st.delta_star, self.div_factor, lr)

    def simulate(self, losses: Iterable[float]) -> dict:
        """Run over a recorded loss curve: one loss per optimizer update, in order.

        Returns plain lists: ``multiplier[k]`` (the multiplier update ``k`` ran with), ``gap[k]``
        and ``phase[k]`` after observing ``loss[k]``, and the final ``state`` (a dict).

        >>> s = AdaptiveWarmupSchedule(total_steps=4, target_loss=0.0, delta_star=1.0,
        ...                            div_factor=4.0, smoothing=0.0, warmup_max_frac=None,
        ...                            max_growth=None)  # the paper's rules
        >>> out = s.simulate([3.0, 2.0, 1.0, 0.5])
        >>> [round(m, 3) for m in out["multiplier"]], out["state"]["warmup_end_step"]
        ([0.25, 0.25, 0.625, 0.0], 3)
        """
        state = self.initial_state()
        mults, gaps, phases = [], [], []
        for loss in losses:
            mults.append(self.value(state))
            state = self.update(state, loss)
            gaps.append(state.gap)
            phases.append(state.phase)
        return {"multiplier": mults, "gap": gaps, "phase": phases, "state": state.to_dict()}
