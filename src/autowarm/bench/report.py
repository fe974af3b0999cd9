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

With an LR axis (``autowarm bench --lr-factors``) an optimizer run at several peak LRs gets these
tables at each LR, then a section over the LRs: the "tuned over LR" summary (each adaptive arm
at its best LR against the best (LR, warm-up) cell of the grid, paired by seed, with the runs each
answer needed), every arm's LR sensitivity (:func:`autowarm.bench.stats.lr_sensitivity`, with
diverged runs counted at the initial loss ``ln(vocabulary size)``) and the plot of final loss
against peak LR (``final_loss_vs_lr.png``, log x, one line per warm-up length and per arm).

Baseline arms (``autowarm bench --baselines``: Schedule-Free AdamW, Prodigy, D-Adaptation Adam,
RAdam) sit in AdamW's tables like any other arm (paired against the best and median grid points,
and the default adaptive mode minus each of them); a final section lists every arm's optimizer,
peak LR(s), schedule and the hyperparameters its optimizer was built with.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from autowarm.bench.stats import lr_sensitivity, paired_difference, summarize
from autowarm.bench.store import RESULT_FIELDS, ResultStore, machine_label
from autowarm.bench.sweep import FSTAR_MODE

ADAPTIVE_ARMS = (
    "adaptive-faithful",
    "adaptive-paper-ramp",
    "adaptive",
    "adaptive-auto",
    "adaptive-calibrated",
)
# What an f* sweep ran before results recorded the mode (the default mode of then).
_FSTAR_MODE_BEFORE = "adaptive-v1"
# The arm the others are compared with: the default mode with target_loss="auto", else with f* given.
DEFAULT_ARMS = ("adaptive-auto", "adaptive")


def _by_seed(results: list[dict]) -> dict[int, float]:
    return {int(r["seed"]): float(r["final_val_loss"]) for r in results}


def _max_multiplier(result: dict) -> float | None:
    """The highest finite LR multiplier (LR / peak LR) a run used; None without a record."""
    ms = [
        float(m)
        for m in result.get("lr_multiplier") or ()
        if isinstance(m, (int, float)) and math.isfinite(m)
    ]
    return max(ms) if ms else None


def _end_notes(max_multiplier: float | None, backoffs: list) -> str:
    """``" (max x0.54; guard: 13)"``: a peak not reached (to 2 decimals) and guard back-offs."""
    notes = []
    shown = None if max_multiplier is None else f"{max_multiplier:.2f}"
    if shown is not None and shown != "1.00":  # below the peak as printed, not by a threshold
        notes.append(f"max x{shown}")
    if backoffs:
        notes.append(f"guard: {'/'.join(map(str, backoffs))}")
    return f" ({'; '.join(notes)})" if notes else ""


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
            # the updates at which the loss-rise guard backed off, per run (absent: none)
            "backoff_steps": [list(r.get("backoff_steps") or ()) for r in rs],
            # the highest LR multiplier each run used: below 1, the run never reached its peak LR
            "max_multipliers": [_max_multiplier(r) for r in rs],
            "runs": len(rs),
        }
        for ref in ("best", "median"):
            w = out[ref]
            entry[f"vs_{ref}"] = (
                paired_difference(_by_seed(rs), _by_seed(grid[w])) if w is not None else None
            )
        out["arms"][arm] = entry
    # The default mode against every other adaptive mode (e.g. before/after a change), paired.
    default = next((a for a in DEFAULT_ARMS if a in arms), None)
    if default is not None:
        out["default_arm"] = default
        out["default_vs"] = {
            arm: paired_difference(_by_seed(arms[default]), _by_seed(rs))
            for arm, rs in arms.items()
            if arm != default
        }
    out["seeds"] = sorted(seeds)
    return out


def _factor(r: dict) -> float:
    """A result's LR factor (results from before the LR axis are at factor 1)."""
    return float(r.get("lr_factor") or 1.0)


def _by_factor(results: list[dict]) -> dict[float, list[dict]]:
    """Results grouped by LR factor (results from before the LR axis are at factor 1)."""
    out: dict[float, list[dict]] = defaultdict(list)
    for r in results:
        out[_factor(r)].append(r)
    return dict(sorted(out.items()))


def _lr_label(results: list[dict], factor: float) -> str:
    """``0.003 (x1)``: the peak LR of a group of results and its factor."""
    cfg = results[0].get("config")
    lr = cfg.get("lr") if isinstance(cfg, dict) else None
    return f"{lr:g} (x{factor:g})" if isinstance(lr, (int, float)) else f"x{factor:g}"


