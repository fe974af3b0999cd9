"""Cooldown probes: does a short decay from update ``b`` already rank the warm-up lengths? (a study).

The loss during the warm-up and the stable phase does not rank the warm-up lengths as the final
loss does: on the `cpu` preset Lion's grid run without warm-up is the lowest of the grid up to
update 300 and among the worst at the end (``benchmarks/warmup_benefit_timing.py``). Practitioners
of WSD schedules judge a checkpoint by a short cooldown instead, so this script asks whether a
cooldown taken early would have told the right warm-up length: a selector that forks the run at
update ``b``, cools each branch down and keeps the better one could then replace the grid.

Each probe trains the bench grid arm's config (the `cpu` preset, ``LR_FACTOR`` times the
optimizer's preset LR, one seed, warm-up ``w``) with the grid's own multiplier for updates
``1..b`` and then a linear cooldown from the multiplier of update ``b + 1`` to zero over ``c``
updates (update ``b + k`` runs at ``m (c - k + 1) / c``), and records the final validation loss
after update ``b + c``. The multiplier is set by a training callback on every update (the run's
own schedule is the constant one). The first ``b`` updates are those of the stored grid run: the
script checks that its training losses equal the stored run's, when one is given (``--grid``).

It writes ``summary.json`` (per probe: the cooled loss, its multipliers and the stored grid run's
final loss; per (optimizer, LR, b): the warm-up the cooldown picks and its regret, its stored
final loss minus the best one) and ``cooldown_probe.png``. A finished probe whose config equals the planned one is
reused.

    python benchmarks/cooldown_probe.py --runs adamw@1,muon@1 --warmups 0,240 --branch 150,300
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import time
from datetime import date
from pathlib import Path

from lr_response import parse_runs, run_pending  # the sibling script (on sys.path)

HERE = Path(__file__).resolve().parent
ROOT = HERE / "results" / "cooldown_probe"
MARKER = "probe.json"  # a finished probe's record in its run directory
# Where the stored 3-seed grids of the LR axis are (the parity check and the final ranking).
GRIDS = (HERE / "results" / "lr_axis_hold_3seeds", HERE / "results" / "lr_axis_muon_normsgd")


def parse_ints(text: str, what: str, low: int) -> list[int]:
    """``"0,60,240"`` -> ``[0, 60, 240]`` (distinct, sorted); bad items raise ``ValueError``."""
    out = set()
    for item in (x for x in text.split(",") if x.strip()):
        try:
            n = int(item)
        except ValueError:
            raise ValueError(f"{what}: {item!r} is not an integer") from None
        if n < low:
            raise ValueError(f"{what}: {n} is below {low}")
        out.add(n)
    if not out:
        raise ValueError(f"{what}: no values given")
    return sorted(out)


def probe_multipliers(grid, b: int, c: int) -> list[float]:
    """The multiplier of updates ``1..b+c``: ``grid`` (0-based, as the fixed schedules) up to ``b``,
    then a linear cooldown to zero over ``c`` updates from the multiplier of update ``b + 1``.

    >>> probe_multipliers(lambda s: 0.1 * (s + 1), 2, 4)
    [0.1, 0.2, 0.30000000000000004, 0.22500000000000003, 0.15000000000000002, 0.07500000000000001]
    """
    m = float(grid(b))
    return [float(grid(s)) for s in range(b)] + [m * (c - k) / c for k in range(c)]


class Multipliers:
    """Training callback: every group's LR is its base LR times ``mults[update]``."""

    def __init__(self, mults: list[float]) -> None:
        self.mults = mults

    def before_update(self, ctx) -> None:
        scale = self.mults[ctx.step] / ctx.scheduler.last_multiplier  # the constant schedule: 1
        for group in ctx.optimizer.param_groups:
            group["lr"] *= scale

    def on_step(self, ctx) -> dict:
        return {"probe_mult": self.mults[ctx.step - 1]}


def stored_run(grids: list[Path], opt: str, factor: float, arm: str, seed: int) -> dict | None:
    """The stored result of (optimizer, LR factor, arm, seed), or None.

    ``arm`` as in the bench's run ids: ``grid-w240``, ``adaptive-auto``; the first of ``grids``
    (bench output directories) that holds it wins.
    """
    suffix = "" if factor == 1 else f"-lrx{factor:g}"
    for root in grids:
        path = root / "results" / f"{opt}__{arm}{suffix}__s{seed}.json"
        if path.exists():
            return json.loads(path.read_text())
    return None


