"""The convex last-iterate bound of SGD for any LR schedule, evaluated in O(T).

For a convex (possibly non-smooth) objective, SGD ``x_{t+1} = x_t - gamma eta_t g_t`` with
``E||g_t||^2 <= G_t^2`` and ``D = ||x_1 - x*||`` satisfies (Defazio et al. 2023, Thm. 10; Schaipp
et al. 2025, Thm. 1)

.. math::

    E[f(x_T) - f^*] \\le \\Omega_T(\\gamma) = T_1/\\gamma + \\gamma T_2,\\qquad
    T_1 = \\frac{D^2}{2\\beta_1},\\qquad
    T_2 = \\frac{\\Gamma_1}{2\\beta_1} + \\frac12\\sum_{k=1}^{T-1}\\frac{\\eta_k\\Gamma_k}{\\alpha_k\\beta_k},

with the reverse cumulative sums ``beta_k = sum_{t>=k} eta_t``, ``alpha_k = beta_{k+1}`` and
``Gamma_k = sum_{t>=k} eta_t^2 G_t^2``. The bound is minimised by ``gamma* = sqrt(T1/T2)`` at
``Omega* = 2 sqrt(T1 T2)``. Reverse cumulative sums (never ``total - cumsum``, which cancels
catastrophically for long runs) keep the evaluation stable at ``T = 1e6``.

**Which multipliers.** ``etas[k]`` multiplies update ``k + 1`` (the project's step convention), so
``bound(sample(schedule, T))`` bounds the run as it is trained. Trailing zero multipliers are
dropped first: updates at LR 0 do not move the iterate, and in the theorem the last kept step only
weights the final iterate. A schedule of ``T`` updates that decays to 0 on its last update (every
decay in :mod:`autowarm.schedules`) is therefore evaluated on its first ``T - 1`` multipliers,
which is exactly the construction of the reference code (a schedule of length ``T + 1``
evaluated at ``T``).

References: Defazio, Cutkosky, Mehta, Mishchenko, arXiv 2310.07831; Schaipp, Hagele, Taylor,
Simsekli, Bach, arXiv 2501.18965.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autowarm.schedules._validate import positive

ArrayLike = float | Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Bound:
    """The two terms of ``Omega_T(gamma) = T1/gamma + gamma T2`` and their optimum.

    Attributes:
        T1: the initial-distance term ``D^2 / (2 sum eta_t)``.
        T2: the noise term (see the module docstring).
        steps: ``T``, the number of multipliers kept (trailing zeros dropped).
        etas: the kept multipliers ``eta_1..eta_T``.
        sq_grad_norms: the kept ``G_t^2``.
        D: the initial distance.
    """

    T1: float
    T2: float
    steps: int
    etas: np.ndarray
    sq_grad_norms: np.ndarray
    D: float

    @property
    def gamma_star(self) -> float:
        """The base LR minimising the bound, ``sqrt(T1 / T2)``."""
        return math.sqrt(self.T1 / self.T2)

    @property
    def omega_star(self) -> float:
        """The minimal bound ``2 sqrt(T1 T2)``."""
        return 2.0 * math.sqrt(self.T1 * self.T2)

    def omega(self, gamma: float | None = None) -> float:
        """``Omega_T(gamma)`` at base LR ``gamma`` (default ``gamma_star``)."""
        g = self.gamma_star if gamma is None else positive("gamma", gamma)
        return float(self.T1 / g + g * self.T2)

    def curve(self, gamma: float | None = None, steps: ArrayLike | None = None) -> np.ndarray:
        """The bound ``Omega_t(gamma)`` of the schedule truncated after ``t`` updates.

        Args:
            gamma: the base LR the run uses (default ``gamma_star`` of the full horizon, i.e. the
                curve of the run tuned for ``T``).
            steps: the ``t`` (1..T) to evaluate; default every ``t = 1..T``. Each point costs
                O(t), so the full curve is O(T^2): pass a few hundred points for long runs.

        Returns:
            ``Omega_t(gamma)`` for each requested ``t`` (float64 array).
        """
        g = self.gamma_star if gamma is None else positive("gamma", gamma)
        t1, t2 = terms_curve(self.etas, self.sq_grad_norms, self.D, steps)
        return t1 / g + g * t2


def _prepare(etas: ArrayLike, grad_norms: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validate, drop trailing zeros and broadcast ``G_t^2`` to the kept multipliers."""
    eta = np.asarray(etas, dtype=np.float64)
    if eta.ndim != 1 or eta.size == 0:
        raise ValueError(
            f"etas must be a non-empty 1-d array of multipliers; got shape {eta.shape}"
        )
    if not np.all(np.isfinite(eta)) or np.any(eta < 0):
        bad = eta[~(np.isfinite(eta) & (eta >= 0))][0]
        raise ValueError(f"etas must be finite and >= 0; got {bad!r}")
    g = np.asarray(grad_norms, dtype=np.float64)
    if g.ndim == 0:
        g = np.full(eta.size, float(g))
    elif g.shape != eta.shape:
        raise ValueError(
            f"grad_norms must be a scalar or have the shape of etas {eta.shape}; got {g.shape}"
        )
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ValueError("grad_norms must be finite and >= 0")
    nonzero = np.flatnonzero(eta)
    if nonzero.size == 0:
        raise ValueError("etas are all zero: the bound needs at least one positive multiplier")
    last = nonzero[-1] + 1
    eta, g = eta[:last], g[:last]
    if not np.any(eta * g):
        raise ValueError("the bound needs some eta_t * G_t > 0 (all gradient norms are zero)")
    return eta, g * g