def initial_loss(result: dict) -> float:
    """``ln(vocabulary size)``: the loss of a freshly initialised model (uniform prediction).

    The vocabulary is the model's (the tokenizer's, padded to a multiple of 64), as recorded in
    the result; for results that do not record it, inferred from the tokenizer (bytes 256, GPT-2
    50304, BPE its ``vocab_size`` padded to 64).

    >>> round(initial_loss({"vocab_size": 256}), 4), round(initial_loss({}), 4)
    (5.5452, 5.5452)
    """
    vocab = result.get("vocab_size")
    if not isinstance(vocab, int) or vocab < 2:
        cfg = result.get("config") if isinstance(result.get("config"), dict) else {}
        data = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
        tok = data.get("tokenizer", "byte")
        if tok == "gpt2":
            vocab = 50304
        elif tok == "bpe":
            v = int(data.get("vocab_size", 4096))
            vocab = v if v % 64 == 0 else v + 64 - v % 64
        else:
            vocab = 256
    return math.log(vocab)


def _arm_key(r: dict) -> str:
    """The arm a result belongs to across LRs: ``grid w=30`` or the arm's name."""
    return f"grid w={int(r['warmup_steps'])}" if r["arm"] == "grid" else r["arm"]


def lr_table(results: list[dict]) -> dict:
    """One optimizer's results over several peak LRs: cells, tuned-over-LR bests, sensitivities.

    Returns a dict with ``lrs`` (factor -> peak LR), ``cells`` (arm key -> factor -> loss
    summary), ``best_grid`` (the best (factor, warm-up) cell, with its loss and run count),
    ``tuned`` (each non-grid arm at its best LR: factor, loss, runs and the paired difference
    to the best grid cell), ``sensitivity`` (arm key -> LR sensitivity) and ``initial_loss``.
    """
    groups: dict[str, dict[float, list[dict]]] = defaultdict(lambda: defaultdict(list))
    lrs: dict[float, float] = {}
    for r in results:
        factor = _factor(r)
        groups[_arm_key(r)][factor].append(r)
        cfg = r.get("config")
        if isinstance(cfg, dict) and isinstance(cfg.get("lr"), (int, float)):
            lrs.setdefault(factor, float(cfg["lr"]))
    l0 = initial_loss(results[0])
    cells = {
        arm: {f: summarize([r["final_val_loss"] for r in rs]) for f, rs in sorted(by_f.items())}
        for arm, by_f in sorted(groups.items())
    }

    def best_of(arm: str) -> float | None:
        finite = [f for f, s in cells[arm].items() if math.isfinite(s.mean)]
        return min(finite, key=lambda f: cells[arm][f].mean) if finite else None

    grid_arms = [a for a in cells if a.startswith("grid w=")]
    best_grid = None
    candidates = [(a, best_of(a)) for a in grid_arms if best_of(a) is not None]
    if candidates:
        arm, f = min(candidates, key=lambda af: cells[af[0]][af[1]].mean)
        best_grid = {
            "arm": arm,
            "factor": f,
            "loss": cells[arm][f],
            "runs": sum(len(rs) for a in grid_arms for rs in groups[a].values()),
        }
    tuned = {}
    for arm in cells:
        if arm in grid_arms:
            continue
        f = best_of(arm)
        entry = {
            "factor": f,
            "loss": cells[arm][f] if f is not None else summarize([]),
            "runs": sum(len(rs) for rs in groups[arm].values()),
            "vs_best_grid": None,
        }
        if f is not None and best_grid is not None:
            entry["vs_best_grid"] = paired_difference(
                _by_seed(groups[arm][f]), _by_seed(groups[best_grid["arm"]][best_grid["factor"]])
            )
        tuned[arm] = entry
    sensitivity = {
        arm: lr_sensitivity({f: [r["final_val_loss"] for r in rs] for f, rs in by_f.items()}, l0)
        for arm, by_f in groups.items()
        if len(by_f) > 1
    }
    return {
        "lrs": dict(sorted(lrs.items())),
        "cells": cells,
        "best_grid": best_grid,
        "tuned": tuned,
        "sensitivity": dict(sorted(sensitivity.items())),
        "initial_loss": l0,
    }


