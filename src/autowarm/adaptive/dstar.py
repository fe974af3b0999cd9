"""The peak gap D* of the loss-adaptive warm-up: closed form, constants, and the paper's fit rule.

With the gap ``D = loss - f*`` and the LR of the proof ``eta(D) = D / (K0 + K1 D + K2 D^2)``, the
seed paper (Riabinin et al. 2026, arXiv 2602.05813) fixes the constants from standard
hyperparameters by three constraints: ``eta(D*) = lr`` (the peak), ``eta(D0) = lr / div`` (the start,
``D0`` the initial gap) and ``eta'(D*) = 0``. Solving them gives

    K2 = D0 (div - 1) / (lr (D0 - D*)^2),   K0 = K2 D*^2,   K1 = 1/lr - 2 K2 D*,

and the closed form of the multiplier ``m = eta / lr``:

    m(D) = 1 / (1 + (div - 1) (D0 / D) ((D - D*) / (D0 - D*))^2),

which is ``1/div`` at ``D0``, 1 at ``D*`` with zero slope, and < 1 everywhere else.

``fit_delta_star`` chooses D* by the paper's rule ("linear_and_cos"): the D* whose ``m`` is closest,
in a Gaussian-weighted L2 sense over ``[0, D0]``, to the template "half-cosine from 0 up to 1 on
``[0, D*]``, linear from 1 down to ``1/div`` on ``[D*, D0]``" (a linear warm-up then cosine decay,
read in loss space). The weight ``exp(-sigma_f kappa (D - D*)^2 / 2)`` has the standard deviation
``1 / sqrt(sigma_f kappa)`` in loss units, with kappa the optimizer's norm constant
(:func:`autowarm.adaptive.kappa.kappa`). The published code integrates with adaptive quadrature,
which underflows for narrow weights and lands on spurious minima for flat objectives; here the
integral is computed with composite Gauss-Legendre panels placed where the weight lives (the
kink of the template at D* is a panel edge), the objective is scanned on a grid and refined by zoomed
scans: deterministic, accurate, a few milliseconds.
"""

from __future__ import annotations

import math

import numpy as np

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_PANELS = 8  # panels per side of D*
_WIDTH = 9.0  # the weight is integrated over D* +- _WIDTH standard deviations
_GRID = 96  # candidate D* values of the first scan over (0, D0)
_ZOOM = 33  # candidates of each zoomed scan around the best one


def multiplier(gap: float, d0: float, delta_star: float, div_factor: float) -> float:
    """The closed-form multiplier ``m(D) = eta(D) / lr`` of the paper's constraints.

    >>> multiplier(7.5, 7.5, 1.0, 100.0), multiplier(1.0, 7.5, 1.0, 100.0)
    (0.01, 1.0)
    """
    if gap <= 0.0:
        return 0.0
    r = (gap - delta_star) / (d0 - delta_star)
    return 1.0 / (1.0 + (div_factor - 1.0) * (d0 / gap) * r * r)


def linear_multiplier(gap: float, d0: float, delta_star: float, div_factor: float) -> float:
    """The fit's own template read as a ramp: linear in the gap from ``1/div`` at ``D0`` to 1 at ``D*``.

    ``m(D) = 1/div + (1 - 1/div) (D0 - D) / (D0 - D*)``, held at ``1/div`` while ``D >= D0`` and
    at 1 once ``D <= D*``. This is the "linear warm-up in loss space" that :func:`fit_delta_star`
    fits the closed form :func:`multiplier` to; unlike the closed form at a large ``div`` it does
    not stay near ``1/div`` until the gap is close to ``D*``.

    >>> linear_multiplier(7.5, 7.5, 1.0, 100.0), linear_multiplier(4.25, 7.5, 1.0, 100.0)
    (0.01, 0.505)
    >>> linear_multiplier(9.0, 7.5, 1.0, 100.0), linear_multiplier(0.5, 7.5, 1.0, 100.0)
    (0.01, 1.0)
    """
    frac = min(max((d0 - gap) / (d0 - delta_star), 0.0), 1.0)
    return 1.0 / div_factor + (1.0 - 1.0 / div_factor) * frac


def constants(d0: float, delta_star: float, div_factor: float, lr: float = 1.0) -> tuple:
    """Return ``(K0, K1, K2)`` of ``eta(D) = D / (K0 + K1 D + K2 D^2)`` for a peak LR ``lr``.

    >>> k0, k1, k2 = constants(7.5, 1.0, 100.0, lr=1e-3)
    >>> round(1.0 / (k0 / 1.0 + k1 + k2 * 1.0), 9)  # eta(D*) = lr
    0.001
    """
    k2 = d0 * (div_factor - 1.0) / (lr * (d0 - delta_star) ** 2)
    return (k2 * delta_star**2, 1.0 / lr - 2.0 * k2 * delta_star, k2)


