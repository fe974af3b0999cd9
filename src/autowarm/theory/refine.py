"""Schedule refinement from a recorded gradient-norm sequence (Defazio et al. 2023).

Minimising the convex last-iterate bound (:mod:`autowarm.theory.bound`) over the schedule for
the *observed* gradient norms, instead of a worst-case constant, gives the refined schedule

.. math:: \\eta_t \\propto w_t \\sum_{p=t+1}^{T} w_p,\\qquad \\eta_T = 0,

with ``w_t = G_t^{-2}`` for SGD-like methods (l2 norms of the gradient) and ``w_t = G_t^{-1}`` for
coordinate-wise (Adam-like) methods, whose bound is in l1 norms. A constant ``G`` gives back linear
decay; large early norms make ``w_t`` small, i.e. a warm-up; the shrinking tail sum anneals fast at
the end. Recorded norms are noisy, so they are median-filtered over a window of a fraction ``tau``
of the run first. The result is normalised to peak 1 and resampled to the new run's length.

Written from the formula of Defazio, Cutkosky, Mehta, Mishchenko, "When, Why and How Much?
Adaptive Learning Rate Scheduling by Refinement", arXiv 2310.07831.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autowarm.schedules._validate import choice, real, steps

# Longer recordings are first reduced to about this many block medians (keeps the filter O(n)).
MAX_POINTS = 10_000
NORMS = ("l2", "l1")


def median_filter(x: np.ndarray, width: int, *, chunk: int = 1 << 22) -> np.ndarray:
    """Running median over an odd ``width``, padding each end with its edge value.

    >>> median_filter(np.array([1.0, 9.0, 1.0, 1.0, 5.0]), 3).tolist()
    [1.0, 1.0, 1.0, 1.0, 5.0]
    """
    if width < 1 or width % 2 == 0:
        raise ValueError(f"median filter width must be an odd integer >= 1; got {width!r}")
    if width == 1 or x.size == 0:
        return x.copy()
    half = width // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    rows = max(1, chunk // width)
    out = np.empty(x.size)
    for start in range(0, x.size, rows):
        out[start : start + rows] = np.median(windows[start : start + rows], axis=1)
    return out


def _block_medians(x: np.ndarray, max_points: int) -> np.ndarray:
    """Reduce ``x`` to at most ``max_points`` medians of consecutive blocks."""
    k = -(-x.size // max_points)
    if k <= 1:
        return x
    pad = (-x.size) % k
    blocks = np.concatenate([x, np.full(pad, np.nan)]).reshape(-1, k)
    return np.nanmedian(blocks, axis=1)


def resample(values: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of ``values`` (taken as evenly spaced over the run) onto ``n`` points.

    >>> resample(np.array([1.0, 0.0]), 5).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if values.size == n:
        return values.copy()
    if values.size == 1:
        return np.full(n, values[0])
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, values.size), values)


def refined_weights_schedule(weights: np.ndarray) -> np.ndarray:
    """``eta_t = w_t sum_{p>t} w_p`` (unnormalised), with reverse cumulative sums.

    >>> refined_weights_schedule(np.ones(4)).tolist()
    [3.0, 2.0, 1.0, 0.0]
    """
    tail = np.cumsum(weights[::-1])[::-1]
    out = np.zeros_like(weights)
    out[:-1] = weights[:-1] * tail[1:]
    return out


def refine(
    grad_norms: Sequence[float] | np.ndarray,
    total_steps: int | None = None,
    tau: float = 0.1,
    norm: str = "l2",
) -> np.ndarray:
    """The refined LR multipliers for a new run, from a previous run's gradient norms.

    Args:
        grad_norms: one gradient norm per update of the previous run (l2 norm of the gradient
            for SGD-like methods, l1 norm for Adam-like ones). Non-finite entries (overflowed
            steps) are dropped; the rest must be > 0. At least 2 values.
        total_steps: updates of the new run (default: the number of finite norms given).
        tau: median-filter window as a fraction of the run, in [0, 1) (0 = no filter). The window
            is ``2 floor(tau n / 2) + 1`` points of the ``n`` used (recordings longer than
            ``MAX_POINTS`` are first reduced to block medians).
        norm: ``"l2"`` (weights ``G^-2``) or ``"l1"`` (weights ``G^-1``).

    Returns:
        ``total_steps`` multipliers with peak 1 and a last update at 0; use as a schedule with
        ``autowarm.schedules.tabulated(values)`` and re-tune the base LR.

    >>> refine([2.0] * 5).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0]
    >>> r = refine([4.0, 2.0, 1.0, 1.0, 1.0, 1.0], tau=0.0)
    >>> int(r.argmax()), float(r[-1])
    (2, 0.0)
    """
    choice("norm", norm, NORMS)
    tau = real("tau", tau, low=0.0, high=1.0, high_open=True)
    g = np.asarray(grad_norms, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"grad_norms must be a 1-d sequence; got shape {g.shape}")
    g = g[np.isfinite(g)]
    if g.size < 2:
        raise ValueError(f"refine needs at least 2 finite gradient norms; got {g.size}")
    if np.any(g <= 0):
        raise ValueError(f"gradient norms must be > 0; got {g[g <= 0][0]!r}")
    n_new = g.size if total_steps is None else steps("total_steps", total_steps, minimum=2)
    g = _block_medians(g, MAX_POINTS)
    width = 2 * int(tau * g.size / 2) + 1
    smooth = median_filter(g, width)
    weights = smooth ** (-2.0 if norm == "l2" else -1.0)
    sched = refined_weights_schedule(weights)
    sched = resample(sched / sched.max(), int(n_new))
    return sched / sched.max()
