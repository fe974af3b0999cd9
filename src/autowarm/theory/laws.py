"""Loss-curve laws of the LR schedule: the multi-power law and the annealing law.

Both predict the loss after ``t`` updates from the whole LR schedule ``eta_1..eta_t`` (absolute
LRs, not multipliers), through the area ``P_t = sum_{tau<=t} eta_tau`` and the LR *drops*
``Delta_k = eta_{k-1} - eta_k`` after the warm-up (the first ``W`` updates, by default up to and
including the first LR maximum; drops are counted for ``k > W``):

- **Multi-power law** (Luo et al. 2025, arXiv 2503.12811), 7 parameters:

  .. math:: L(t) = L_0 + A P_t^{-\\alpha}
            - B \\sum_{k=W+1}^{t} \\Delta_k\\, G(\\eta_k^{-\\gamma} S_k(t)),\\quad
            G(x) = 1 - (Cx + 1)^{-\\beta},\\quad S_k(t) = \\sum_{\\tau=k}^{t} \\eta_\\tau.

  (``P_t = S_1(t) + S_W`` of the paper: the area after the warm-up plus the warm-up's.)
- **Annealing law** (Tissue et al. 2024, arXiv 2408.11029), 4 parameters and a fixed decay
  ``lambda`` (0.999):

  .. math:: L(t) = L_0 + A P_t^{-\\alpha} - C \\sum_{i\\le t} m_i,\\qquad
            m_i = \\lambda m_{i-1} + \\Delta_i.

Fitting (:func:`fit_law`) uses variable projection: ``L0, A, B`` (resp. ``L0, A, C``) enter
linearly and are solved by least squares for each value of the nonlinear parameters, which
Levenberg-Marquardt searches from a screened grid of starts (in log space, inside a box, with
steps capped at a factor ``e**0.5`` so that the saturating ``G`` cannot jump onto a flat plateau). Optionally Huber
weights (iteratively reweighted) make the fit robust to loss spikes.

A recorded curve is a :class:`LossCurve`: the LR of every update and the losses measured after
some of them (``steps`` = updates taken, 1..T).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from autowarm.schedules._validate import real
from autowarm.theory._lsq import varpro

# The multi-power law's drop sum is O(#evals x #drops); longer schedules bin their drops.
MAX_DROP_TERMS = 2048


@dataclass(frozen=True)
class LossCurve:
    """A run's LR schedule and the losses recorded during it.

    Args:
        lrs: absolute LR of each update (``lrs[k]`` for update ``k + 1``), finite, >= 0, first > 0.
        steps: updates taken when each loss was measured, integers in ``1..len(lrs)``.
        losses: the measured losses (finite), same length as ``steps``.
    """

    lrs: np.ndarray
    steps: np.ndarray
    losses: np.ndarray

    def __post_init__(self) -> None:
        lrs = np.asarray(self.lrs, dtype=np.float64)
        steps = np.asarray(self.steps)
        losses = np.asarray(self.losses, dtype=np.float64)
        _check_lrs(lrs)
        if steps.ndim != 1 or steps.shape != losses.shape or steps.size == 0:
            raise ValueError(
                f"steps and losses must be 1-d of the same non-zero length; got {steps.shape} "
                f"and {losses.shape}"
            )
        steps = _check_steps(steps, lrs.size)
        if not np.all(np.isfinite(losses)):
            raise ValueError("losses must be finite (drop diverged or missing evaluations)")
        object.__setattr__(self, "lrs", lrs)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "losses", losses)


def _check_lrs(lrs: np.ndarray) -> None:
    if lrs.ndim != 1 or lrs.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-d array; got shape {lrs.shape}")
    if not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError("lrs must be finite and >= 0")
    if lrs[0] <= 0:
        raise ValueError(f"the first update's LR must be > 0; got {lrs[0]!r}")


def _check_steps(steps: np.ndarray, n: int) -> np.ndarray:
    if steps.size and (not np.all(np.mod(steps, 1) == 0) or steps.min() < 1 or steps.max() > n):
        raise ValueError(f"steps must be integers in 1..{n} (updates taken); got {steps!r}")
    return steps.astype(np.int64)


def default_warmup(lrs: np.ndarray) -> int:
    """``W``: updates up to and including the first LR maximum.

    >>> default_warmup(np.array([0.5, 1.0, 1.0, 0.5]))
    2
    """
    return int(np.argmax(lrs)) + 1


@dataclass
class _Prepared:
    """Schedule-only quantities of one curve, computed once per fit."""

    area: np.ndarray  # P_t at each eval step
    drop: np.ndarray  # Delta_k of the (binned) drop terms
    eta: np.ndarray  # eta_k of each drop term (floored > 0)
    span: np.ndarray  # S_k(t) = P_t - P_{k-1}, 0 where k > t: (evals, drops)
    momentum_area: np.ndarray  # sum_{i<=t} m_i at each eval step (annealing law)
    extra: dict = field(default_factory=dict)


def _prepare(lrs, steps, warmup_steps: int | None, decay: float) -> _Prepared:
    lrs = np.asarray(lrs, dtype=np.float64)
    _check_lrs(lrs)
    steps = _check_steps(np.asarray(steps), lrs.size)
    w = default_warmup(lrs) if warmup_steps is None else int(warmup_steps)
    if not 0 <= w <= lrs.size:
        raise ValueError(f"warmup_steps must be in 0..{lrs.size}; got {warmup_steps!r}")
    prefix = np.concatenate([[0.0], np.cumsum(lrs)])  # prefix[t] = P_t
    delta = np.zeros(lrs.size)  # delta[i] = Delta of update i + 1
    delta[1:] = lrs[:-1] - lrs[1:]
    delta[: max(w, 1)] = 0.0
    # annealing momentum m_i = decay m_{i-1} + Delta_i, in blocks to stay overflow-free
    mom = _ema_sum(delta, decay)
    momentum_area = np.cumsum(mom)[steps - 1]
    idx = np.flatnonzero(delta)  # 0-based update index i of update k = i + 1
    k_idx, d, eta = _bin_drops(idx, delta, lrs, MAX_DROP_TERMS)
    # S_k(t) = P_t - P_{k-1} with P_{k-1} = prefix[i]
    span = prefix[steps][:, None] - prefix[k_idx][None, :]
    span = np.where(k_idx[None, :] + 1 <= steps[:, None], span, 0.0)
    eta = np.maximum(eta, 1e-30)
    return _Prepared(prefix[steps], d, eta, span, momentum_area)


def _ema_sum(delta: np.ndarray, decay: float, block: int = 512) -> np.ndarray:
    """``m_i = decay m_{i-1} + delta_i`` for all ``i`` (vectorised per block)."""
    out = np.empty_like(delta)
    carry = 0.0
    for s in range(0, delta.size, block):
        d = delta[s : s + block]
        j = np.arange(d.size)
        powers = decay**j
        # m_{s+j} = decay^{j+1} carry + sum_{l<=j} decay^{j-l} d_l, via a lower-triangular product
        tri = np.tril(decay ** (j[:, None] - j[None, :]).clip(min=0))
        out[s : s + d.size] = decay * powers * carry + tri @ d
        carry = out[s + d.size - 1]
    return out


def _bin_drops(idx, delta, lrs, max_terms):
    """Drop terms ``(update index, Delta, eta)``; more than ``max_terms`` are merged into bins."""
    if idx.size <= max_terms:
        return idx, delta[idx], lrs[idx]
    groups = np.array_split(idx, max_terms)
    k = np.array([g[len(g) // 2] for g in groups])
    d = np.array([delta[g].sum() for g in groups])
    return k, d, lrs[k]


def _power(area: np.ndarray, alpha: float) -> np.ndarray:
    with np.errstate(divide="ignore", over="ignore"):
        return area ** (-alpha)


def _mpl_drop(p: _Prepared, C: float, beta: float, gamma: float) -> np.ndarray:
    """``sum_k Delta_k G(eta_k^-gamma S_k(t))`` at each eval step."""
    if p.drop.size == 0:
        return np.zeros(p.area.size)
    with np.errstate(over="ignore", invalid="ignore"):
        x = (p.eta ** (-gamma))[None, :] * p.span
        g = 1.0 - (C * x + 1.0) ** (-beta)
    return g @ p.drop


@dataclass(frozen=True)
class Law:
    """A loss law: its linear and nonlinear parameters and its basis for variable projection."""

    name: str
    linear: tuple[str, ...]
    nonlinear: tuple[str, ...]  # fitted in log space
    basis: Callable[[_Prepared, np.ndarray], np.ndarray]
    starts: tuple[tuple[float, ...], ...]  # log-space grid of nonlinear starts
    lower: tuple[float, ...]  # box on the nonlinear parameters (natural units)
    upper: tuple[float, ...]


def _mpl_basis(p: _Prepared, log_theta: np.ndarray) -> np.ndarray:
    alpha, C, beta, gamma = np.exp(log_theta)
    return np.stack([np.ones_like(p.area), _power(p.area, alpha), -_mpl_drop(p, C, beta, gamma)], 1)


def _annealing_basis(p: _Prepared, log_theta: np.ndarray) -> np.ndarray:
    (alpha,) = np.exp(log_theta)
    return np.stack([np.ones_like(p.area), _power(p.area, alpha), -p.momentum_area], 1)


_LOG = math.log
LAWS: dict[str, Law] = {
    "multi-power": Law(
        "multi-power",
        ("L0", "A", "B"),
        ("alpha", "C", "beta", "gamma"),
        _mpl_basis,
        tuple(
            (_LOG(a), _LOG(c), _LOG(b), _LOG(g))
            for a, c, b, g in itertools.product(
                (0.2, 0.5, 1.0), (0.01, 0.3, 10.0, 300.0), (0.3, 1.0), (0.3, 0.7)
            )
        ),
        (1e-3, 1e-8, 1e-3, 1e-3),
        (5.0, 1e8, 20.0, 3.0),
    ),
    "annealing": Law(
        "annealing",
        ("L0", "A", "C"),
        ("alpha",),
        _annealing_basis,
        tuple((_LOG(a),) for a in (0.1, 0.3, 0.6, 1.0, 2.0)),
        (1e-3,),
        (5.0,),
    ),
}
ALIASES = {"mpl": "multi-power", "tissue": "annealing"}


def get_law(name: str) -> Law:
    """The law registered as ``name`` (``multi-power``/``mpl`` or ``annealing``/``tissue``)."""
    key = ALIASES.get(name, name)
    if key not in LAWS:
        valid = ", ".join(sorted([*LAWS, *ALIASES]))
        raise ValueError(f"unknown loss law {name!r}; valid laws are {valid}")
    return LAWS[key]


def predict_loss(
    law: str,
    params: dict[str, float],
    lrs,
    steps=None,
    *,
    warmup_steps: int | None = None,
    decay: float = 0.999,
) -> np.ndarray:
    """The loss a law predicts after each of ``steps`` updates of the LR schedule ``lrs``.

    Args:
        law: ``"multi-power"`` (``"mpl"``) or ``"annealing"`` (``"tissue"``).
        params: the law's parameters by name (``L0, A, alpha, B, C, beta, gamma`` for the
            multi-power law; ``L0, A, alpha, C`` for the annealing law).
        lrs: absolute LR of each update.
        steps: updates taken at each prediction (default ``1..len(lrs)``).
        warmup_steps: ``W`` (default: up to the first LR maximum).
        decay: the annealing law's momentum decay ``lambda``.

    >>> lrs = [1e-3] * 80 + [1e-3 * (1 - (j + 1) / 20) for j in range(20)]
    >>> p = dict(L0=3.0, A=0.5, alpha=0.5, C=2.0)
    >>> loss = predict_loss("annealing", p, lrs, [80, 100])
    >>> bool(loss[1] < loss[0])
    True
    """
    spec = get_law(law)
    missing = sorted(set(spec.linear + spec.nonlinear) - set(params))
    if missing:
        raise ValueError(f"{spec.name} law needs parameters {', '.join(missing)}")
    lrs = np.asarray(lrs, dtype=np.float64)
    steps = np.arange(1, lrs.size + 1) if steps is None else np.asarray(steps)
    prep = _prepare(lrs, steps, warmup_steps, decay)
    theta = np.log([float(params[k]) for k in spec.nonlinear])
    coef = np.array([float(params[k]) for k in spec.linear])
    return spec.basis(prep, theta) @ coef


def multi_power_law(lrs, steps=None, *, L0, A, alpha, B, C, beta, gamma, warmup_steps=None):
    """The multi-power law's loss (see the module docstring); shorthand for :func:`predict_loss`."""
    params = dict(L0=L0, A=A, alpha=alpha, B=B, C=C, beta=beta, gamma=gamma)
    return predict_loss("multi-power", params, lrs, steps, warmup_steps=warmup_steps)


