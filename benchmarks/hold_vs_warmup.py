"""Is the grid's best warm-up a warm-up, or a later decay? The peak held instead of ramped (a study).

The benchmark's grid arm (1cycle) starts its cosine decay where its warm-up ends, so a longer
warm-up also means a later, shorter decay. On the `cpu` preset AdamW, Lion and normSGD are best
with the longest warm-up (w=240 of 600), and its benefit shows only in the decay
(``benchmarks/warmup_benefit_timing.py``). This script separates the two: the *hold* arm runs the
grid arm of warm-up ``H`` with its ramp replaced by the peak, that is, multiplier 1 for updates
``1..H`` and then exactly the w=H run's decay. If it matches w=H, the benefit came from where the
decay starts. If it matches w=0 (or is worse), it came from the ramp itself. With ``--ramp R``
the run first ramps as the grid's w=R arm does (R updates), then holds the peak up to ``H``: a
short warm-up with the late decay.

Each run is the bench grid arm's config (the `cpu` preset, ``LR_FACTOR`` times the optimizer's
preset LR, one seed) with the multipliers set by a training callback. The script writes
``summary.json`` (per run: the hold arm's final loss beside the stored w=0 and w=H grid runs and
the default ``adaptive-auto`` run of the same seed; per cell: the held run minus each of them,
paired by seed, with the 95% t interval) and ``hold_vs_warmup.png``. A finished run whose config equals the planned one is
reused.

    python benchmarks/hold_vs_warmup.py --runs adamw@1,lion@1 --hold 240 --seeds 0,1,2 --jobs 2
"""

from __future__ import annotations

import argparse
import functools
import json
from datetime import date
from pathlib import Path

from cooldown_probe import GRIDS, parse_ints, stored_run, train_multipliers  # sibling scripts
from lr_response import parse_runs, run_pending

ROOT = Path(__file__).resolve().parent / "results" / "hold_vs_warmup"
MARKER = "hold.json"  # a finished run's record in its run directory
DEFAULT_RUNS = "muon@1,adamw@1,lion@1,normsgd@1,adamw@0.5,lion@0.5"


def hold_multipliers(grid, hold: int, steps: int, ramp=None, ramp_steps: int = 0) -> list[float]:
    """``ramp`` for updates ``1..ramp_steps``, the peak up to update ``hold``, then ``grid``.

    ``grid`` and ``ramp`` are schedules (0-based, as the fixed schedules): the w=hold and the
    w=ramp_steps grid arms.

    >>> hold_multipliers(lambda s: min(1.0, 0.5 * s), 2, 4)
    [1.0, 1.0, 1.0, 1.0]
    >>> hold_multipliers(lambda s: 1.0 - 0.2 * s, 1, 4)
    [1.0, 0.8, 0.6, 0.3999999999999999]
    >>> hold_multipliers(lambda s: 0.5, 3, 5, ramp=lambda s: 0.1 * (s + 1), ramp_steps=2)
    [0.1, 0.2, 1.0, 0.5, 0.5]
    """
    if not 0 <= ramp_steps <= hold:
        raise ValueError(f"the ramp ({ramp_steps} updates) must fit in the hold ({hold})")
    head = [float(ramp(s)) for s in range(ramp_steps)] if ramp_steps else []
    return head + [1.0] * (hold - ramp_steps) + [float(grid(s)) for s in range(hold, steps)]