def _terms(eta: np.ndarray, g2: np.ndarray, D: float) -> tuple[float, float]:
    """``(T1, T2)`` of ``eta_1..eta_T`` (last entry > 0) in O(T) with reverse cumulative sums."""
    beta = np.cumsum(eta[::-1])[::-1]
    gam = np.cumsum((eta * eta * g2)[::-1])[::-1]
    alpha = beta[1:]  # alpha_k = beta_{k+1} > 0 because the last multiplier is positive
    inner = (eta[:-1] / beta[:-1]) * (gam[:-1] / alpha)  # ordered to avoid underflow
    t1 = D * D / (2.0 * float(beta[0]))
    t2 = float(gam[0]) / (2.0 * float(beta[0])) + 0.5 * float(np.sum(inner))
    return t1, t2


def bound(etas: ArrayLike, grad_norms: ArrayLike = 1.0, D: float = 1.0) -> Bound:
    """Evaluate the convex last-iterate bound of a schedule sampled as ``T`` multipliers.

    Args:
        etas: multipliers ``eta_1..eta_T`` in update order (``sample(schedule, T)``), >= 0.
            Trailing zeros are dropped (see the module docstring).
        grad_norms: ``G_t``, a scalar or one value per multiplier (>= 0).
        D: the distance ``||x_1 - x*||`` (> 0). ``gamma_star`` scales as ``D/G`` and
            ``omega_star`` as ``D G``; ratios of ``gamma_star`` between schedules do not depend on
            either.

    Returns:
        A :class:`Bound` with ``T1``, ``T2``, ``gamma_star``, ``omega_star`` and ``curve()``.

    Example (constant schedule: ``T2 = G^2 (1 + H_{T-1}) / 2``):

    >>> b = bound([1.0, 1.0, 1.0])
    >>> b.T1, b.T2
    (0.16666666666666666, 1.25)
    >>> round(bound([0.75, 0.5, 0.25, 0.0]).gamma_star, 4)
    0.5774
    """
    d = positive("D", D)
    eta, g2 = _prepare(etas, grad_norms)
    t1, t2 = _terms(eta, g2, d)
    return Bound(T1=t1, T2=t2, steps=int(eta.size), etas=eta, sq_grad_norms=g2, D=d)


def terms_curve(
    etas: np.ndarray, sq_grad_norms: np.ndarray, D: float, steps: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``T1(t)`` and ``T2(t)`` of the schedule truncated after ``t`` updates, for each ``t``.

    Truncations that end on a zero multiplier use their last positive multiplier (as
    :func:`bound` does); before the first positive multiplier the bound is infinite.
    """
    n = etas.size
    ts = np.arange(1, n + 1) if steps is None else np.asarray(steps, dtype=np.int64).ravel()
    if ts.size and (ts.min() < 1 or ts.max() > n):
        raise ValueError(f"curve steps must lie in 1..{n}; got {ts.min()}..{ts.max()}")
    # the last positive multiplier at or before each t (0 = none yet)
    pos = np.where(etas > 0, np.arange(1, n + 1), 0)
    last_pos = np.maximum.accumulate(pos)
    t1 = np.full(ts.size, np.inf)
    t2 = np.full(ts.size, np.inf)
    cache: dict[int, tuple[float, float]] = {}
    for i, t in enumerate(ts):
        m = int(last_pos[t - 1])
        if m == 0:
            continue
        if m not in cache:
            cache[m] = _terms(etas[:m], sq_grad_norms[:m], D)
        t1[i], t2[i] = cache[m]
    return t1, t2