def plan(args: argparse.Namespace) -> dict[str, tuple]:
    """Probe name -> (RunConfig, multipliers, optimizer, factor, w, b)."""
    from autowarm.bench.presets import PRESETS
    from autowarm.bench.sweep import plan as bench_plan
    from autowarm.schedules.registry import from_spec
    from autowarm.train import DataConfig

    bench = PRESETS["cpu"]
    data = DataConfig(source=args.data) if args.data != "default" else None
    out = {}
    for opt, factor in args.runs:
        specs = bench_plan(bench, args.out, optimizers=[opt], seeds=1, warmup_steps=args.warmups,
                           adaptive=False, lr_factors=[factor], threads=1, data=data)  # fmt: skip
        for spec, w in zip(specs, args.warmups, strict=True):
            grid = from_spec(spec.config.schedule, spec.config.steps)
            for b in args.branch:
                name = f"{opt}-lrx{factor:g}-w{w}-b{b}"
                cfg = spec.config.replace(seed=args.seed, schedule="constant",
                                          steps=b + args.cooldown, eval_every=b + args.cooldown,
                                          out=str(Path(args.out) / "runs" / name))  # fmt: skip
                out[name] = (cfg, probe_multipliers(grid, b, args.cooldown), opt, factor, w, b)
    return out


def train_multipliers(item, marker: str) -> tuple[str, float]:
    """Train ``(name, cfg, mults)`` with :class:`Multipliers`; write ``marker`` in its directory.

    The marker holds the final validation loss and the multipliers. An unfinished run starts
    again from the first update (the callback's schedule is not checkpointed).
    """
    from autowarm.bench.store import write_json_atomic
    from autowarm.train import train

    name, cfg, mults = item
    shutil.rmtree(cfg.out, ignore_errors=True)
    t0 = time.perf_counter()
    final = train(cfg, callbacks=[Multipliers(mults)], progress=False)
    write_json_atomic(Path(cfg.out) / marker,
                      {"final_val_loss": final["final_val_loss"], "mults": mults})  # fmt: skip
    return name, time.perf_counter() - t0


def train_losses(run_dir: Path) -> list[float]:
    from autowarm import runlog

    return [float(r["train_loss"]) for r in runlog.read_metrics(run_dir / "metrics.jsonl")
            if "train_loss" in r]  # fmt: skip


def choices(runs: dict) -> list[dict]:
    """Per (optimizer, LR factor, b): the warm-up with the lowest cooled loss, and what it costs.

    ``regret`` is the chosen warm-up's stored final loss minus the best stored final loss among
    the probed warm-ups (None without every stored final).

    >>> runs = {"a": {"optimizer": "lion", "lr_factor": 1.0, "b": 150, "w": 0, "cooled_loss": 2.0,
    ...               "grid_final": 1.65},
    ...         "b": {"optimizer": "lion", "lr_factor": 1.0, "b": 150, "w": 240, "cooled_loss": 2.1,
    ...               "grid_final": 1.60}}
    >>> c = choices(runs)[0]
    >>> c["chosen"], c["final_best"], round(c["regret"], 3)
    (0, 240, 0.05)
    """
    cells: dict = {}
    for r in runs.values():
        cells.setdefault((r["optimizer"], r["lr_factor"], r["b"]), []).append(r)
    out = []
    for (opt, factor, b), rs in sorted(cells.items()):
        chosen = min(rs, key=lambda r: r["cooled_loss"])
        finals = [r["grid_final"] for r in rs]
        best = None if None in finals else min(rs, key=lambda r: r["grid_final"])
        out.append({"optimizer": opt, "lr_factor": factor, "b": b, "chosen": chosen["w"],
                    "cooled": {str(r["w"]): r["cooled_loss"] for r in rs},
                    "final_best": None if best is None else best["w"],
                    "regret": None if best is None
                    else chosen["grid_final"] - best["grid_final"]})  # fmt: skip
    return out