def plan(args: argparse.Namespace) -> dict[str, tuple]:
    """Run name -> (RunConfig, multipliers, optimizer, factor, hold, seed)."""
    from autowarm.bench.presets import PRESETS
    from autowarm.bench.sweep import plan as bench_plan
    from autowarm.schedules.registry import from_spec
    from autowarm.train import DataConfig

    bench = PRESETS["cpu"]
    data = DataConfig(source=args.data) if args.data != "default" else None
    out = {}
    for opt, factor in args.runs:
        ws = sorted({*args.hold, *([args.ramp] if args.ramp else [])})
        specs = dict(zip(ws, bench_plan(bench, args.out, optimizers=[opt], seeds=1,
                                        warmup_steps=ws, adaptive=False, lr_factors=[factor],
                                        threads=1, steps=args.steps, data=data), strict=True))  # fmt: skip
        ramp = from_spec(specs[args.ramp].config.schedule, specs[args.ramp].config.steps) \
            if args.ramp else None  # fmt: skip
        for h in args.hold:
            cfg = specs[h].config
            grid = from_spec(cfg.schedule, cfg.steps)
            mults = hold_multipliers(grid, h, cfg.steps, ramp, args.ramp)
            for seed in args.seeds:
                name = (f"{opt}-lrx{factor:g}-" + (f"ramp{args.ramp}-" if args.ramp else "")
                        + f"hold{h}-s{seed}")  # fmt: skip
                run = cfg.replace(seed=seed, schedule="constant",
                                  out=str(Path(args.out) / "runs" / name))  # fmt: skip
                out[name] = (run, mults, opt, factor, h, seed)
    return out


def stored(grids: list[Path], opt: str, factor: float, arm: str, seed: int, steps: int):
    """The stored result of ``arm`` (``grid-w0``, ``adaptive-auto``, ...) of ``steps`` updates."""
    r = stored_run(grids, opt, factor, arm, seed)
    return r if r is not None and len(r["lr_multiplier"]) == steps else None  # another length


COMPARED = {"grid_w0": "w=0", "grid_wH": "w=H", "adaptive": "adaptive-auto"}


def paired(runs: dict) -> list[dict]:
    """Per (optimizer, LR factor, hold): the held run minus w=0, w=H and the default, by seed.

    >>> runs = {f"x{s}": {"optimizer": "lion", "lr_factor": 1.0, "hold": 240, "seed": s,
    ...                   "final": 1.6 + 0.01 * s, "grid_w0": 1.65 + 0.01 * s,
    ...                   "grid_wH": None, "adaptive": 1.6 + 0.02 * s} for s in range(3)}
    >>> c = paired(runs)[0]
    >>> c["n"], round(c["minus"]["grid_w0"]["mean"], 3), c["minus"]["grid_w0"]["verdict"]
    (3, -0.05, 'better')
    >>> c["minus"]["grid_wH"] is None, round(c["minus"]["adaptive"]["mean"], 3)
    (True, -0.01)
    """
    from autowarm.bench.stats import paired_difference

    cells: dict = {}
    for r in runs.values():
        cells.setdefault((r["optimizer"], r["lr_factor"], r["hold"]), []).append(r)
    out = []
    for (opt, factor, h), rs in sorted(cells.items()):
        held = {r["seed"]: r["final"] for r in rs}
        minus = {}
        for key in COMPARED:
            other = {r["seed"]: r[key] for r in rs if r[key] is not None}
            if not other:
                minus[key] = None
                continue
            d = paired_difference(held, other)
            minus[key] = {"mean": d.mean, "half_width": d.half_width, "n": d.n,
                          "verdict": d.verdict}  # fmt: skip
        out.append({"optimizer": opt, "lr_factor": factor, "hold": h, "n": len(held),
                    "held_mean": sum(held.values()) / len(held), "minus": minus})  # fmt: skip
    return out


