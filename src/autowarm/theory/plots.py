"""Plots of schedules and of the theory tools: LR schedules, bound curves, refinement, predictions.

matplotlib is an optional dependency (``pip install 'autowarm[plot]'``), imported when a plot is
drawn; without it every function raises :class:`autowarm.MissingExtraError` naming the extra. Each
function writes one PNG to ``path`` and returns nothing. The numbers come from
:mod:`autowarm.theory`; nothing here computes anything a table would not show.

>>> curve_steps(10, points=4).tolist()
[1, 4, 7, 10]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Points at which long bound / loss curves are evaluated for plots and tables.
CURVE_POINTS = 300


def curve_steps(n: int, points: int = CURVE_POINTS, start: int = 1) -> np.ndarray:
    """About ``points`` distinct integer steps from ``start`` to ``n`` (inclusive), evenly spaced.

    >>> curve_steps(5).tolist()
    [1, 2, 3, 4, 5]
    """
    return np.unique(np.linspace(start, n, min(n - start + 1, points)).round().astype(np.int64))


def _pyplot():
    from autowarm._plot import pyplot

    return pyplot()


def plot_multipliers(curves: dict, path: str, *, title: str = "LR schedule", marks=None) -> None:
    """Plot multiplier curves (``name -> array``) with optional vertical marks (``label -> step``).

    Args:
        curves: each curve's multipliers by step (``autowarm.schedules.sample(schedule, T)``).
        path: the PNG to write.
        title: the plot's title.
        marks: optional ``label -> step`` drawn as dashed vertical lines (e.g. a warm-up's end).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=120)
    for name, values in curves.items():
        ax.plot(range(len(values)), values, label=name, lw=1.5)
    for label, step in (marks or {}).items():
        ax.axvline(step, color="gray", ls="--", lw=1)
        ax.annotate(label, (step, 1.0), textcoords="offset points", xytext=(3, -12), fontsize=8)
    ax.set_xlabel("optimizer update (step)")
    ax.set_ylabel("LR multiplier")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_bounds(curves: dict, path: str, *, title: str = "LR transfer") -> None:
    """LR schedules (top) and their bound curves ``Omega_t(gamma)`` at the given LR (bottom).

    Args:
        curves: ``name -> (multipliers, lr, gamma)``: the sampled schedule, the base LR to draw it
            at, and the LR in bound units (``D = G = 1``) at which to draw its bound curve.
        path: the PNG to write.
        title: the top panel's title.
    """
    from autowarm.theory.bound import bound

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5.5), dpi=120, sharex=True)
    top, bottom = 0.0, np.inf
    for name, (etas, lr, gamma) in curves.items():
        ax1.plot(np.arange(etas.size), lr * etas, lw=1.3, label=f"{name} (lr {lr:.3g})")
        b = bound(etas)
        ts = curve_steps(b.steps)
        omega = b.curve(gamma, ts)
        ax2.plot(ts - 1, omega, lw=1.3, label=name)
        late = omega[ts >= 0.05 * b.steps]  # the first updates' bound is off the scale
        top, bottom = max(top, late.max()), min(bottom, late.min())
    ax2.set_ylim(bottom / 1.1, top * 1.1)
    ax1.set_ylabel("learning rate")
    ax1.set_title(title)
    ax2.set_ylabel("bound $\\Omega_t(\\gamma^*)$ (D = G = 1)")
    ax2.set_xlabel("optimizer update (step)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_refine(norms: np.ndarray, sched: np.ndarray, path: str) -> None:
    """The recorded gradient norms (top) and the refined schedule against linear decay (bottom)."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), dpi=120)
    ax1.plot(norms, lw=0.6, color="C7")
    ax1.set_ylabel("recorded gradient norm")
    ax1.set_xlabel("update of the recorded run")
    ax2.plot(sched, lw=1.5, label="refined")
    ax2.plot(np.linspace(1, 0, sched.size), lw=1, ls="--", color="k", label="linear decay")
    ax2.set_ylabel("LR multiplier")
    ax2.set_xlabel("optimizer update (step) of the new run")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_predict(fit, curves, names, lrs, steps, pred, target, name, path) -> None:
    """A fitted loss-curve law: observed and fitted losses of the fit runs, and the prediction.

    Args:
        fit: the :class:`~autowarm.theory.LawFit`.
        curves: the fitted runs (:class:`~autowarm.theory.LossCurve`), ``names`` their labels.
        lrs: the absolute LRs of the predicted run; ``steps`` / ``pred`` its predicted losses.
        target: the recorded target run (or ``None``), ``name`` the prediction's label.
        path: the PNG to write.
    """
    from autowarm.theory.laws import default_warmup

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), dpi=120, sharex=True)
    for i, (c, label) in enumerate(zip(curves, names)):
        color = f"C{i + 1}"
        keep = c.steps >= default_warmup(c.lrs)
        ax1.plot(
            c.steps[keep],
            c.losses[keep],
            ".",
            ms=3,
            color=color,
            label=f"observed {Path(label).name}",
        )
        ts = curve_steps(c.lrs.size, start=default_warmup(c.lrs))
        ax1.plot(ts, fit.predict(c.lrs, ts), lw=1, color=color)
        ax2.plot(np.arange(1, c.lrs.size + 1), c.lrs, lw=1, color=color)
    if target is not None and target.steps.size:
        ax1.plot(target.steps, target.losses, ".", ms=3, color="k", label="observed target")
    ax1.plot(steps, pred, "--", lw=1.6, color="C0", label=f"predicted {name}")
    ax2.plot(np.arange(1, lrs.size + 1), lrs, "--", lw=1.4, color="C0")
    ax1.set_ylabel("loss")
    ax1.set_title(f"{fit.law} law: fitted (solid) and predicted (dashed)")
    ax1.legend(fontsize=7)
    ax2.set_ylabel("learning rate")
    ax2.set_xlabel("optimizer updates")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


__all__ = [
    "CURVE_POINTS",
    "curve_steps",
    "plot_bounds",
    "plot_multipliers",
    "plot_predict",
    "plot_refine",
]
