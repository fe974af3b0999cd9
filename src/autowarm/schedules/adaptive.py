"""The loss-adaptive warm-up (Riabinin et al. 2026, arXiv 2602.05813) as an explicit state machine.

The LR multiplier is a function of the sub-optimality gap ``D = loss - f*`` (``f*`` = ``target_loss``)
rather than of the step. The paper's ramp (``ramp="paper"``) is ``m(D) = eta(D) / lr`` with
``eta(D) = D / (K0 + K1 D + K2 D^2)`` fixed by ``m(D0) = 1/div``, ``m(D*) = 1`` and ``m'(D*) = 0``
(:mod:`autowarm.schedules.dstar`), i.e.

    m(D) = 1 / (1 + (div - 1) (D0 / D) ((D - D*) / (D0 - D*))^2)   while D > D*.

The default ramp (``ramp="linear"``) is the template the paper's D* fit matches that closed form to,
linear in the gap: ``m(D) = 1/div + (1 - 1/div) (D0 - D) / (D0 - D*)``. Both start at ``1/div``, peak
at ``D*`` and switch there; the closed form stays within a few per cent of ``1/div`` until the gap
nears ``D*``, which on the CPU benchmark kept Muon's and Lion's warm-ups from ever ending
(BENCHMARKS.md). Either way the LR rises while the loss falls. When the (smoothed) gap first reaches
``D*`` the schedule switches, permanently, to a decay from the peak over the remaining
``total_steps`` (default cosine to ``1e-4`` of the peak, as the paper).

The machine is pure: a frozen config (:class:`AdaptiveWarmupSchedule`) and a state of plain Python
scalars (a ``dict``; it loads with ``torch.load(weights_only=True)``) with

- ``init()`` -> the state before any update (the first update runs at ``1/div``, not at the peak);
- ``advance(state)`` -> one optimizer update has been taken;
- ``observe(state, loss)`` -> a loss has been observed (updates smoothing, the multiplier, the switch);
- ``update(state, loss)`` = ``observe(advance(state), loss)``: the usual per-step call with the loss of
  the update just taken (computed at its pre-update weights);
- ``value(state)`` -> the multiplier of the next update (index ``state["step"]``).

Differences from the published code, each fixing a defect listed in the reference digest: the
first update runs at ``1/div`` (not at the peak); the loss is smoothed by a bias-corrected EMA by
default (``smoothing=0`` gives the raw, paper-faithful loss); the switch may require ``patience``
consecutive observations at or below ``D*``; D* is fitted accurately (:func:`fit_delta_star`); a
non-finite loss holds the multiplier and is counted; a loss below the target clamps the gap to
``MIN_GAP`` (which triggers the switch).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from autowarm.schedules import _validate as v
from autowarm.schedules.dstar import fit_delta_star, linear_multiplier, multiplier
from autowarm.schedules.presets import DECAY_SHAPES, decay_ramp

MIN_GAP = 1e-12  # a gap at or below zero is clamped to this (loss below the target)
PHASES = ("warmup", "decay")
RAMPS = ("paper", "linear")  # the warm-up multiplier as a function of the gap


@functools.lru_cache(maxsize=64)
def _decay_piece(n: int, decay: str, final: float, cooldown: int | None):
    """The post-switch schedule over ``n`` remaining updates (cached per switch step)."""
    if cooldown is None or cooldown >= n:
        return decay_ramp(n, decay, final)
    from autowarm.schedules.pieces import Constant, sequence

    return sequence((n - cooldown, Constant(1.0)), (None, decay_ramp(cooldown, decay, final)))


@dataclass(frozen=True)
class AdaptiveWarmupSchedule:
    """Configuration and pure transition functions of the loss-adaptive warm-up.

    Args:
        total_steps: optimizer updates in the run (> 0); the decay ends on update ``total_steps``.
        target_loss: ``f*``, the loss the gap is measured from (loss units, finite). It must be
            below the first observed (smoothed) loss.
        div_factor: the warm-up starts at ``1/div_factor`` of the peak (>= 1; the paper uses 100 for
            Muon and Lion, 2-5 for normalized SGD).
        delta_star: ``D*`` given directly (> 0, < the initial gap). ``None`` fits it from ``kappa``.
        kappa: the optimizer's norm constant (see :func:`autowarm.schedules.kappa.kappa`), used by
            the D* fit. Needed unless ``delta_star`` or ``k_constants`` is given.
        sigma_f: the paper's ``sigma_F`` of the D* fit (default 1e-3).
        smoothing: EMA factor ``beta`` in ``[0, 1)`` of the bias-corrected loss average; 0 uses the
            raw loss (paper-faithful).
        initial_gap: ``D0`` given directly; ``None`` takes the first observed loss minus the target.
        patience: consecutive observations with gap <= D* needed to switch (>= 1).
        monotone: never lower the multiplier during the warm-up.
        decay: the post-switch decay shape (any of ``autowarm.schedules.presets.DECAY_SHAPES``).
        final_lr_factor: the multiplier of the last update, in ``[0, 1]`` (paper: 1e-4).
        cooldown_steps: if given, hold the peak after the switch and decay over the last
            ``cooldown_steps`` updates only (WSD-style); ``None`` decays over all remaining steps.
        k_constants: measured ``(K0, K1, K2)`` (e.g. from the smoothness probe). The multiplier is
            then ``eta(D) / eta(D*)`` with ``D* = sqrt(K0 / K2)`` (the shape of the measured law,
            peak-normalised); ``delta_star``, ``kappa`` and ``ramp`` are ignored.
        ramp: the warm-up multiplier between ``D0`` and ``D*``: ``"linear"`` (default), linear in
            the gap from ``1/div`` at ``D0`` to 1 at ``D*`` (the template the paper's D* fit
            matches; held at ``1/div`` while the loss is above its first value); ``"paper"``, the
            closed form ``eta(D) = D / (K0 + K1 D + K2 D^2)`` above. Same start, peak and switch.

    Example, driving it by hand with a falling loss (f* = 1, D* given):

    >>> s = AdaptiveWarmupSchedule(total_steps=10, target_loss=1.0, delta_star=1.0,
    ...                            div_factor=10.0, smoothing=0.0)
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

    total_steps: int
    target_loss: float
    div_factor: float = 100.0
    delta_star: float | None = None
    kappa: float | None = None
    sigma_f: float = 1e-3
    smoothing: float = 0.9
    initial_gap: float | None = None
    patience: int = 1
    monotone: bool = False
    decay: str = "cosine"
    final_lr_factor: float = 1e-4
    cooldown_steps: int | None = None
    k_constants: tuple[float, float, float] | None = None
    ramp: str = "linear"

    def __post_init__(self) -> None:
        v.steps("total_steps", self.total_steps, minimum=1)
        v.real("target_loss", self.target_loss)
        v.real("div_factor", self.div_factor, low=1.0)
        v.real("sigma_f", self.sigma_f, low=0.0, low_open=True)
        v.real("smoothing", self.smoothing, low=0.0, high=1.0, high_open=True)
        v.steps("patience", self.patience, minimum=1)
        v.choice("decay", self.decay, tuple(DECAY_SHAPES))
        v.choice("ramp", self.ramp, RAMPS)
        v.factor("final_lr_factor", self.final_lr_factor)
        if self.decay == "exponential" and self.final_lr_factor <= 0:
            raise ValueError("decay='exponential' needs final_lr_factor > 0")
        if self.cooldown_steps is not None:
            v.steps("cooldown_steps", self.cooldown_steps, minimum=1)
        if self.initial_gap is not None:
            v.real("initial_gap", self.initial_gap, low=0.0, low_open=True)
        if self.k_constants is not None:
            ks = tuple(float(k) for k in self.k_constants)
            if len(ks) != 3 or not all(math.isfinite(k) for k in ks) or ks[0] <= 0 or ks[2] <= 0:
                raise ValueError(
                    "k_constants must be three finite numbers (K0, K1, K2) with K0 > 0 and K2 > 0; "
                    f"got {self.k_constants!r}"
                )
            d = math.sqrt(ks[0] / ks[2])
            if ks[0] + ks[1] * d + ks[2] * d * d <= 0:
                raise ValueError(f"k_constants give a non-positive denominator at D*; got {ks}")
            object.__setattr__(self, "k_constants", ks)
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
        else:
            raise ValueError(
                "the adaptive warm-up needs delta_star, kappa (for the D* fit) or k_constants; "
                "got none of them"
            )

    # --- the state machine -------------------------------------------------------------------

    def init(self) -> dict:
        """The state before the first update: step 0, no loss seen, multiplier ``1/div``."""
        return {
            "step": 0,  # optimizer updates taken = index of the next update
            "observed": 0,  # finite losses observed
            "nonfinite": 0,  # non-finite losses ignored (LR held)
            "ema": 0.0,  # EMA numerator of the smoothed loss
            "ema_weight": 0.0,  # EMA weight (bias correction)
            "loss": None,  # last smoothed loss
            "gap": None,  # last smoothed gap, clamped at MIN_GAP
            "d0": self.initial_gap,  # initial gap
            "delta_star": None,  # D*, set at the first observation
            "phase": "warmup",
            "below": 0,  # consecutive observations with gap <= D*
            "multiplier": 1.0 / self.div_factor,  # warm-up multiplier of the next update
            "warmup_end_step": None,  # first update run by the decay
        }

    def advance(self, state: dict) -> dict:
        """One optimizer update has been taken."""
        new = dict(state)
        new["step"] = state["step"] + 1
        return new

    def observe(self, state: dict, loss: float) -> dict:
        """Feed the loss of an update taken; the switch (if any) applies from ``state["step"]``."""
        new = dict(state)
        loss = float(loss)
        if not math.isfinite(loss):
            new["nonfinite"] = state["nonfinite"] + 1
            return new
        beta = self.smoothing
        new["ema"] = beta * state["ema"] + (1.0 - beta) * loss
        new["ema_weight"] = beta * state["ema_weight"] + (1.0 - beta)
        new["observed"] = state["observed"] + 1
        smoothed = new["ema"] / new["ema_weight"]
        new["loss"] = smoothed
        gap = max(smoothed - self.target_loss, MIN_GAP)
        new["gap"] = gap
        if state["phase"] == "decay":
            return new
        if new["delta_star"] is None:
            self._start(new, smoothed)
        d0, ds = new["d0"], new["delta_star"]
        if self.k_constants is not None:
            m = self._k_multiplier(gap)
        elif self.ramp == "linear":
            m = linear_multiplier(gap, d0, ds, self.div_factor)
        else:
            m = multiplier(gap, d0, ds, self.div_factor)
        m = min(max(m, 0.0), 1.0)
        if self.monotone:
            m = max(m, state["multiplier"])
        new["multiplier"] = m
        new["below"] = state["below"] + 1 if gap <= ds else 0
        if new["below"] >= self.patience:
            new["phase"] = "decay"
            new["warmup_end_step"] = new["step"]
            new["multiplier"] = 1.0
        return new

    def update(self, state: dict, loss: float) -> dict:
        """``observe(advance(state), loss)``: the loss of the update just taken."""
        return self.observe(self.advance(state), loss)

    def value(self, state: dict) -> float:
        """The multiplier of update ``state["step"]`` (in ``[0, 1]``, always finite)."""
        if state["phase"] == "warmup":
            return state["multiplier"]
        start = state["warmup_end_step"]
        remaining = self.total_steps - start
        if remaining < 1:
            return self.final_lr_factor
        piece = _decay_piece(remaining, self.decay, self.final_lr_factor, self.cooldown_steps)
        return piece(state["step"] - start)

    # --- helpers -------------------------------------------------------------------------------

    def _start(self, state: dict, first_loss: float) -> None:
        """Fix D0 and D* at the first finite observation."""
        d0 = state["d0"]
        if d0 is None:
            d0 = first_loss - self.target_loss
            if d0 <= 0:
                raise ValueError(
                    f"target_loss ({self.target_loss}) must be below the first observed loss "
                    f"({first_loss}); choose f* under the initial loss (about the loss you expect "
                    "to reach, see the docs)"
                )
        if self.k_constants is not None:
            k0, _, k2 = self.k_constants
            ds = math.sqrt(k0 / k2)
        elif self.delta_star is not None:
            ds = float(self.delta_star)
        else:
            ds = fit_delta_star(d0, self.div_factor, float(self.kappa), self.sigma_f)
        if ds >= d0:
            raise ValueError(
                f"delta_star ({ds}) must be below the initial gap D0 = {d0} (first loss minus "
                f"target_loss {self.target_loss})"
            )
        state["d0"] = float(d0)
        state["delta_star"] = float(ds)

    def _k_multiplier(self, gap: float) -> float:
        k0, k1, k2 = self.k_constants
        ds = math.sqrt(k0 / k2)
        peak = ds / (k0 + k1 * ds + k2 * ds * ds)
        den = k0 + k1 * gap + k2 * gap * gap
        return (gap / den) / peak if den > 0 else 1.0

    def constants(self, state: dict, lr: float = 1.0) -> tuple[float, float, float] | None:
        """``(K0, K1, K2)`` for the peak LR ``lr`` (``None`` before the first loss)."""
        if self.k_constants is not None:
            return self.k_constants
        if state["delta_star"] is None:
            return None
        from autowarm.schedules.dstar import constants

        return constants(state["d0"], state["delta_star"], self.div_factor, lr)

    def simulate(self, losses: Iterable[float]) -> dict:
        """Run over a recorded loss curve: one loss per optimizer update, in order.

        Returns plain lists: ``multiplier[k]`` (the multiplier update ``k`` ran with), ``gap[k]``
        and ``phase[k]`` after observing ``loss[k]``, and the final ``state``.

        >>> s = AdaptiveWarmupSchedule(total_steps=4, target_loss=0.0, delta_star=1.0,
        ...                            div_factor=4.0, smoothing=0.0)
        >>> out = s.simulate([3.0, 2.0, 1.0, 0.5])
        >>> [round(m, 3) for m in out["multiplier"]], out["state"]["warmup_end_step"]
        ([0.25, 0.25, 0.625, 0.0], 3)
        """
        state = self.init()
        mults, gaps, phases = [], [], []
        for loss in losses:
            mults.append(self.value(state))
            state = self.update(state, loss)
            gaps.append(state["gap"])
            phases.append(state["phase"])
        return {"multiplier": mults, "gap": gaps, "phase": phases, "state": state}