def _side_nodes(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``_PANELS`` Gauss-Legendre panels on ``[lo_i, hi_i]`` per candidate."""
    frac = np.linspace(0.0, 1.0, _PANELS + 1)
    edges = lo[:, None] + (hi - lo)[:, None] * frac[None, :]
    half = 0.5 * np.diff(edges, axis=1)
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    x = (mid[:, :, None] + half[:, :, None] * _NODES).reshape(len(lo), -1)
    w = (half[:, :, None] * _WEIGHTS).reshape(len(lo), -1)
    return np.maximum(x, 1e-300), w


def _objectives(candidates: np.ndarray, d0: float, div: float, width: float) -> np.ndarray:
    """``J`` for each candidate D* at once: panels left and right of D* (the template's kink)."""
    ds = candidates[:, None]
    left = _side_nodes(np.maximum(0.0, candidates - _WIDTH * width), candidates)
    right = _side_nodes(candidates, np.minimum(d0, candidates + _WIDTH * width))
    out = np.zeros(len(candidates))
    for (x, w), is_left in ((left, True), (right, False)):
        r = (x - ds) / (d0 - ds)
        m = 1.0 / (1.0 + (div - 1.0) * (d0 / x) * r * r)
        if is_left:  # half-cosine from 0 at D = 0 up to 1 at D*
            g = 0.5 * (1.0 - np.cos(np.pi * x / ds))
        else:  # linear from 1 at D* down to 1/div at D0
            g = 1.0 - (1.0 - 1.0 / div) * r
        z = (x - ds) / width
        out += np.einsum("ij,ij->i", w * np.exp(-0.5 * z * z), (m - g) ** 2)
    return out / d0


def objective(delta_star: float, d0: float, div_factor: float, width: float) -> float:
    """The paper's criterion ``J(D*) = (1/D0) int_0^D0 w(D) (m(D) - g(D))^2 dD``.

    ``width`` is the standard deviation ``1 / sqrt(sigma_f kappa)`` of the Gaussian weight.
    """
    return float(_objectives(np.array([float(delta_star)]), d0, div_factor, width)[0])


def fit_delta_star(
    d0: float, div_factor: float, kappa: float, sigma_f: float = 1e-3, rel_tol: float = 1e-4
) -> float:
    """Choose D* by the seed paper's template-fit rule, computed accurately.

    Args:
        d0: the initial gap ``L0 - f*`` (> 0, loss units).
        div_factor: the start factor ``div`` (> 1): the warm-up starts at ``lr / div``.
        kappa: the optimizer's norm constant (``kappa(norm, shapes)``, > 0).
        sigma_f: the paper's ``sigma_F`` (default 1e-3); the weight's standard deviation is
            ``1 / sqrt(sigma_f * kappa)`` loss units.
        rel_tol: the scan zooms in until its spacing is below ``rel_tol * d0``.

    Returns:
        D* in ``(0, d0)``. The search covers ``[1e-3 d0, (1 - 1e-3) d0]``.

    Example: the paper's Lion setting (lr 1e-3, div 100, f* 3.5, L0 = 11, kappa of LLaMA-124M) where
    the published quadrature returns 0.38 (a dense integration gives about 0.76; the objective
    is very flat there, its exact minimiser is 0.779):

    >>> round(fit_delta_star(7.5, 100.0, 1.236e8), 3)
    0.779
    """
    if not (math.isfinite(d0) and d0 > 0):
        raise ValueError(f"the initial gap d0 must be finite and > 0; got {d0!r}")
    if not (math.isfinite(div_factor) and div_factor > 1.0):
        raise ValueError(f"div_factor must be > 1 to fit D*; got {div_factor!r}")
    if not (math.isfinite(kappa) and kappa > 0):
        raise ValueError(f"kappa must be finite and > 0; got {kappa!r}")
    if not (math.isfinite(sigma_f) and sigma_f > 0):
        raise ValueError(f"sigma_f must be finite and > 0; got {sigma_f!r}")
    width = 1.0 / math.sqrt(sigma_f * kappa)
    lo, hi = 1e-3 * d0, (1.0 - 1e-3) * d0
    grid = np.linspace(lo, hi, _GRID)
    while True:
        values = _objectives(grid, d0, div_factor, width)
        i = int(np.argmin(values))
        step = grid[1] - grid[0]
        if step <= rel_tol * d0:
            return float(grid[i])
        # Zoom into the two grid cells around the best point.
        a = max(float(grid[i]) - step, lo)
        b = min(float(grid[i]) + step, hi)
        grid = np.linspace(a, b, _ZOOM)