def _lr_section(opt: str, lt: dict) -> list[str]:
    """Markdown of one optimizer's results over peak LRs."""

    def lr_name(f: float | None) -> str:
        if f is None:
            return "–"
        return f"{lt['lrs'][f]:g} (x{f:g})" if f in lt["lrs"] else f"x{f:g}"

    factors = sorted({f for by_f in lt["cells"].values() for f in by_f})
    lines = [
        f"## {opt} over peak learning rates",
        "",
        "Final val loss (mean ± std over seeds) of each arm at each peak LR:",
        "",
        "| arm | " + " | ".join(lr_name(f) for f in factors) + " |",
        "|---|" + "---|" * len(factors),
    ]
    for arm, by_f in lt["cells"].items():
        row = [str(by_f[f]) if f in by_f and by_f[f].n else ("diverged" if f in by_f else "–")
               for f in factors]  # fmt: skip
        lines.append(f"| {arm} | " + " | ".join(row) + " |")
    lines += [
        "",
        "Tuned over LR: each arm at its best peak LR against the best (LR, warm-up) cell of the "
        "grid, paired by seed; runs = the training runs the answer needed (every LR it was run "
        "at, times its seeds).",
        "",
        "| arm | best peak LR | final val loss | vs best grid cell | runs |",
        "|---|---|---|---|---|",
    ]
    bg = lt["best_grid"]
    if bg is not None:
        lines.append(
            f"| grid best ({bg['arm'].removeprefix('grid ')}) | {lr_name(bg['factor'])} | "
            f"{bg['loss']} | – | {bg['runs']} |"
        )
    for arm, e in lt["tuned"].items():
        lines.append(
            f"| {arm} | {lr_name(e['factor'])} | {e['loss']} | {_fmt_diff(e['vs_best_grid'])} | "
            f"{e['runs']} |"
        )
    if lt["sensitivity"]:
        lines += [
            "",
            "LR sensitivity (Wortsman et al. 2023): over the LRs an arm was run at, the mean of "
            "(final loss at that LR - the arm's best final loss), each seed's loss capped at the "
            f"initial loss ln(vocabulary size) = {lt['initial_loss']:.4f}, which is also what a "
            "diverged (non-finite) run counts as. Lower is safer.",
            "",
            "| arm | LR sensitivity | LRs |",
            "|---|---|---|",
        ]
        for arm, value in sorted(lt["sensitivity"].items(), key=lambda kv: kv[1]):
            n = len(lt["cells"][arm])
            lines.append(f"| {arm} | {value:.4f} | {n} |")
    return [*lines, ""]


def _plot_losses_vs_lr(lr_tables: dict[str, dict], path: Path) -> None:
    """Final loss against peak LR (log x): one line per warm-up length and per other arm.

    Each arm keeps its colour in every panel (the grid in a sequential map by warm-up length,
    the other arms in distinct colours); the x ticks are the LRs run, labelled with their factor
    of the preset LR; the initial loss is drawn (and the y range reaches it) only in a panel where
    a run diverged, so that the differences between arms stay readable.
    """
    from autowarm._plot import pyplot

    plt = pyplot()
    arms = sorted({a for lt in lr_tables.values() for a in lt["cells"]}, key=_arm_order)
    grid = [a for a in arms if a.startswith("grid")]
    other = [a for a in arms if not a.startswith("grid")]
    colours = {a: plt.cm.viridis(0.9 * k / max(1, len(grid) - 1)) for k, a in enumerate(grid)}
    colours.update({a: plt.cm.tab10(1 + k % 9) for k, a in enumerate(other)})
    n = len(lr_tables)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.6), squeeze=False)
    for ax, (opt, lt) in zip(axes[0], lr_tables.items()):
        l0 = lt["initial_loss"]
        diverged = False
        for arm in sorted(lt["cells"], key=_arm_order):
            by_f = lt["cells"][arm]
            fs = sorted(f for f in by_f if f in lt["lrs"])
            if not fs:
                continue
            xs = [lt["lrs"][f] for f in fs]
            ys = [by_f[f].mean if by_f[f].n else l0 for f in fs]  # diverged: at L0
            diverged = diverged or any(not by_f[f].n for f in fs)
            style = "o-" if arm.startswith("grid") else "s--"
            ax.plot(xs, ys, style, lw=1.2, ms=4, label=arm, color=colours[arm])
        title = opt
        if diverged:
            ax.axhline(l0, color="grey", lw=0.8, ls=":")
            title += " (dotted: initial loss; diverged runs plotted there)"
        ax.set_xscale("log")
        ticks = sorted(lt["lrs"].items(), key=lambda kv: kv[1])
        ax.set_xticks([lr for _, lr in ticks])
        ax.set_xticklabels([f"{lr:.2g}\n{f:g}x" for f, lr in ticks], fontsize=7)
        ax.minorticks_off()
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("peak LR (factor of the preset LR)", fontsize=8)
        ax.set_ylabel("final val loss")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _arm_order(arm: str) -> tuple:
    """Grid arms by warm-up length first, then the other arms by name."""
    if arm.startswith("grid w="):
        return (0, int(arm[len("grid w=") :]), arm)
    return (1, 0, arm)


