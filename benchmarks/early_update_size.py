"""The first updates' size at the full LR, per optimizer and peak LR: can it tell warm-up needs apart?

On the `cpu` preset Muon's best warm-up at its preset LR is none, while AdamW, Lion and normSGD
want the longest. This script asks whether the size of the first updates, which Kosson et al.
(2024) tie to the need for warm-up, separates them. Each run is the bench grid arm's config (the
`cpu` preset, ``LR_FACTOR`` times the optimizer's preset LR, no warm-up: a constant LR) for
``--steps`` updates with :class:`autowarm.diagnostics.UpdateSizeLogger` on every update, and the
script writes ``summary.json``: per run, the layer means of the relative update ``||dW||/||W||``
and of the relative representation change ``||dW X||/||W X||`` (RRC) at every update.

    python benchmarks/early_update_size.py --runs adamw@1,muon@1,lion@1,normsgd@1 --steps 30
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from lr_response import parse_runs, plan  # the sibling script (on sys.path): the same run configs

ROOT = Path(__file__).resolve().parent / "results" / "early_update_size"
DEFAULT_RUNS = "adamw@1,muon@1,lion@1,normsgd@1,muon@0.5,muon@4,adamw@4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=DEFAULT_RUNS, help="comma list of OPTIMIZER@LR_FACTOR")
    ap.add_argument("--steps", type=int, default=30, help="updates per run (>= 1)")
    ap.add_argument("--data", default="default", help="data source (as `autowarm train --data`)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    try:
        args.runs = parse_runs(args.runs)
    except ValueError as e:
        ap.error(f"--runs: {e}")
    if args.steps < 1:
        ap.error(f"--steps must be at least 1; got {args.steps}")

    from autowarm.bench.store import write_json_atomic
    from autowarm.diagnostics.update_size import UpdateSizeLogger
    from autowarm.train import train

    summary: dict = {"date": date.today().isoformat(), "steps": args.steps, "seed": args.seed,
                     "data": args.data, "runs": {}}  # fmt: skip
    for name, cfg in plan(args).items():
        cfg = cfg.replace(final_eval=False)
        log = UpdateSizeLogger(every=1, path=None)
        t0 = time.perf_counter()
        train(cfg, callbacks=[log], progress=False)
        rel = [r["mean"]["relative_update"] for r in log.records]
        rrc = [r["mean"]["rrc"] for r in log.records]
        summary["runs"][name] = {"lr": cfg.lr, "relative_update": rel, "rrc": rrc,
                                 "wall_s": round(time.perf_counter() - t0, 1)}  # fmt: skip
        marks = sorted({0, *range(9, len(rel), 10)})
        print(f"{name:14s} update " + " ".join(f"{i + 1:>5d}" for i in marks), flush=True)
        print(f"{'':14s} rel    " + " ".join(f"{rel[i]:5.3f}" for i in marks))
        print(f"{'':14s} RRC    " + " ".join(f"{rrc[i]:5.3f}" for i in marks))
    write_json_atomic(args.out / "summary.json", summary)


if __name__ == "__main__":
    main()
