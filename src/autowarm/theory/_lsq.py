"""A small Levenberg-Marquardt least-squares solver with multi-start and variable projection.

Numpy only (no SciPy in ``src``). Residuals ``r(x)`` of a few parameters are minimised in
``0.5 ||r||^2`` with Marquardt's scaled damping ``(J^T J + lam diag(J^T J)) dx = -J^T r`` and a
central-difference Jacobian. :func:`varpro` eliminates parameters that enter linearly (Golub &
Pereyra 1973): for fixed nonlinear ``theta`` the linear ones are the least-squares solution, so the
search runs over ``theta`` only, which is what makes the loss-law fits robust.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Residual = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Solution:
    """``x`` minimising ``0.5 ||r(x)||^2``, its ``cost`` and the iterations used."""

    x: np.ndarray
    cost: float
    iterations: int
    converged: bool


def _cost(r: np.ndarray) -> float:
    c = 0.5 * float(r @ r)
    return c if np.isfinite(c) else np.inf


def jacobian(fun: Residual, x: np.ndarray, r0: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` at ``x`` (one-sided where a side is not finite)."""
    jac = np.empty((r0.size, x.size))
    for i in range(x.size):
        h = step * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        rp, rm = fun(x + e), fun(x - e)
        if np.all(np.isfinite(rp)) and np.all(np.isfinite(rm)):
            jac[:, i] = (rp - rm) / (2 * h)
        elif np.all(np.isfinite(rp)):
            jac[:, i] = (rp - r0) / h
        else:
            jac[:, i] = (r0 - rm) / h
    return jac


def levenberg_marquardt(
    fun: Residual,
    x0: Sequence[float] | np.ndarray,
    *,
    max_iter: int = 200,
    ftol: float = 1e-10,
    xtol: float = 1e-12,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    max_step: float = np.inf,
) -> Solution:
    """Minimise ``0.5 ||fun(x)||^2`` from ``x0``, optionally inside a box.

    Steps are clipped to ``[lower, upper]`` and to ``max_step`` in every coordinate (a crude trust
    region that keeps saturating models from jumping onto flat plateaus). Stops when a step lowers the cost by less than ``ftol`` relative, moves ``x`` by less than
    ``xtol`` relative, or after ``max_iter`` Jacobians.

    >>> sol = levenberg_marquardt(lambda x: np.array([x[0] - 1.0, 10 * (x[1] - x[0] ** 2)]), [-1.2, 1.0])
    >>> np.round(sol.x, 6).tolist()
    [1.0, 1.0]
    """
    x = np.asarray(x0, dtype=np.float64).copy()
    if lower is not None:
        x = np.clip(x, lower, upper)
    r = fun(x)
    cost = _cost(r)
    if not np.isfinite(cost):
        return Solution(x, np.inf, 0, False)
    lam = 1e-3
    for it in range(1, max_iter + 1):
        jac = jacobian(fun, x, r)
        if not np.all(np.isfinite(jac)):
            return Solution(x, cost, it, False)
        jtj = jac.T @ jac
        grad = jac.T @ r
        scale = np.maximum(np.diag(jtj), 1e-300)
        improved = False
        for _ in range(40):
            try:
                dx = np.linalg.solve(jtj + lam * np.diag(scale), -grad)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            dx = np.clip(dx, -max_step, max_step)
            x_new = np.clip(x + dx, lower, upper) if lower is not None else x + dx
            r_new = fun(x_new)
            cost_new = _cost(r_new)
            if cost_new < cost:
                improved = True
                break
            lam *= 4.0
        if not improved:
            return Solution(x, cost, it, True)
        small_f = cost - cost_new <= ftol * max(cost, 1e-300)
        small_x = np.linalg.norm(dx) <= xtol * (np.linalg.norm(x) + xtol)
        x, r, cost = x_new, r_new, cost_new
        lam = max(lam / 3.0, 1e-12)
        if small_f or small_x or cost == 0.0:
            return Solution(x, cost, it, True)
    return Solution(x, cost, max_iter, False)


def varpro(
    basis: Callable[[np.ndarray], np.ndarray],
    y: np.ndarray,
    starts: Sequence[Sequence[float]],
    *,
    keep: int = 3,
    weights: np.ndarray | None = None,
    max_iter: int = 200,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    max_step: float = np.inf,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit ``y ~ basis(theta) @ c`` over nonlinear ``theta`` and linear ``c``, from several starts.

    Every start is screened by its variable-projection cost; Levenberg-Marquardt runs from the
    ``keep`` best and the lowest final cost wins. ``weights`` scale each residual (e.g. Huber
    IRLS weights). ``lower``/``upper``/``max_step`` bound ``theta`` (see
    :func:`levenberg_marquardt`).

    Returns:
        ``(theta, c, cost)``.

    >>> t = np.linspace(1, 10, 30)
    >>> y = 2.0 + 3.0 * t ** -0.7
    >>> theta, c, _ = varpro(lambda th: np.stack([np.ones_like(t), t ** -th[0]], 1), y, [[0.2], [1.5]])
    >>> np.round(theta, 6).tolist(), np.round(c, 6).tolist()
    ([0.7], [2.0, 3.0])
    """
    w = np.ones_like(y) if weights is None else np.sqrt(weights)

    def solve(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi = basis(theta)
        if not np.all(np.isfinite(phi)):
            return np.full(y.size, np.inf), np.full(phi.shape[1], np.nan)
        coef, *_ = np.linalg.lstsq(phi * w[:, None], y * w, rcond=None)
        return (phi @ coef - y) * w, coef

    def residual(theta: np.ndarray) -> np.ndarray:
        return solve(theta)[0]

    screened = sorted(
        (np.asarray(s, dtype=np.float64) for s in starts), key=lambda s: _cost(residual(s))
    )
    best: Solution | None = None
    for start in screened[:keep]:
        sol = levenberg_marquardt(
            residual,
            start,
            max_iter=max_iter,
            lower=None if lower is None else np.asarray(lower, float),
            upper=None if upper is None else np.asarray(upper, float),
            max_step=max_step,
        )
        if best is None or sol.cost < best.cost:
            best = sol
    if best is None or not np.isfinite(best.cost):
        raise ValueError("the fit failed from every start (non-finite model values)")
    return best.x, solve(best.x)[1], best.cost
