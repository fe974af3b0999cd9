"""Where does warm-up matter on the `cpu` model? Final loss with and without warm-up per peak LR.

Calibrates the `cpu` bench preset: for each optimizer and peak LR, two runs of the bench's
workload (same model, data, batch, clip, weight decay) with the grid's schedule, warm-up 0 and
warm-up 10% of the run. Writes a results directory readable by `autowarm report` and a JSON
summary.

    python benchmarks/cpu_lr_scan.py --out runs/lr-scan --steps 300 \
        --scan muon=1e-2,3e-2,1e-1 lion=1e-3,3e-3,1e-2 normsgd=0.1,0.3,1 adamw=3e-3,1e-2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from autowarm.bench import ResultStore, preset
from autowarm.bench.runner import run_all
from autowarm.bench.sweep import RunSpec, grid_schedule
from autowarm.train import RunConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup-frac", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scan", nargs="+", required=True, help="name=lr1,lr2,...")
    args = ap.parse_args()
    bench = preset("cpu")
    specs = []
    for item in args.scan:
        name, _, lrs = item.partition("=")
        setup = bench.optimizers[name]
        for lr in (float(x) for x in lrs.split(",")):
            for w in (0, round(args.warmup_frac * args.steps)):
                tag = f"{name}-lr{lr:g}"
                spec = RunSpec(tag, "grid", args.seed, w, None, None)
                cfg = RunConfig(
                    model=bench.model,
                    optimizer=name,
                    lr=lr,
                    optimizer_args={"weight_decay": bench.weight_decay, **setup.hparams},
                    schedule=grid_schedule(w, setup, bench.final_div_factor),
                    steps=args.steps,
                    batch_size=bench.batch_size,
                    grad_clip=bench.grad_clip,
                    seed=args.seed,
                    eval_every=args.steps,
                    eval_batches=bench.eval_batches,
                    checkpoint_every=args.steps,
                    threads=1,
                    out=str(Path(args.out) / "runs" / spec.run_id),
                )
                specs.append(dataclasses.replace(spec, config=cfg))
    store = ResultStore(args.out)
    run_all(specs, store, jobs=args.jobs)
    rows = {}
    for r in store.load():
        rows.setdefault(r["optimizer"], {})[r["warmup_steps"]] = r["final_val_loss"]
    for tag, by_w in sorted(rows.items()):
        print(tag, {w: round(v, 4) for w, v in sorted(by_w.items())})
    (Path(args.out) / "lr_scan.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