def arm_settings(results: list[dict]) -> list[dict]:
    """What each arm ran: optimizer, peak LR(s), schedule and hyperparameters, one row per arm.

    The hyperparameters are those the optimizer was built with (recorded by the runner from
    ``optimizer.defaults``), or, for results that do not record them, the bench's optimizer
    arguments. Grid arms share one row (their schedules differ only in the warm-up length).
    Only arms whose runs record their config are listed.
    """
    rows: dict[tuple[str, str], dict] = {}
    for r in results:
        cfg = r.get("config")
        if not isinstance(cfg, dict):
            continue
        key = (r["optimizer"], r["arm"])
        row = rows.setdefault(
            key,
            {
                "table": r["optimizer"],
                "arm": r["arm"],
                "optimizer": cfg.get("optimizer", r["optimizer"]),
                "lrs": set(),
                "schedule": cfg.get("schedule", ""),
                "hparams": r.get("optimizer_hparams") or cfg.get("optimizer_args") or {},
            },
        )
        if isinstance(cfg.get("lr"), (int, float)):
            row["lrs"].add(float(cfg["lr"]))
        if r["arm"] == "grid":
            row["schedule"] = re.sub(r"warmup_steps=\d+", "warmup_steps=W", row["schedule"])
    return [rows[k] for k in sorted(rows)]


def _settings_section(settings: list[dict]) -> list[str]:
    if not settings:
        return []
    lines = [
        "## Arms and their hyperparameters",
        "",
        "| table | arm | optimizer | peak LR | schedule | optimizer hyperparameters |",
        "|---|---|---|---|---|---|",
    ]
    for row in settings:
        lrs = ", ".join(f"{x:g}" for x in sorted(row["lrs"])) or "–"
        hp = ", ".join(f"{k}={v}" for k, v in sorted(row["hparams"].items())) or "–"
        lines.append(
            f"| {row['table']} | {row['arm']} | {row['optimizer']} | {lrs} | "
            f"`{row['schedule']}` | {hp} |"
        )
    return [*lines, ""]


def _fmt_diff(d) -> str:
    if d is None or d.n == 0:
        return "–"
    if d.n < 2:
        return f"{d.mean:+.4f} (1 seed)"
    return f"{d.mean:+.4f} ± {d.half_width:.4f} ({d.verdict})"


def machine_lines(results: list[dict]) -> list[str]:
    """The report's line on the machines its runs were computed on (with a caveat when several).

    >>> a = {"cpu": "Xeon", "cpu_capability": "AVX512", "torch": "2.13.0"}
    >>> machine_lines([{"machine": a}, {"machine": a}])
    ['Runs computed on Xeon, AVX512, torch 2.13.0 (2 runs).', '']
    >>> len(machine_lines([{"machine": a}, {}]))
    3
    """
    counts = Counter(machine_label(r.get("machine")) for r in results)
    if not counts:
        return []
    named = "; ".join(f"{m} ({n} run{'s' if n != 1 else ''})" for m, n in counts.most_common())
    if len(counts) == 1:
        return [f"Runs computed on {named}.", ""]
    return [
        f"Runs computed on {len(counts)} machines: {named}.",
        "Runs of one config and seed can differ between machines from the first updates (Lion's "
        "did on the CPU benchmark), so a pair from two machines is two draws, not one change.",
        "",
    ]