def plot(cells: list[dict], path: Path, title: str) -> None:
    """The held run minus w=0, w=H and the default (mean over seeds, 95% interval), per cell."""
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.5 * len(cells)), 3.8))
    for i, c in enumerate(cells):
        for dx, (key, label), color in zip((-0.25, 0.0, 0.25), COMPARED.items(),
                                           ("tab:blue", "tab:green", "tab:gray"), strict=True):  # fmt: skip
            d = c["minus"][key]
            if d is not None:
                err = d["half_width"] if d["half_width"] == d["half_width"] else 0.0
                ax.bar(i + dx, d["mean"], width=0.25, yerr=err, color=color,
                       label=f"held minus {label}" if i == 0 else None)  # fmt: skip
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(len(cells)),
                  [f"{c['optimizer']} {c['lr_factor']:g}x\nheld to {c['hold']}" for c in cells],
                  fontsize=8)  # fmt: skip
    ax.set_ylabel("final loss difference (nats)")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from autowarm.bench.store import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=DEFAULT_RUNS, help="comma list of OPTIMIZER@LR_FACTOR")
    ap.add_argument("--hold", default="240", help="the decay starts here (the w=H to compare)")
    ap.add_argument("--ramp", type=int, default=0,
                    help="updates of the grid's own warm-up ramp before the hold (default 0)")  # fmt: skip
    ap.add_argument("--steps", type=int, default=None, help="updates per run (default: preset's)")
    ap.add_argument("--data", default="default", help="data source (as `autowarm train --data`)")
    ap.add_argument("--seeds", default="0", help="comma list of seeds (paired by seed)")
    ap.add_argument(
        "--grid",
        type=Path,
        action="append",
        default=None,
        help="a stored bench results directory (repeatable; default: the LR axis)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (1 thread each)")
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    try:
        args.runs = parse_runs(args.runs)
        args.hold = parse_ints(args.hold, "--hold", 1)
        args.seeds = parse_ints(args.seeds, "--seeds", 0)
    except ValueError as e:
        ap.error(str(e))
    if not 0 <= args.ramp <= min(args.hold):
        ap.error(f"--ramp must be between 0 and every --hold; got ramp={args.ramp}")
    if args.steps is not None and args.steps <= max(args.hold):
        ap.error(f"--steps must be above every --hold; got steps={args.steps}, "
                 f"hold={max(args.hold)}")  # fmt: skip
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1; got {args.jobs}")
    grids = args.grid if args.grid is not None else list(GRIDS)
    runs_planned = plan(args)
    run_pending({n: (cfg, mults) for n, (cfg, mults, *_) in runs_planned.items()}, MARKER,
                functools.partial(train_multipliers, marker=MARKER), args.jobs)  # fmt: skip
    runs = {}
    for name, (cfg, mults, opt, factor, h, seed) in runs_planned.items():
        rec = json.loads((Path(cfg.out) / MARKER).read_text())
        # stored runs of the same length only (another --steps is another workload)
        w0, wh, ad = (stored(grids, opt, factor, arm, seed, len(mults))
                      for arm in ("grid-w0", f"grid-w{h}", "adaptive-auto"))  # fmt: skip
        same_decay = None
        if wh is not None:
            same_decay = [float(x) for x in wh["lr_multiplier"][h:]] == mults[h:]
        runs[name] = {"optimizer": opt, "lr_factor": factor, "hold": h, "seed": seed,
                      "ramp": args.ramp, "final": rec["final_val_loss"],
                      **{k: None if r is None else r["final_val_loss"]
                         for k, r in zip(COMPARED, (w0, wh, ad), strict=True)},
                      "same_decay_as_grid_wH": same_decay}  # fmt: skip
    cells = paired(runs)
    summary = {"date": date.today().isoformat(), "data": args.data, "seeds": args.seeds,
               "ramp": args.ramp, "runs": runs, "paired": cells}  # fmt: skip
    write_json_atomic(args.out / "summary.json", summary)
    seeds = ",".join(map(str, args.seeds))
    plot(cells, args.out / "hold_vs_warmup.png", f"Peak held vs ramped, cpu model, seeds {seeds}")
    for name, r in runs.items():
        w0 = "-" if r["grid_w0"] is None else f"{r['grid_w0']:.4f}"
        wh = "-" if r["grid_wH"] is None else f"{r['grid_wH']:.4f}"
        print(f"{name:26s} held {r['final']:.4f}  w=0 {w0}  w={r['hold']} {wh}  "
              f"same decay as w={r['hold']}: {r['same_decay_as_grid_wH']}")  # fmt: skip
    for c in cells:
        diffs = "; ".join(
            f"minus {COMPARED[k]} " + ("-" if d is None else
                                       f"{d['mean']:+.4f} +- {d['half_width']:.4f} ({d['verdict']})")
            for k, d in c["minus"].items())  # fmt: skip
        print(f"{c['optimizer']} {c['lr_factor']:g}x held to {c['hold']}, {c['n']} seed(s): "
              f"{c['held_mean']:.4f}; {diffs}")  # fmt: skip


if __name__ == "__main__":
    main()
