"""Fit the smoothness law ``K(D) = K0 + K1 D + K2 D^rho`` to measured points, over a stated window.

The seed paper's assumption (Riabinin et al. 2026, arXiv 2602.05813) is that the local smoothness
``K_t = ||g(x_{t+1}) - g(x_t)||_* / ||x_{t+1} - x_t||`` is bounded by ``K0 + K1 D + K_rho D^rho``
with ``D = f(x_t) - f*`` the sub-optimality gap and ``rho > 1`` (the code uses ``rho = 2``).
:func:`fit_smoothness` fits the constants by ordinary least squares of ``K_t`` on
``[1, D, D^rho]`` (the published analyzer's regression) and reports how well the law describes
the points.

The window is chosen by a fixed rule, never by hand (the published analyzer hard-codes a
different iteration window per optimizer):

1. points with a non-finite value, ``K <= 0`` or ``D <= 0`` (loss at or below ``f*``) are dropped;
2. the first ``transient_frac`` of the remaining points, in step order, are dropped (the start of
   training, while momentum buffers fill and the weights leave their initialisation; default 10%);
3. outliers of ``log K`` are dropped by the modified z-score rule of Iglewicz & Hoaglin (1993):
   ``|log K - median| > outlier_z * 1.4826 * MAD`` with ``outlier_z = 3.5``. ``log K`` because
   ``K`` is positive and spans orders of magnitude; the median absolute deviation because a few
   spikes (a batch with a huge gradient change) must not set the threshold themselves.

``window="descent"`` is the other stated rule: it keeps only the initial descent of ``K`` (from
the first point to the minimum of a 5-point running median of ``log K`` over the first half of
the points), no transient dropped, outliers as in 3. That is the warm-up phase, the part of the
run the adaptive warm-up's law is used for; on short runs the steady window can miss it
entirely (see BENCHMARKS.md). Probe every update early on to give it enough points.

The report has R^2 (of ``K``, the regression's own metric) and the Spearman rank correlation of
``K`` with ``D`` over the window: the assumption "curvature falls with the gap" says it is
positive (``K`` shrinks as the loss, hence ``D``, falls). ``D* = (K0 / ((rho - 1) K2))^(1/rho)``,
the gap at which the proof's LR ``eta(D) = D / K(D)`` peaks, is reported when ``K0, K2 > 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

TRANSIENT_FRAC = 0.1  # fraction of the first points (in step order) dropped as the transient
OUTLIER_Z = 3.5  # modified z-score threshold of Iglewicz & Hoaglin (1993)
_MAD_SCALE = 1.4826  # MAD -> standard deviation for a normal distribution
_DESCENT_SMOOTH = 5  # running-median width of the descent window's end rule
WINDOWS = ("steady", "descent")
RHO_GRID = tuple(float(r) for r in np.round(np.arange(1.05, 10.0001, 0.05), 2))


@dataclass(frozen=True)
class SmoothnessFit:
    """The fitted law and its goodness of fit (plain Python values; see :func:`fit_smoothness`).

    Fields: ``K0, K1, K2, rho`` (the law ``K0 + K1 D + K2 D^rho``); ``r2`` (1 - SSE/SST of ``K``
    over the window); ``rmse``; ``spearman`` (rank correlation of ``K`` with ``D`` over the
    window, > 0 when ``K`` falls as the gap falls); ``delta_star`` (``None`` unless
    ``K0, K2 > 0``); ``n_points`` (given), ``n_invalid``, ``n_transient``, ``n_outliers``,
    ``n_used``; ``gap_range`` and ``k_range`` (min, max over the window); ``rule`` (the window
    rule in words).
    """

    K0: float
    K1: float
    K2: float
    rho: float
    r2: float
    rmse: float
    spearman: float
    delta_star: float | None
    n_points: int
    n_invalid: int
    n_transient: int
    n_outliers: int
    n_used: int
    gap_range: tuple[float, float]
    k_range: tuple[float, float]
    rule: str

    def predict(self, gap: float | np.ndarray) -> float | np.ndarray:
        """``K0 + K1 D + K2 D^rho``."""
        d = np.asarray(gap, dtype=float)
        out = self.K0 + self.K1 * d + self.K2 * np.power(np.maximum(d, 0.0), self.rho)
        return float(out) if out.ndim == 0 else out

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        d = asdict(self)
        d["gap_range"] = list(self.gap_range)
        d["k_range"] = list(self.k_range)
        return d


def select_window(
    gaps: Sequence[float],
    ks: Sequence[float],
    *,
    transient_frac: float = TRANSIENT_FRAC,
    outlier_z: float = OUTLIER_Z,
    window: str = "steady",
) -> tuple[np.ndarray, dict[str, int]]:
    """The boolean mask of the points the fit uses, by the module's rule, and the drop counts.

    Points must be in step order. Returns ``(mask, counts)`` with counts ``invalid``,
    ``transient`` (dropped by the window rule: the transient, or for ``window="descent"`` the
    points after the descent) and ``outliers``. ``window="descent"`` keeps the opposite part of
    the run (see :data:`WINDOWS`).

    >>> mask, counts = select_window([5, 4, 3, 2, 1.5, 1.2, 1.1, 1.0, 0.9, 0.8],
    ...                              [9, 8, 7, 6, 5, 4, 3, 2, 1e6, 1])
    >>> mask.astype(int).tolist(), counts
    ([0, 1, 1, 1, 1, 1, 1, 1, 0, 1], {'invalid': 0, 'transient': 1, 'outliers': 1})
    """
    d = np.asarray(gaps, dtype=float)
    k = np.asarray(ks, dtype=float)
    if d.ndim != 1 or d.shape != k.shape:
        raise ValueError(f"gaps and ks must be 1-D of the same length; got {d.shape} and {k.shape}")
    if not 0.0 <= transient_frac < 1.0:
        raise ValueError(f"transient_frac must be in [0, 1); got {transient_frac!r}")
    if not outlier_z > 0:
        raise ValueError(f"outlier_z must be > 0; got {outlier_z!r}")
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}; got {window!r}")
    valid = np.isfinite(d) & np.isfinite(k) & (k > 0) & (d > 0)
    idx = np.flatnonzero(valid)
    mask = np.zeros(len(d), dtype=bool)
    if window == "steady":
        n_transient = math.floor(transient_frac * len(idx))
        mask[idx[n_transient:]] = True
    else:
        end = _descent_end(np.log(k[idx])) if len(idx) else -1
        mask[idx[: end + 1]] = True
        n_transient = len(idx) - (end + 1)
    n_outliers = 0
    if mask.sum() >= 3:
        logk = np.log(k[mask])
        med = np.median(logk)
        mad = np.median(np.abs(logk - med))
        if mad > 0:
            bad = np.abs(logk - med) > outlier_z * _MAD_SCALE * mad
            sel = np.flatnonzero(mask)
            mask[sel[bad]] = False
            n_outliers = int(bad.sum())
    counts = {"invalid": int((~valid).sum()), "transient": n_transient, "outliers": n_outliers}
    return mask, counts


def _descent_end(logk: np.ndarray) -> int:
    """Index of the minimum of the running median (width ``_DESCENT_SMOOTH``) of ``log K`` over
    the first half of the points: the end of the initial descent of ``K``."""
    h = _DESCENT_SMOOTH // 2
    med = np.array([np.median(logk[max(0, i - h) : i + h + 1]) for i in range(len(logk))])
    return int(np.argmin(med[: max(1, (len(logk) + 1) // 2)]))


def _lstsq(d: np.ndarray, k: np.ndarray, rho: float) -> tuple[np.ndarray, float]:
    """Least squares of ``k`` on ``[1, d, d^rho]`` with column scaling; ``(coef, sse)``."""
    a = np.stack([np.ones_like(d), d, np.power(d, rho)], axis=1)
    scale = np.maximum(np.abs(a).max(axis=0), 1e-300)
    coef, *_ = np.linalg.lstsq(a / scale, k, rcond=None)
    coef = coef / scale
    resid = k - a @ coef
    return coef, float(resid @ resid)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); ``nan`` for fewer than 2 points.

    >>> spearman([1, 2, 3, 4], [10, 20, 15, 40])
    0.8
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xa) < 2:
        return math.nan
    rx, ry = _ranks(xa), _ranks(ya)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return math.nan
    return float(round(np.mean((rx - rx.mean()) * (ry - ry.mean())) / (sx * sy), 12))


def _ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a), dtype=float)
    for v in np.unique(a):  # average ranks of ties
        tie = a == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def fit_smoothness(
    gaps: Sequence[float],
    ks: Sequence[float],
    *,
    rho: float | str = 2.0,
    transient_frac: float = TRANSIENT_FRAC,
    outlier_z: float = OUTLIER_Z,
    rho_grid: Sequence[float] = RHO_GRID,
    window: str = "steady",
) -> SmoothnessFit:
    """Fit ``K = K0 + K1 D + K2 D^rho`` by least squares over the automatic window.

    Args:
        gaps: ``D_t = loss_t - f*`` per measured step, in step order (loss units).
        ks: the measured ``K_t`` at the same steps (the probe's units: dual norm / norm).
        rho: the exponent (> 1; default 2, the seed paper's scheduler), or ``"fit"`` to pick the
            ``rho`` of ``rho_grid`` with the largest R^2 (the published ``--fit_rho``; its grid
            is ``linspace(1.05, 50, 100)``, ours 1.05..10 by 0.05).
        transient_frac, outlier_z: the window rule (see the module docstring).
        rho_grid: candidate exponents for ``rho="fit"``.
        window: ``"steady"`` (default: drop the transient) or ``"descent"`` (keep only the
            initial descent of ``K``, the warm-up phase; see the module docstring).

    Returns:
        A :class:`SmoothnessFit`. Raises ``ValueError`` when fewer than 4 points survive the
        window (three coefficients need at least one residual degree of freedom).

    Example, planted constants recovered exactly from noiseless points:

    >>> d = np.linspace(5.0, 0.5, 40)  # the gap falls along the run
    >>> fit = fit_smoothness(d, 2.0 + 0.5 * d + 0.3 * d**2, transient_frac=0.0)
    >>> [round(v, 6) for v in (fit.K0, fit.K1, fit.K2)], round(fit.r2, 6), fit.spearman
    ([2.0, 0.5, 0.3], 1.0, 1.0)
    """
    if isinstance(rho, str):
        if rho != "fit":
            raise ValueError(f"rho must be a number > 1 or 'fit'; got {rho!r}")
        grid = [float(r) for r in rho_grid]
        if not grid or any(not (math.isfinite(r) and r > 1) for r in grid):
            raise ValueError(f"rho_grid must hold finite numbers > 1; got {rho_grid!r}")
    else:
        if isinstance(rho, bool) or not (isinstance(rho, int | float) and math.isfinite(rho)):
            raise ValueError(f"rho must be a number > 1 or 'fit'; got {rho!r}")
        if rho <= 1:
            raise ValueError(f"rho must be > 1 (the law K0 + K1 D + K2 D^rho); got {rho!r}")
        grid = [float(rho)]
    mask, counts = select_window(
        gaps, ks, transient_frac=transient_frac, outlier_z=outlier_z, window=window
    )
    d = np.asarray(gaps, dtype=float)[mask]
    k = np.asarray(ks, dtype=float)[mask]
    if len(d) < 4:
        raise ValueError(
            f"too few points to fit: {len(d)} of {mask.size} survive the window "
            f"(invalid {counts['invalid']}, transient {counts['transient']}, outliers "
            f"{counts['outliers']}); measure more steps or probe more often"
        )
    best = None
    for r in grid:
        coef, sse = _lstsq(d, k, r)
        if best is None or sse < best[2]:
            best = (r, coef, sse)
    r, coef, sse = best
    sst = float(((k - k.mean()) ** 2).sum())
    k0, k1, k2 = (float(c) for c in coef)
    ds = (k0 / ((r - 1.0) * k2)) ** (1.0 / r) if k0 > 0 and k2 > 0 else None
    keep = (
        f"drop the first {transient_frac:g} of the rest (step order)"
        if window == "steady"
        else "keep the rest up to the minimum of the 5-point running median of log K over the "
        "first half (the initial descent)"
    )
    rule = (
        f"drop non-finite, K <= 0 and D <= 0; {keep}; drop |log K - median| > {outlier_z:g} "
        "* 1.4826 * MAD"
    )
    return SmoothnessFit(
        K0=k0,
        K1=k1,
        K2=k2,
        rho=float(r),
        r2=1.0 - sse / sst if sst > 0 else math.nan,
        rmse=math.sqrt(sse / len(d)),
        spearman=spearman(d, k),
        delta_star=ds,
        n_points=int(mask.size),
        n_invalid=counts["invalid"],
        n_transient=counts["transient"],
        n_outliers=counts["outliers"],
        n_used=len(d),
        gap_range=(float(d.min()), float(d.max())),
        k_range=(float(k.min()), float(k.max())),
        rule=rule,
    )


__all__ = [
    "OUTLIER_Z",
    "RHO_GRID",
    "TRANSIENT_FRAC",
    "WINDOWS",
    "SmoothnessFit",
    "fit_smoothness",
    "select_window",
    "spearman",
]
