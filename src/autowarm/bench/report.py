"""``autowarm report DIR``: tables and plots of a warm-up benchmark's results.

Per optimizer the report gives the grid of fixed warm-ups (mean ± std of the final validation
loss over seeds), the best and the median grid point, each adaptive mode with the warm-up lengths
it chose, the paired difference between each adaptive mode and the best and median grid points,
and the default mode minus each other adaptive mode. An f* sweep gets its own table and plot.
Significance rule (see :mod:`autowarm.bench.stats`): differences are paired by seed and called
significant when the two-sided 95% Student-t interval of the mean difference excludes 0;
otherwise "tie". "Runs" counts the training runs each answer cost: the grid needs all of its
points times the seeds to find its best point, an adaptive arm one run per seed. The *median*
grid point is the one ranked in the middle by mean loss (the better of the two middle points for
an even grid); grid points whose runs all diverged (non-finite loss) are never best or median.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from autowarm.bench.stats import paired_difference, summarize
from autowarm.bench.store import RESULT_FIELDS, ResultStore

ADAPTIVE_ARMS = ("adaptive-faithful", "adaptive-paper-ramp", "adaptive", "adaptive-calibrated")


def _by_seed(results: list[dict]) -> dict[int, float]:
    return {int(r["seed"]): float(r["final_val_loss"]) for r in results}


def optimizer_table(results: list[dict]) -> dict:
    """Summaries of one optimizer's results: grid points, best/median, adaptive arms, diffs."""
    grid: dict[int, list[dict]] = defaultdict(list)
    arms: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r["arm"] == "grid":
            grid[int(r["warmup_steps"])].append(r)
        else:
            arms[r["arm"]].append(r)
    points = {w: summarize([r["final_val_loss"] for r in rs]) for w, rs in sorted(grid.items())}
    finite = [w for w in points if math.isfinite(points[w].mean)]
    out: dict = {"grid": points, "arms": {}, "best": None, "median": None}
    if finite:
        ranked = sorted(finite, key=lambda w: points[w].mean)
        out["best"] = ranked[0]
        out["median"] = ranked[(len(ranked) - 1) // 2]
    seeds = {int(r["seed"]) for r in results}
    out["grid_runs"] = sum(len(rs) for rs in grid.values())
    for arm, rs in arms.items():
        ends = [r.get("warmup_end_step") for r in rs]
        entry = {
            "loss": summarize([r["final_val_loss"] for r in rs]),
            "warmup_end": summarize([e for e in ends if e is not None]),
            "warmup_end_steps": ends,
            "runs": len(rs),
        }
        for ref in ("best", "median"):
            w = out[ref]
            entry[f"vs_{ref}"] = (
                paired_difference(_by_seed(rs), _by_seed(grid[w])) if w is not None else None
            )
        out["arms"][arm] = entry
    # The default mode against every other adaptive mode (e.g. before/after a change), paired.
    if "adaptive" in arms:
        out["default_vs"] = {
            arm: paired_difference(_by_seed(arms["adaptive"]), _by_seed(rs))
            for arm, rs in arms.items()
            if arm != "adaptive"
        }
    out["seeds"] = sorted(seeds)
    return out


def _fmt_diff(d) -> str:
    if d is None or d.n == 0:
        return "–"
    if d.n < 2:
        return f"{d.mean:+.4f} (1 seed)"
    return f"{d.mean:+.4f} ± {d.half_width:.4f} ({d.verdict})"


def render_markdown(store: ResultStore, tables: dict[str, dict], plots: list[str]) -> str:
    """The report's markdown text."""
    meta = store.read_meta()
    lines = ["# autowarm warm-up benchmark", ""]
    if meta:
        lines += [
            f"Preset `{meta.get('preset')}`, {meta.get('steps')} steps per run, "
            f"seeds {meta.get('seeds')}, commands: "
            + "; ".join(f"`{c}`" for c in meta.get("commands", [meta.get("command")]) if c)
            + ".",
            "",
        ]
    lines += [
        "Final validation loss (whole validation split), mean ± std over seeds. Differences are",
        "adaptive minus grid, paired by seed, with the half-width of the 95% Student-t interval;",
        "*better*/*worse* when that interval excludes 0, else *tie*.",
        "",
    ]
    for opt, t in tables.items():
        lines += [f"## {opt}", "", "| warm-up steps | final val loss | runs |", "|---|---|---|"]
        for w, s in t["grid"].items():
            tag = " (best)" if w == t["best"] else (" (median)" if w == t["median"] else "")
            lines.append(f"| {w}{tag} | {s} | {s.n} |")
        lines += [
            "",
            "| arm | final val loss | chosen warm-up (steps) | vs best grid | vs median grid | runs |",
            "|---|---|---|---|---|---|",
        ]
        if t["best"] is not None:
            best = t["grid"][t["best"]]
            lines.append(
                f"| grid best (w={t['best']}) | {best} | {t['best']} | – | – | {t['grid_runs']} |"
            )
        for arm in (*ADAPTIVE_ARMS, *sorted(set(t["arms"]) - set(ADAPTIVE_ARMS))):
            if arm not in t["arms"]:
                continue
            e = t["arms"][arm]
            ends = ", ".join("never" if x is None else str(x) for x in e["warmup_end_steps"])
            lines.append(
                f"| {arm} | {e['loss']} | {ends} | {_fmt_diff(e['vs_best'])} | "
                f"{_fmt_diff(e['vs_median'])} | {e['runs']} |"
            )
        if t.get("default_vs"):
            lines += [
                "",
                "The default mode (`adaptive`) minus each other adaptive arm, paired by seed: "
                + "; ".join(f"{arm} {_fmt_diff(d)}" for arm, d in sorted(t["default_vs"].items()))
                + ".",
            ]
        lines.append("")
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
        lines.append("")
    return "\n".join(lines)


def _plot_losses_vs_warmup(tables: dict[str, dict], results, path: Path) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    n = len(tables)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    colors = {
        "adaptive": "tab:red",
        "adaptive-faithful": "tab:green",
        "adaptive-calibrated": "tab:orange",
        "adaptive-paper-ramp": "tab:brown",
    }
    for ax, (opt, t) in zip(axes[0], tables.items()):
        ws = list(t["grid"])
        mean = [t["grid"][w].mean for w in ws]
        std = [t["grid"][w].std for w in ws]
        ax.plot(ws, mean, "o-", color="tab:blue", label="fixed warm-up + cosine")
        ax.fill_between(
            ws, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
            color="tab:blue", alpha=0.2,
        )  # fmt: skip
        for arm, e in t["arms"].items():
            c = colors.get(arm, "tab:purple")
            m, s = e["loss"].mean, e["loss"].std
            if not math.isfinite(m):
                continue
            ax.axhline(m, color=c, lw=1.5, label=f"{arm}")
            ax.axhspan(m - s, m + s, color=c, alpha=0.12)
            ends = [x for x in e["warmup_end_steps"] if x is not None]
            ax.plot(ends, [m] * len(ends), "v", color=c, ms=7)
        ax.set_title(opt)
        ax.set_xlabel("warm-up steps (▼ = adaptive's chosen warm-up)")
        ax.set_ylabel("final val loss")
        finite = [m for m in mean if math.isfinite(m)]
        arm_means = [e["loss"].mean for e in t["arms"].values() if math.isfinite(e["loss"].mean)]
        if finite:  # diverged grid points must not flatten the range; adaptive arms stay visible
            lo = min(finite + arm_means)
            hi = max([sorted(finite)[len(finite) // 2], *arm_means])
            ax.set_ylim(lo - 0.05 - 0.1 * (hi - lo), hi + 0.1 * (hi - lo) + 0.05)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _arm_label(r: dict) -> str:
    if r["arm"] == "grid":
        return f"w={r['warmup_steps']}"
    if r["arm"] == "fstar":
        return f"f*={r['target_loss']:g}"
    return r["arm"]


def _plot_curves(results: list[dict], key: str, ylabel: str, path: Path, smooth: int) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    by_opt: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r["seed"] == min(x["seed"] for x in results):
            by_opt[r["optimizer"]].append(r)
    n = len(by_opt)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    for ax, (opt, rs) in zip(axes[0], sorted(by_opt.items())):
        for r in sorted(rs, key=lambda r: (r["arm"] != "grid", r.get("warmup_steps") or 0)):
            y = r[key]
            if smooth > 1 and len(y) >= smooth:
                y = [sum(y[i : i + smooth]) / smooth for i in range(len(y) - smooth + 1)]
            style = "-" if r["arm"] == "grid" else "--"
            ax.plot(r["steps"][: len(y)], y, style, lw=1.1, label=_arm_label(r))
        ax.set_title(f"{opt} (seed {rs[0]['seed']})")
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if key == "train_loss":
            ax.set_ylim(top=min(4.0, ax.get_ylim()[1]))
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _fstar_rows(results: list[dict]) -> dict[tuple[str, float], list[dict]]:
    """The f* sweep's runs grouped by (optimizer, f*)."""
    rows: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for r in results:
        if r["arm"] == "fstar":
            rows[(r["optimizer"], float(r["target_loss"]))].append(r)
    return rows


def _fstar_table(rows: dict[tuple[str, float], list[dict]]) -> list[str]:
    if not rows:
        return []
    lines = [
        "## f* robustness",
        "",
        "| optimizer | f* | final val loss | chosen warm-up (steps) |",
        "|---|---|---|---|",
    ]
    for (opt, f), rs in sorted(rows.items()):
        ends = ", ".join(
            "never" if r.get("warmup_end_step") is None else str(r["warmup_end_step"]) for r in rs
        )
        loss = summarize([r["final_val_loss"] for r in rs])
        lines.append(f"| {opt} | {f:g} | {loss} | {ends} |")
    return [*lines, ""]


def _plot_fstar(fstar_rows: dict[tuple[str, float], list[dict]], path: Path) -> bool:
    """Final loss against f* for each optimizer of an f* sweep, warm-up ends annotated."""
    by_opt: dict[str, dict[float, list[dict]]] = defaultdict(dict)
    for (opt, f), rs in fstar_rows.items():
        by_opt[opt][f] = rs
    if not by_opt:
        return False
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(by_opt), figsize=(4.6 * len(by_opt), 3.4), squeeze=False)
    for ax, (opt, rows) in zip(axes[0], sorted(by_opt.items())):
        fs = sorted(rows)
        stats = [summarize([r["final_val_loss"] for r in rows[f]]) for f in fs]
        ax.errorbar(fs, [x.mean for x in stats], yerr=[x.std for x in stats], fmt="o-", capsize=3)
        for f, x in zip(fs, stats):
            ends = [r.get("warmup_end_step") for r in rows[f]]
            done = [e for e in ends if e is not None]
            label = str(round(sum(done) / len(done))) if done else "never"
            if done and len(done) < len(ends):
                label += f" ({len(ends) - len(done)} never)"
            ax.annotate(label, (f, x.mean), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=7)  # fmt: skip
        ax.set_title(f"{opt}: f* sweep (labels: warm-up end)")
        ax.set_xlabel("f* (target_loss)")
        ax.set_ylabel("final val loss")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def report(root: str | Path, *, plots: bool = True) -> Path:
    """Write ``root/report.md`` (and its PNG plots) from the results in ``root``; return its path."""
    store = ResultStore(root)
    results = store.load(require=RESULT_FIELDS)
    if not results:
        raise ValueError(
            f"no results in {store.results_dir}; run `autowarm bench --out {root}` first"
        )
    by_opt: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r["arm"] != "fstar":  # an f* sweep has its own table
            by_opt[r["optimizer"]].append(r)
    tables = {opt: optimizer_table(rs) for opt, rs in sorted(by_opt.items())}
    fstar = _fstar_rows(results)
    made: list[str] = []
    if plots:
        root = Path(root)
        # a curve needs two grid points or an adaptive arm (a lone point is in the table)
        plotted = {o: t for o, t in tables.items() if len(t["grid"]) >= 2 or t["arms"]}
        if plotted:
            _plot_losses_vs_warmup(plotted, results, root / "final_loss_vs_warmup.png")
            made.append(str(root / "final_loss_vs_warmup.png"))
        _plot_curves(
            results, "train_loss", "train loss (25-step mean)", root / "loss_curves.png", 25
        )
        _plot_curves(results, "lr_multiplier", "LR / peak LR", root / "lr_curves.png", 1)
        made += [str(root / "loss_curves.png"), str(root / "lr_curves.png")]
        if _plot_fstar(fstar, root / "fstar_sweep.png"):
            made.append(str(root / "fstar_sweep.png"))
    text = render_markdown(store, tables, made) + "\n".join(_fstar_table(fstar))
    out = Path(root) / "report.md"
    out.write_text(text)
    return out