def render_markdown(
    store: ResultStore,
    tables: dict[str, dict],
    plots: list[str],
    lr_tables: dict[str, dict] | None = None,
    settings: list[dict] | None = None,
    results: list[dict] | None = None,
) -> str:
    """The report's markdown text (``lr_tables``: :func:`lr_table` of optimizers with an LR axis;
    ``results``: the runs, for the machines line; read from ``store`` when None)."""
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
    lines += machine_lines(store.load(require=RESULT_FIELDS) if results is None else results)
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
            "| arm | final val loss | chosen warm-up (steps; highest LR, if below the peak; "
            "guard back-offs) | vs best grid "
            "| vs median grid | runs |",
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
            if arm.startswith("adaptive") or arm == "fstar":
                ends = ", ".join(
                    ("never" if x is None else str(x)) + _end_notes(m, b)
                    for x, m, b in zip(
                        e["warmup_end_steps"], e["max_multipliers"], e["backoff_steps"]
                    )
                )
            else:  # a baseline has no loss-chosen warm-up
                ends = "–"
            lines.append(
                f"| {arm} | {e['loss']} | {ends} | {_fmt_diff(e['vs_best'])} | "
                f"{_fmt_diff(e['vs_median'])} | {e['runs']} |"
            )
        vs = t.get("default_vs") or {}
        modes = {a: d for a, d in vs.items() if a.startswith("adaptive")}
        others = {a: d for a, d in vs.items() if a not in modes}
        for diffs, what in ((modes, "each other adaptive arm"), (others, "each baseline")):
            if diffs:
                lines += [
                    "",
                    f"The default mode (`{t['default_arm']}`) minus {what}, paired by seed: "
                    + "; ".join(f"{arm} {_fmt_diff(d)}" for arm, d in sorted(diffs.items()))
                    + ".",
                ]
        lines.append("")
    for opt, lt in (lr_tables or {}).items():
        lines += _lr_section(opt, lt)
    lines += _settings_section(settings or [])
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
        "adaptive-auto": "tab:gray",
        "adaptive-faithful": "tab:green",
        "adaptive-calibrated": "tab:orange",
        "adaptive-paper-ramp": "tab:brown",
        "schedulefree-adamw": "tab:purple",
        "prodigy": "tab:pink",
        "dadapt-adam": "tab:olive",
        "radam": "tab:cyan",
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
        label = f"w={r['warmup_steps']}"
    elif r["arm"] == "fstar":
        label = f"f*={r['target_loss']:g}"
        mode = r.get("fstar_mode") or _FSTAR_MODE_BEFORE
        if mode != FSTAR_MODE:
            label += f" ({mode})"
    else:
        label = r["arm"]
    factor = _factor(r)
    return label if factor == 1.0 else f"{label} lr x{factor:g}"


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


# An f* sweep's curve: (optimizer, adaptive mode, LR factor); its points are keyed by f*.
_SweepKey = tuple[str, str, float]


