"""An online estimate of ``f*`` (the target loss of the adaptive warm-up) from the run's own losses.

The loss-adaptive warm-up measures the gap ``D = loss - f*`` from a target ``f*`` about the loss
the run can reach, and needs it from the first update (``D0 = first loss - f*`` fixes the ramp and
``D*``). :class:`OnlineFstar` supplies it without user input, fed one loss per update:

1. **Provisional value and cap** (from the first finite loss ``L1``):
   ``f*_0 = L1 - (1 - provisional_frac) |L1|``, i.e. ``0.4 L1`` for a positive loss. For a
   language model ``L1`` is about the uniform loss ``ln V``. On the CPU benchmark's 138 recorded
   runs the final loss is 0.26-0.41 ``L1`` and the seed paper's 124M runs end near ``0.3 L1``
   (their hand-set ``f* = 0.32 L1``), so ``0.4 L1`` sits at or above the final loss, where the
   warm-up's result was measured to be flat (f* from the final loss to ~0.8 nats above it), and
   not below it, where it degrades. ``f*`` never exceeds ``f*_0``: revisions only lower it.
2. **Revisions** every ``refit_every`` updates from ``fit_start_frac`` of the run: the losses are
   averaged in bins of ``ceil(total_steps / max_points)`` updates and the law of the loss in the
   LR area ``P_t = sum_{k<=t} m_k`` (``m_k`` the LR multiplier of update ``k``)

   .. math:: L(P) = c + a P^{-\\alpha},\\qquad a > 0,\\ \\alpha \\in [0.02, 3]

   is fitted to the bins of the latest ``window_frac`` of the updates seen (at least
   ``min_fit_points`` bins; ``c, a`` in closed form on a refined grid of ``alpha``). It predicts
   the loss at the end of the run, ``L(P_t + (T - t) future_lr)`` (``future_lr`` = mean multiplier
   of the remaining updates; 0.5 for a cosine or linear decay from the peak). A prediction is
   accepted when the fit decreases (``a > 0``, finite) and lands in ``[S - (S1 - S), S]`` (``S``
   the current bias-corrected EMA of the loss, ``S1`` the first): the run cannot end above where
   it is, nor fall further than it has fallen. Then

   .. math:: f^* = \\min\\bigl(f^*_0,\\ \\mathrm{median}(\\text{last 3 accepted predictions})
             + \\text{margin}\\bigr).

3. **Freezing**: ``freeze()`` (the warm-up has ended, ``f*`` no longer matters) stops revisions.

The law has no annealing term and early in the run the fit sees little curvature, so alone it
predicts above the final loss (on the recorded curves: median +0.9 nats at 10% of the run,
+0.1 at 50%); the cap keeps the early estimate at the prior. Replayed over the CPU benchmark's
recorded curves (``benchmarks/fstar_replay.py``), ``f* - final loss`` has median +0.3 to +0.4
and 10-90% range about [0, +0.8] at 5, 10, 20 and 50% of the run.

Assumptions: a loss that starts near its uniform/initial value and ends at 0.25-0.4 of it; a
power law in the LR area after the first transient; remaining updates at ``future_lr`` of the
peak on average. When it fails: a run that ends above ``0.4 L1`` (a weak model, a hard data set,
a loss with a large irreducible part: the cap puts ``f*`` below the final loss and the warm-up
runs long; pass a hand-set ``f*`` or a larger ``provisional_frac`` there); a loss that is not
near its maximum at the first update (fine-tuning: ``L1`` is not a useful prior); a loss that is
negative or near zero (the fractions of ``L1`` mean nothing); a long plateau then a sudden drop
(the fit sees no progress and keeps the cap). It never raises in ``update``: non-finite losses
are counted and skipped, rejected fits keep the last value, and a fit that fails numerically
issues one ``RuntimeWarning`` and keeps the last value (provisional or fitted).

Cost: a fit is ``O(min(max_points, bins in the window) x 96)`` array operations (under 1 ms at
200 points), run every ``refit_every`` updates (default ``total_steps // 100``): at most ~100
fits per run, whatever its length. The state is ``O(max_points)`` plain floats and ints
(:meth:`OnlineFstar.state_dict`) and resumes exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from autowarm.schedules._validate import integer, real

_ALPHA_LOW, _ALPHA_HIGH = 0.02, 3.0
_KEEP = 3  # accepted predictions the estimate takes the median of
_BETA = 0.9  # EMA factor of the smoothed loss used in the acceptance test
SOURCES = ("none", "provisional", "fit")

# the plain-value fields of the state, in order (state_dict / from_state)
_STATE_FIELDS = (
    "step",
    "nonfinite",
    "first_loss",
    "ema",
    "ema_weight",
    "area",
    "bin_area",
    "bin_loss",
    "bin_count",
    "bins_area",
    "bins_loss",
    "predictions",
    "value",
    "source",
    "revised_at",
    "fits",
    "rejected",
    "failed",
    "frozen",
    "warned",
)


def _check(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> float:
    return real(name, value, low=low, high=high, low_open=low_open)


def _check_int(name: str, value: object, minimum: int) -> int:
    return integer(name, value, minimum=minimum)  # TypeError for a non-integer


class OnlineFstar:
    """Estimate ``f*`` online from the (step, loss) stream of the run being scheduled.

    Args:
        total_steps: optimizer updates in the run (> 0); the prediction is for the last one.
        margin: loss units added to the predicted final loss (default 0.3 nats: the CPU
            benchmark's f* sweep was flat from the final loss to ~0.8 above it).
        provisional_frac: the provisional ``f*`` is ``L1 - (1 - provisional_frac) |L1|`` (in
            ``(0, 1)``; 0.4 gives ``0.4 L1``).
        fit_start_frac: the first fit comes after this fraction of ``total_steps`` (in ``[0, 1]``).
        window_frac: a fit uses the bins of the latest ``window_frac`` of the updates (``(0, 1]``).
        future_lr: mean LR multiplier of the updates still to come (``(0, 1]``; 0.5 = cosine or
            linear decay from the peak).
        refit_every: updates between fits (>= 1; default ``max(1, total_steps // 100)``).
        max_points: bins kept (>= 8); a bin averages ``ceil(total_steps / max_points)`` updates.
        min_fit_points: bins in the window needed for a fit (>= 4).

    Example: a loss that starts at 5 and then follows ``1 + 3 P^-0.5`` at constant LR over 1000
    updates ends at ``1 + 3 / sqrt(1000) = 1.095``. The provisional ``f*`` is ``0.4 x 5 = 2``; at
    30% of the run the fit has recovered the end of the curve and ``f*`` is that plus the margin:

    >>> est = OnlineFstar(1000, margin=0.3, future_lr=1.0)
    >>> est.value is None
    True
    >>> est.update(5.0)
    >>> est.value, est.source
    (2.0, 'provisional')
    >>> for t in range(2, 301):
    ...     est.update(1.0 + 3.0 * t**-0.5)
    >>> round(est.value, 3), est.source, est.revised_at
    (1.395, 'fit', 300)
    """

    def __init__(
        self,
        total_steps: int,
        *,
        margin: float = 0.3,
        provisional_frac: float = 0.4,
        fit_start_frac: float = 0.05,
        window_frac: float = 0.5,
        future_lr: float = 0.5,
        refit_every: int | None = None,
        max_points: int = 200,
        min_fit_points: int = 6,
    ) -> None:
        self.total_steps = _check_int("total_steps", total_steps, 1)
        self.margin = _check("margin", margin, -math.inf, math.inf)
        self.provisional_frac = _check(
            "provisional_frac", provisional_frac, 0.0, 1.0, low_open=True
        )
        if self.provisional_frac >= 1.0:
            raise ValueError(f"provisional_frac must be in (0, 1); got {provisional_frac!r}")
        self.fit_start_frac = _check("fit_start_frac", fit_start_frac, 0.0, 1.0)
        self.window_frac = _check("window_frac", window_frac, 0.0, 1.0, low_open=True)
        self.future_lr = _check("future_lr", future_lr, 0.0, 1.0, low_open=True)
        if refit_every is None:
            refit_every = max(1, self.total_steps // 100)
        self.refit_every = _check_int("refit_every", refit_every, 1)
        self.max_points = _check_int("max_points", max_points, 8)
        self.min_fit_points = _check_int("min_fit_points", min_fit_points, 4)
        self.bin_steps = -(-self.total_steps // self.max_points)  # ceil
        self._state = self._init_state()

    # --- state -----------------------------------------------------------------------------

    @staticmethod
    def _init_state() -> dict:
        return {
            "step": 0,  # losses fed (finite or not) = updates taken
            "nonfinite": 0,  # non-finite losses skipped
            "first_loss": None,  # first finite loss L1
            "ema": 0.0,  # EMA numerator of the smoothed loss
            "ema_weight": 0.0,  # its bias correction
            "area": 0.0,  # P_t: sum of the LR multipliers so far
            "bin_area": 0.0,  # sums of the open bin
            "bin_loss": 0.0,
            "bin_count": 0,
            "bins_area": [],  # closed bins: mean area and mean loss
            "bins_loss": [],
            "predictions": [],  # the last accepted predictions of the final loss
            "value": None,  # the current f*
            "source": "none",  # "none", "provisional" or "fit"
            "revised_at": None,  # step of the last fitted revision
            "fits": 0,  # fits attempted
            "rejected": 0,  # fits whose prediction was not accepted
            "failed": 0,  # fits that raised inside numpy / the solver
            "frozen": False,  # freeze() was called: no more revisions
            "warned": False,  # the fallback warning was issued
        }

    def state_dict(self) -> dict:
        """The state as plain Python values (floats, ints, lists, str, bool, None); a copy."""
        s = self._state
        out = {k: (list(s[k]) if isinstance(s[k], list) else s[k]) for k in _STATE_FIELDS}
        out["total_steps"] = self.total_steps
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (of an estimator with the same ``total_steps``)."""
        missing = [k for k in _STATE_FIELDS if k not in state]
        if missing:
            raise ValueError(f"OnlineFstar state lacks {', '.join(missing)}")
        if state.get("total_steps", self.total_steps) != self.total_steps:
            raise ValueError(
                f"state is for total_steps={state['total_steps']!r}, this estimator has "
                f"{self.total_steps}"
            )
        self._state = {
            k: (list(state[k]) if isinstance(state[k], list) else state[k]) for k in _STATE_FIELDS
        }

    @classmethod
    def from_state(cls, state: dict, **kwargs) -> OnlineFstar:
        """A new estimator (``kwargs`` = the constructor's options) resumed from ``state``."""
        est = cls(state["total_steps"], **kwargs)
        est.load_state_dict(state)
        return est

    # --- read-outs -------------------------------------------------------------------------

    @property
    def value(self) -> float | None:
        """The current ``f*``; ``None`` until the first finite loss, then always finite."""
        return self._state["value"]

    @property
    def source(self) -> str:
        """``"none"`` (no loss yet), ``"provisional"`` or ``"fit"``."""
        return self._state["source"]

    @property
    def revised_at(self) -> int | None:
        """Updates taken when the value was last set by a fit (``None``: still provisional)."""
        return self._state["revised_at"]

    @property
    def step(self) -> int:
        """Losses fed so far."""
        return self._state["step"]

    @property
    def frozen(self) -> bool:
        """Whether :meth:`freeze` was called."""
        return self._state["frozen"]

    # --- transitions -----------------------------------------------------------------------

    def freeze(self) -> None:
        """Stop revising (call when the warm-up has ended); losses are still counted."""
        self._state["frozen"] = True

    def update(self, loss: float, lr: float = 1.0) -> None:
        """Feed the loss of the update just taken and that update's LR multiplier ``lr``.

        Never raises on the values: a non-finite ``loss`` is counted and skipped, a non-finite or
        negative ``lr`` counts as 0 (no progress in area). A fit that fails keeps the last value
        and warns once.
        """
        s = self._state
        s["step"] += 1
        try:
            loss = float(loss)
        except (TypeError, ValueError):
            loss = math.nan
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            lr = 0.0
        if not (math.isfinite(lr) and lr > 0):
            lr = 0.0
        s["area"] += lr
        if not math.isfinite(loss):
            s["nonfinite"] += 1
            return
        s["ema"] = _BETA * s["ema"] + (1 - _BETA) * loss
        s["ema_weight"] = _BETA * s["ema_weight"] + (1 - _BETA)
        if s["first_loss"] is None:
            s["first_loss"] = loss
            s["value"] = self._bounded(self._frac_of_first(self.provisional_frac))
            s["source"] = "provisional"
        s["bin_area"] += s["area"]
        s["bin_loss"] += loss
        s["bin_count"] += 1
        if s["bin_count"] >= self.bin_steps:
            s["bins_area"].append(s["bin_area"] / s["bin_count"])
            s["bins_loss"].append(s["bin_loss"] / s["bin_count"])
            s["bin_area"] = s["bin_loss"] = 0.0
            s["bin_count"] = 0
        if s["frozen"] or s["step"] < self.fit_start_frac * self.total_steps:
            return
        if s["step"] % self.refit_every == 0:
            self._refit()

    # --- helpers ---------------------------------------------------------------------------

    def _frac_of_first(self, frac: float) -> float:
        first = self._state["first_loss"]
        return first - (1.0 - frac) * max(abs(first), 1e-12)

    def _bounded(self, value: float) -> float:
        return min(value, self._frac_of_first(self.provisional_frac))

    def _points(self) -> tuple[np.ndarray, np.ndarray]:
        s = self._state
        area, loss = list(s["bins_area"]), list(s["bins_loss"])
        if s["bin_count"]:
            area.append(s["bin_area"] / s["bin_count"])
            loss.append(s["bin_loss"] / s["bin_count"])
        start = (1.0 - self.window_frac) * s["step"] / self.bin_steps  # first bin in the window
        keep = slice(max(0, min(int(start), len(area) - self.min_fit_points)), None)
        return np.asarray(area[keep], float), np.asarray(loss[keep], float)

    def _refit(self) -> None:
        s = self._state
        x, y = self._points()
        mask = np.isfinite(x) & np.isfinite(y) & (x > 0)
        x, y = x[mask], y[mask]
        # the LR area at the end of the run (a run past total_steps ends where it is)
        end = s["area"] + max(self.total_steps - s["step"], 0) * self.future_lr
        if x.size < self.min_fit_points or not np.ptp(x) > 0 or not math.isfinite(end) or end <= 0:
            return
        s["fits"] += 1
        try:
            pred, slope = _predict(x, y, end)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            s["failed"] += 1
            self._warn(f"the f* fit failed ({err}); keeping f* = {s['value']:.4g} ({s['source']})")
            return
        smoothed = s["ema"] / s["ema_weight"]
        low = smoothed - max(s["first_loss"] - smoothed, 0.0)
        if not (math.isfinite(pred) and slope > 0 and low <= pred <= smoothed):
            s["rejected"] += 1
            return
        s["predictions"] = (s["predictions"] + [pred])[-_KEEP:]
        value = self._bounded(float(np.median(s["predictions"])) + self.margin)
        s["value"], s["source"], s["revised_at"] = value, "fit", s["step"]

    def _warn(self, message: str) -> None:
        if not self._state["warned"]:
            self._state["warned"] = True
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _ols_costs(x: np.ndarray, y: np.ndarray, alphas: np.ndarray):
    """For each ``alpha``: the least-squares ``c, a`` of ``y ~ c + a x^-alpha`` and its cost."""
    basis = x[None, :] ** (-alphas[:, None])  # (alphas, points)
    bm = basis.mean(1, keepdims=True)
    centred = basis - bm
    ym = y.mean()
    var = (centred**2).sum(1)
    a = (centred @ (y - ym)) / np.where(var > 0, var, np.inf)
    c = ym - a * bm[:, 0]
    resid = y[None, :] - c[:, None] - a[:, None] * basis
    cost = (resid**2).sum(1)
    return c, a, np.where(np.isfinite(cost), cost, np.inf)


def _predict(area: np.ndarray, loss: np.ndarray, end_area: float) -> tuple[float, float]:
    """Fit ``loss ~ c + a area^-alpha``; return the prediction at ``end_area`` and ``a``.

    ``c, a`` are solved in closed form for every ``alpha`` of a log grid over
    ``[_ALPHA_LOW, _ALPHA_HIGH]`` (variable projection by scanning: one nonlinear parameter), and
    the grid is refined twice around its best point: O(points x 96) operations.
    """
    scale = float(area.max())  # fit in area / scale so the basis stays O(1) at the end
    x = area / scale
    lo, hi = math.log(_ALPHA_LOW), math.log(_ALPHA_HIGH)
    grid = np.linspace(lo, hi, 48)
    with np.errstate(all="ignore"):
        for _ in range(3):
            c, a, cost = _ols_costs(x, loss, np.exp(grid))
            i = int(np.argmin(cost))
            if not np.isfinite(cost[i]):
                raise ValueError("no finite least-squares fit on the alpha grid")
            step = grid[1] - grid[0]
            best = (float(c[i]), float(a[i]), float(math.exp(grid[i])))
            grid = np.linspace(max(grid[i] - step, lo), min(grid[i] + step, hi), 24)
        c0, a0, alpha = best
        pred = c0 + a0 * (end_area / scale) ** (-alpha)
    return float(pred), a0