def plot(runs: dict, path: Path, title: str) -> None:
    """Cooled loss against the branch update, one line per (optimizer, LR, warm-up)."""
    from autowarm._plot import pyplot

    plt = pyplot()
    cells = sorted({(r["optimizer"], r["lr_factor"]) for r in runs.values()})
    fig, axes = plt.subplots(1, len(cells), figsize=(3.6 * len(cells), 3.6), squeeze=False)
    for ax, (opt, f) in zip(axes[0], cells, strict=True):
        ws = sorted({r["w"] for r in runs.values() if (r["optimizer"], r["lr_factor"]) == (opt, f)})
        for w in ws:
            rs = sorted((r["b"], r["cooled_loss"], r["grid_final"]) for r in runs.values()
                        if (r["optimizer"], r["lr_factor"], r["w"]) == (opt, f, w))  # fmt: skip
            line = ax.plot([b for b, _, _ in rs], [y for _, y, _ in rs], "o-", label=f"w={w}")
            if rs[0][2] is not None:
                ax.axhline(rs[0][2], color=line[0].get_color(), ls=":", lw=1)
        ax.set(title=f"{opt} {f:g}x", xlabel="cooldown from update b")
        ax.legend(fontsize=7, title="dotted: final, 600", title_fontsize=7)
    axes[0][0].set_ylabel("val loss after the cooldown")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from autowarm.bench.store import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="muon@1,adamw@1,lion@1,normsgd@1",
                    help="comma list of OPTIMIZER@LR_FACTOR")  # fmt: skip
    ap.add_argument("--warmups", default="0,60,240", help="grid warm-up lengths (updates)")
    ap.add_argument("--branch", default="150,300", help="updates before the cooldown")
    ap.add_argument("--cooldown", type=int, default=50, help="updates of the cooldown (>= 1)")
    ap.add_argument("--data", default="default", help="data source (as `autowarm train --data`)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--grid",
        type=Path,
        action="append",
        default=None,
        help="a stored bench results directory (repeatable; default: the LR axis)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="probes in parallel (1 thread each)")
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    try:
        args.runs = parse_runs(args.runs)
        args.warmups = parse_ints(args.warmups, "--warmups", 0)
        args.branch = parse_ints(args.branch, "--branch", 1)
    except ValueError as e:
        ap.error(str(e))
    if args.cooldown < 1:
        ap.error(f"--cooldown must be at least 1; got {args.cooldown}")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1; got {args.jobs}")
    grids = args.grid if args.grid is not None else list(GRIDS)
    probes = plan(args)
    run_pending({n: (cfg, mults) for n, (cfg, mults, *_) in probes.items()}, MARKER,
                functools.partial(train_multipliers, marker=MARKER), args.jobs, what="probe")  # fmt: skip
    runs = {}
    for name, (cfg, _, opt, factor, w, b) in probes.items():
        rec = json.loads((Path(cfg.out) / MARKER).read_text())
        stored = stored_run(grids, opt, factor, f"grid-w{w}", args.seed)
        same = None
        if stored is not None:  # the first b updates must be the stored grid run's
            same = train_losses(Path(cfg.out))[:b] == [float(x) for x in stored["train_loss"][:b]]
        runs[name] = {"optimizer": opt, "lr_factor": factor, "w": w, "b": b,
                      "cooldown": args.cooldown, "cooled_loss": rec["final_val_loss"],
                      "grid_final": None if stored is None else stored["final_val_loss"],
                      "matches_grid_run": same, "mults": rec["mults"]}  # fmt: skip
    picks = choices(runs)
    summary = {"date": date.today().isoformat(), "data": args.data, "seed": args.seed,
               "runs": runs, "choices": picks}  # fmt: skip
    write_json_atomic(args.out / "summary.json", summary)
    plot(runs, args.out / "cooldown_probe.png", f"Cooldown probes, cpu model, seed {args.seed}")
    for name, r in runs.items():
        final = "-" if r["grid_final"] is None else f"{r['grid_final']:.4f}"
        print(f"{name:24s} cooled {r['cooled_loss']:.4f}  final at 600 {final}  "
              f"same first b updates as the grid run: {r['matches_grid_run']}")  # fmt: skip
    for c in picks:
        regret = "-" if c["regret"] is None else f"{c['regret']:+.4f}"
        print(f"{c['optimizer']} {c['lr_factor']:g}x b={c['b']}: the cooldown picks "
              f"w={c['chosen']}, the final loss w={c['final_best']}; regret {regret}")  # fmt: skip


if __name__ == "__main__":
    main()