def annealing_law(lrs, steps=None, *, L0, A, alpha, C, decay=0.999, warmup_steps=None):
    """The annealing law's loss (see the module docstring); shorthand for :func:`predict_loss`."""
    params = dict(L0=L0, A=A, alpha=alpha, C=C)
    return predict_loss("annealing", params, lrs, steps, warmup_steps=warmup_steps, decay=decay)


def fit_error(predicted: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """RMSE, max |error|, mean relative error and R^2 of a prediction.

    >>> fit_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))["r2"]
    1.0
    """
    err = np.asarray(predicted, float) - np.asarray(observed, float)
    obs = np.asarray(observed, float)
    ss_tot = float(np.sum((obs - obs.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "max_abs_error": float(np.max(np.abs(err))),
        "mean_rel_error": float(np.mean(np.abs(err) / np.abs(obs))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
    }


@dataclass(frozen=True)
class LawFit:
    """A fitted law: ``params``, its error on the fitted curves and ``predict``.

    Attributes:
        law: the law's name.
        params: fitted parameters by name.
        error: :func:`fit_error` over all fitted points (pooled).
        n_points: number of fitted loss values.
        decay: the annealing law's fixed ``lambda``.
        warmup_steps: the ``W`` used for each fitted curve (None = default per curve).
        at_bounds: nonlinear parameters that ended on their search box (poorly identified by
            the data, e.g. ``C`` and ``beta`` of the multi-power law without a sharp LR drop).
    """

    law: str
    params: dict[str, float]
    error: dict[str, float]
    n_points: int
    decay: float = 0.999
    warmup_steps: int | None = None
    at_bounds: tuple[str, ...] = ()

    def predict(self, lrs, steps=None, *, warmup_steps: int | None = None) -> np.ndarray:
        """Predicted losses of another LR schedule (see :func:`predict_loss`)."""
        return predict_loss(
            self.law, self.params, lrs, steps, warmup_steps=warmup_steps, decay=self.decay
        )


def fit_law(
    law: str,
    curves: LossCurve | Sequence[LossCurve],
    *,
    huber: float | None = None,
    warmup_steps: int | None = None,
    decay: float = 0.999,
    keep: int = 3,
) -> LawFit:
    """Fit a loss law to one or more recorded curves (shared parameters).

    Args:
        law: ``"multi-power"`` (``"mpl"``) or ``"annealing"`` (``"tissue"``).
        curves: the recorded :class:`LossCurve` s. The multi-power law needs schedules with LR
            drops to identify ``B, C, beta, gamma`` (e.g. a constant and a decaying run).
        huber: Huber threshold on the loss residual (e.g. 1e-3) for a robust fit; None = plain
            least squares.
        warmup_steps: ``W`` for every curve (default: up to each curve's first LR maximum).
        decay: the annealing law's momentum decay ``lambda`` (fixed, not fitted).
        keep: Levenberg-Marquardt runs from this many best screened starts.

    >>> lrs = np.array([1e-3] * 160 + [1e-3 * (1 - (j + 1) / 40) for j in range(40)])
    >>> steps = np.arange(10, 201, 10)
    >>> truth = dict(L0=3.0, A=0.5, alpha=0.5, C=2.0)
    >>> fit = fit_law("annealing", LossCurve(lrs, steps, predict_loss("annealing", truth, lrs, steps)))
    >>> {k: round(v, 4) for k, v in fit.params.items()}
    {'L0': 3.0, 'A': 0.5, 'C': 2.0, 'alpha': 0.5}
    """
    spec = get_law(law)
    if isinstance(curves, LossCurve):
        curves = [curves]
    if not curves or not all(isinstance(c, LossCurve) for c in curves):
        raise ValueError("curves must be one or more LossCurve")
    real("decay", decay, low=0.0, high=1.0, low_open=True, high_open=True)
    if huber is not None and not huber > 0:
        raise ValueError(f"huber must be > 0 or None; got {huber!r}")
    preps = [_prepare(c.lrs, c.steps, warmup_steps, decay) for c in curves]
    y = np.concatenate([c.losses for c in curves])
    n_free = len(spec.linear) + len(spec.nonlinear)
    if y.size < n_free + 1:
        raise ValueError(f"{spec.name} law has {n_free} parameters; give more than {n_free} losses")

    def basis(theta: np.ndarray) -> np.ndarray:
        return np.concatenate([spec.basis(p, theta) for p in preps])

    weights = None
    starts = spec.starts
    for _ in range(10 if huber else 1):
        theta, coef, _ = varpro(
            basis,
            y,
            starts,
            keep=keep,
            weights=weights,
            lower=np.log(spec.lower),
            upper=np.log(spec.upper),
            max_step=0.5,
        )
        resid = np.abs(basis(theta) @ coef - y)
        if huber:
            new = np.where(resid <= huber, 1.0, huber / np.maximum(resid, 1e-300))
            if weights is not None and np.allclose(new, weights, atol=1e-6):
                break
            weights, starts, keep = new, (tuple(theta),), 1
    params = dict(zip(spec.linear, map(float, coef)))
    params.update(zip(spec.nonlinear, map(float, np.exp(theta))))
    edge = np.isclose(theta, np.log(spec.lower), rtol=0, atol=1e-6) | np.isclose(
        theta, np.log(spec.upper), rtol=0, atol=1e-6
    )
    return LawFit(
        law=spec.name,
        params=params,
        error=fit_error(basis(theta) @ coef, y),
        n_points=int(y.size),
        decay=decay,
        warmup_steps=warmup_steps,
        at_bounds=tuple(n for n, e in zip(spec.nonlinear, edge) if e),
    )
