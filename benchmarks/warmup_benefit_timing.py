"""When does the loss show which warm-up length wins? A reading of stored grid runs (no training).

A warm-up rule that reads the loss can only choose what the loss already shows. This script asks,
of the stored grids of the LR axis (every warm-up length, several seeds, the validation loss every
100 updates and at the end), at which update the loss ranks the warm-up lengths as the final loss
does. For each (optimizer, LR factor) and each evaluation update ``t`` it reports:

- the warm-up with the lowest mean validation loss at ``t`` (the *leader* at ``t``);
- the **regret** of committing to it: its final loss minus the best final loss of the grid, mean
  over seeds (0 when the leader at ``t`` is the final winner), and its final loss minus the
  median grid point's (the bar of the benchmark's target T1);
- the rank correlation (Spearman, per seed, then the mean) between the loss at ``t`` and the
  final loss across the warm-up lengths.

A loss-driven choice made at update ``t`` is at best as good as this oracle, which sees the whole
curve of every warm-up length at once. It writes ``summary.json`` and ``warmup_benefit_timing.png``
(the regret against ``t``, one panel per optimizer, one line per LR factor).

    python benchmarks/warmup_benefit_timing.py --results benchmarks/results/lr_axis_hold_3seeds
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE / "results" / "warmup_benefit_timing"
DEFAULT_RESULTS = ("lr_axis_hold_3seeds", "lr_axis_muon_normsgd")


def ranks(values: list[float]) -> list[float]:
    """Ranks from 1 (ties share their mean rank).

    >>> ranks([0.3, 0.1, 0.3, 0.2])
    [3.5, 1.0, 3.5, 2.0]
    """
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two equal-length lists (nan when either is constant).

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3], [3, 2, 1])
    (1.0, -1.0)
    """
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two lists of the same length >= 2; got {len(a)} and {len(b)}")
    ra, rb = ranks(list(a)), ranks(list(b))
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    sab = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    saa = sum((x - ma) ** 2 for x in ra)
    sbb = sum((y - mb) ** 2 for y in rb)
    return sab / (saa * sbb) ** 0.5 if saa > 0 and sbb > 0 else float("nan")


def load_grids(dirs: list[Path]) -> dict[tuple[str, float], dict[int, dict[int, dict[int, float]]]]:
    """(optimizer, LR factor) -> warm-up -> seed -> {update: validation loss} (final at the last)."""
    cells: dict = defaultdict(lambda: defaultdict(dict))
    for d in dirs:
        for path in sorted((d / "results").glob("*.json")):
            r = json.loads(path.read_text())
            if not r.get("arm", "").startswith("grid"):
                continue
            curve = {int(t): float(v) for t, v in r["evals"]}
            curve[int(r["steps"] if isinstance(r["steps"], int) else len(r["steps"]))] = float(
                r["final_val_loss"]
            )
            key = (r["optimizer"], float(r.get("lr_factor", 1.0)))
            cells[key][int(r["warmup_steps"])][int(r["seed"])] = curve
    return cells


def timing(grid: dict[int, dict[int, dict[int, float]]]) -> dict | None:
    """The leader, its regret and the rank correlation at every update shared by all runs.

    ``grid``: warm-up -> seed -> {update: loss}; only the seeds every warm-up has count. None when
    fewer than two warm-ups or no shared seed.

    >>> g = {0: {0: {100: 2.0, 600: 1.9}}, 240: {0: {100: 2.5, 600: 1.8}}}
    >>> t = timing(g)
    >>> t["final_best"], t["updates"][100]["leader"], round(t["updates"][100]["regret"], 3)
    (240, 0, 0.1)
    """
    ws = sorted(grid)
    seeds = sorted(set.intersection(*(set(grid[w]) for w in ws))) if ws else []
    if len(ws) < 2 or not seeds:
        return None
    updates = sorted(set.intersection(*(set(grid[w][s]) for w in ws for s in seeds)))
    last = updates[-1]

    def mean(w: int, t: int) -> float:
        return statistics.fmean(grid[w][s][t] for s in seeds)

    best = min(ws, key=lambda w: mean(w, last))
    median = statistics.median(mean(w, last) for w in ws)
    rows = {}
    for t in updates:
        leader = min(ws, key=lambda w: mean(w, t))
        rhos = [spearman([grid[w][s][t] for w in ws], [grid[w][s][last] for w in ws])
                for s in seeds]  # fmt: skip
        rows[t] = {"leader": leader, "regret": mean(leader, last) - mean(best, last),
                   "minus_median": mean(leader, last) - median,
                   "spearman": statistics.fmean(rhos), "means": {w: mean(w, t) for w in ws}}  # fmt: skip
    return {"seeds": seeds, "warmups": ws, "final_best": best, "updates": rows}


def plot(summary: dict, path: Path) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    opts = sorted({c["optimizer"] for c in summary["cells"]})
    fig, axes = plt.subplots(1, len(opts), figsize=(3.6 * len(opts), 3.4), squeeze=False)
    for ax, opt in zip(axes[0], opts, strict=True):
        for c in sorted((c for c in summary["cells"] if c["optimizer"] == opt),
                        key=lambda c: c["lr_factor"]):  # fmt: skip
            ts = sorted(int(t) for t in c["updates"])
            ax.plot(ts, [c["updates"][str(t)]["regret"] for t in ts], "o-", ms=3,
                    label=f"{c['lr_factor']:g}x")  # fmt: skip
        ax.set(title=opt, xlabel="update t the choice is made at")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("final loss of the leader at t\nminus the grid's best (nats)")
    fig.suptitle("Committing to the warm-up that leads at update t (stored grids)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from autowarm.bench.store import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, action="append", default=None,
                    help="a bench output directory with results/*.json (repeatable)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    dirs = args.results or [HERE / "results" / d for d in DEFAULT_RESULTS]
    for d in dirs:
        if not (d / "results").is_dir():
            ap.error(f"--results {d}: no results/ directory there (a bench output directory)")
    cells = []
    for (opt, factor), grid in sorted(load_grids(dirs).items()):
        t = timing(grid)
        if t is None:
            continue
        t["updates"] = {str(k): {**v, "means": {str(w): m for w, m in v["means"].items()}}
                        for k, v in t["updates"].items()}  # fmt: skip
        cells.append({"optimizer": opt, "lr_factor": factor, **t})
    if not cells:
        ap.error("no (optimizer, LR) cell with two or more warm-ups on a shared seed")
    summary = {"date": date.today().isoformat(), "results": [str(d) for d in dirs], "cells": cells}
    write_json_atomic(args.out / "summary.json", summary)
    plot(summary, args.out / "warmup_benefit_timing.png")
    for c in cells:
        ts = sorted(int(t) for t in c["updates"])
        lead = " ".join(f"{t}:w{c['updates'][str(t)]['leader']}" for t in ts)
        reg = " ".join(f"{c['updates'][str(t)]['regret']:+.3f}" for t in ts)
        med = " ".join(f"{c['updates'][str(t)]['minus_median']:+.3f}" for t in ts)
        rho = " ".join(f"{c['updates'][str(t)]['spearman']:+.2f}" for t in ts)
        print(f"{c['optimizer']:8s} {c['lr_factor']:>4g}x  best w={c['final_best']:<4d} "
              f"leader {lead}\n{'':24s}minus best   {reg}\n{'':24s}minus median {med}\n"
              f"{'':24s}Spearman     {rho}")  # fmt: skip


if __name__ == "__main__":
    main()