def _fstar_rows(results: list[dict]) -> dict[_SweepKey, dict[float, list[dict]]]:
    """The f* sweep's runs grouped by (optimizer, mode, LR factor), then by f*.

    Results written before a sweep could run another mode lack ``fstar_mode``: they ran the
    default mode of their day, whose rules are now the mode ``adaptive-v1``.
    """
    rows: dict[_SweepKey, dict[float, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r["arm"] == "fstar":
            key = (r["optimizer"], r.get("fstar_mode") or _FSTAR_MODE_BEFORE, _factor(r))
            rows[key][float(r["target_loss"])].append(r)
    return rows


# The keys by which an adaptive-auto run's schedule may differ from a swept one of the same rules.
_FSTAR_KEYS = ("target_loss", "fstar_rule")


def _rules(result: dict) -> dict | None:
    """A run's adaptive schedule options without its f* (what an f* sweep holds fixed).

    None for a result that does not record its schedule (it is then compared with nothing).
    """
    from autowarm.adaptive.config import parse_spec

    spec = (result.get("config") or {}).get("schedule")
    if not isinstance(spec, str):
        return None
    return {k: v for k, v in parse_spec(spec).items() if k not in _FSTAR_KEYS}


def _auto_vs_sweep(
    rows: dict[_SweepKey, dict[float, list[dict]]], results: list[dict]
) -> list[str]:
    """``adaptive-auto`` minus the best swept f* of the same rules, paired by seed (target T3).

    A sweep counts only where its runs have the rules of the ``adaptive-auto`` runs at that
    (optimizer, LR factor) apart from f*: a sweep of another mode answers another question.
    """
    auto: dict[tuple[str, float], list[dict]] = defaultdict(list)
    for r in results:
        if r["arm"].split("-lrx")[0] == "adaptive-auto":
            auto[(r["optimizer"], _factor(r))].append(r)
    lines = []
    for (opt, mode, factor), points in sorted(rows.items()):
        runs = auto.get((opt, factor), [])
        rules = _rules(runs[0]) if runs else None
        if rules is None or any(_rules(r) != rules for r in runs):
            continue
        same = {f: rs for f, rs in points.items() if all(_rules(r) == rules for r in rs)}
        if not same:
            continue
        best = min(same, key=lambda f: summarize([r["final_val_loss"] for r in same[f]]).mean)
        d = paired_difference(_by_seed(runs), _by_seed(same[best]))
        loss = summarize([r["final_val_loss"] for r in runs])
        lr = _lr_label(runs, factor)
        lines.append(f"| {opt} | {mode} | {lr} | {loss} | {best:g} | {_fmt_diff(d)} |")
    if not lines:
        return []
    return [
        "`adaptive-auto` (f* without input) against the same rules at the best swept f*, paired "
        "by seed:",
        "",
        "| optimizer | swept mode | peak LR | adaptive-auto | best swept f* | auto minus best |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
    ]


def _fstar_table(
    rows: dict[_SweepKey, dict[float, list[dict]]], results: list[dict] | None = None
) -> list[str]:
    if not rows:
        return []
    lines = [
        "## f* robustness",
        "",
        "| optimizer | mode | peak LR | f* | final val loss | chosen warm-up (steps) |",
        "|---|---|---|---|---|---|",
    ]
    for (opt, mode, factor), points in sorted(rows.items()):
        for f, rs in sorted(points.items()):
            ends = ", ".join(
                "never" if r.get("warmup_end_step") is None else str(r["warmup_end_step"])
                for r in rs
            )
            loss = summarize([r["final_val_loss"] for r in rs])
            lr = _lr_label(rs, factor)
            lines.append(f"| {opt} | {mode} | {lr} | {f:g} | {loss} | {ends} |")
    return [*lines, "", *_auto_vs_sweep(rows, results or [])]


def _plot_fstar(fstar_rows: dict[_SweepKey, dict[float, list[dict]]], path: Path) -> bool:
    """Final loss against f*, one panel per optimizer and one line per (mode, peak LR)."""
    by_opt: dict[str, dict[tuple[str, float], dict[float, list[dict]]]] = defaultdict(dict)
    for (opt, mode, factor), points in fstar_rows.items():
        by_opt[opt][(mode, factor)] = points
    if not by_opt:
        return False
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(by_opt), figsize=(4.6 * len(by_opt), 3.4), squeeze=False)
    for ax, (opt, curves) in zip(axes[0], sorted(by_opt.items())):
        for (mode, factor), rows in sorted(curves.items()):
            fs = sorted(rows)
            stats = [summarize([r["final_val_loss"] for r in rows[f]]) for f in fs]
            label = (mode if mode != FSTAR_MODE else "default mode") + (
                "" if factor == 1.0 else f", lr x{factor:g}"
            )
            ax.errorbar(fs, [x.mean for x in stats], yerr=[x.std for x in stats], fmt="o-",
                        capsize=3, label=label)  # fmt: skip
            for f, x in zip(fs, stats):
                ends = [r.get("warmup_end_step") for r in rows[f]]
                done = [e for e in ends if e is not None]
                text = str(round(sum(done) / len(done))) if done else "never"
                if done and len(done) < len(ends):
                    text += f" ({len(ends) - len(done)} never)"
                ax.annotate(text, (f, x.mean), textcoords="offset points", xytext=(0, 7),
                            ha="center", fontsize=7)  # fmt: skip
        if len(curves) > 1:
            ax.legend(fontsize=7)
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
    tables: dict[str, dict] = {}
    lr_tables: dict[str, dict] = {}
    for opt, rs in sorted(by_opt.items()):
        by_factor = _by_factor(rs)
        if len(by_factor) == 1:
            tables[opt] = optimizer_table(rs)
            continue
        for factor, frs in by_factor.items():
            tables[f"{opt} at peak LR {_lr_label(frs, factor)}"] = optimizer_table(frs)
        lr_tables[opt] = lr_table(rs)
    fstar = _fstar_rows(results)
    made: list[str] = []
    if plots:
        root = Path(root)
        if lr_tables:
            _plot_losses_vs_lr(lr_tables, root / "final_loss_vs_lr.png")
            made.append(str(root / "final_loss_vs_lr.png"))
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
    settings = arm_settings([r for r in results if r["arm"] != "fstar"])
    text = render_markdown(store, tables, made, lr_tables, settings, results)
    text += "\n".join(_fstar_table(fstar, results))
    out = Path(root) / "report.md"
    out.write_text(text)
    return out
