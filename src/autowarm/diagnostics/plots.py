"""Plots of the diagnostics: K_t against the gap with the fitted law, update sizes over training.

matplotlib is optional (``pip install 'autowarm[plot]'``); it is imported when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from autowarm._plot import pyplot
from autowarm.diagnostics.fit import select_window
from autowarm.runlog import read_metrics


def plot_probe(result: Mapping, path: str | Path) -> Path:
    """Draw a probe result (the content of ``probe.json``) to ``path``.

    Left: ``K_t`` against ``D_t`` (log scale), points in the steady window filled, the others
    hollow, with the fitted laws (``rho = 2``, the searched ``rho``, and the descent window's),
    each over its own gap range. Right: ``K_t`` and ``D_t`` along the run.
    """
    plt = pyplot()
    points = result["points"]
    steps = np.array([p["step"] for p in points], dtype=float)
    gaps = np.array([p["gap"] for p in points], dtype=float)
    ks = np.array([p["K"] for p in points], dtype=float)
    window = result.get("window", {})
    mask, _ = select_window(
        gaps,
        ks,
        transient_frac=window.get("transient_frac", 0.1),
        outlier_z=window.get("outlier_z", 3.5),
    )
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.scatter(gaps[mask], ks[mask], s=14, label="points in the fit window")
    ax.scatter(gaps[~mask], ks[~mask], s=14, facecolors="none", edgecolors="grey", label="dropped")
    for key, style, name in (("fit", "-", "steady"), ("fit_rho", "--", "steady"),
                             ("fit_descent", ":", "descent")):  # fmt: skip
        fit = result.get(key)
        if not fit:
            continue
        d = np.linspace(fit["gap_range"][0], fit["gap_range"][1], 200)
        k = fit["K0"] + fit["K1"] * d + fit["K2"] * np.power(d, fit["rho"])
        ax.plot(d, k, style, label=f"{name} rho={fit['rho']:.2f}: R^2={fit['r2']:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("gap D = loss - f*")
    ax.set_ylabel("K_t  (dual / primal norm)")
    ax.set_title(f"{result.get('optimizer', '')} ({result.get('norm', '')} norm pair)")
    ax.legend(fontsize=8)
    ax2.plot(steps, ks, ".-", ms=3, label="K_t")
    ax2.set_yscale("log")
    ax2.set_xlabel("update")
    ax2.set_ylabel("K_t")
    twin = ax2.twinx()
    twin.plot(steps, gaps, color="tab:orange", lw=1, label="D_t")
    twin.set_ylabel("D_t", color="tab:orange")
    ax2.set_title("along the run")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


METRICS = ("relative_update", "angular_update", "rrc", "update_norm")


def read_records(path: str | Path) -> list[dict]:
    """The records of an ``update_size.jsonl`` file (or of a run directory holding one).

    Read by :func:`autowarm.runlog.read_metrics`: a torn last line is dropped with a warning, a
    corrupt line elsewhere raises ``ValueError`` naming the file and line.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "update_size.jsonl"
    return read_metrics(p)


def plot_update_sizes(
    runs: Mapping[str, str | Path | Sequence[dict]],
    path: str | Path,
    *,
    metrics: Sequence[str] = METRICS[:3],
) -> Path:
    """Layer-mean update sizes over training, one line per run (e.g. warm-up vs none).

    Args:
        runs: label -> records, or an ``update_size.jsonl`` path / run directory.
        path: the PNG to write.
        metrics: which of ``relative_update``, ``angular_update``, ``rrc``, ``update_norm``.
    """
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ValueError(f"unknown metric(s) {bad}; valid: {', '.join(METRICS)}")
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8), squeeze=False)
    for label, src in runs.items():
        recs = src if isinstance(src, Sequence) and not isinstance(src, str) else read_records(src)
        steps = [r["step"] for r in recs]
        for ax, m in zip(axes[0], metrics):
            ax.plot(steps, [r["mean"].get(m, np.nan) for r in recs], label=label, lw=1.2)
    for ax, m in zip(axes[0], metrics):
        ax.set_yscale("log")
        ax.set_xlabel("update")
        ax.set_title(f"{m} (mean over matrices)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


__all__ = ["METRICS", "plot_probe", "plot_update_sizes", "read_records"]
