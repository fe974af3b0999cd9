"""Update sizes over training on the `cpu` model: a warm-up vs no-warm-up pair (and optional extras).

Each arm trains with :class:`autowarm.diagnostics.UpdateSizeLogger` attached (layer means of
``||dW||/||W||``, the angular update and the relative representation change every ``--every``
updates), then the script plots the arms together and writes a summary: the metrics averaged over
the first 10% of training and over the rest, and the final validation loss.

    python benchmarks/probe_update_size.py --steps 300 --every 2 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent / "results" / "probe_update_size"


def arms(steps: int, warmup: int, lionar_lr: float | None) -> dict[str, dict]:
    out = {
        "adamw_warmup": {"optimizer": "adamw", "lr": 3e-3,
                         "schedule": f"warmup_cosine:warmup_steps={warmup}"},
        "adamw_no_warmup": {"optimizer": "adamw", "lr": 3e-3,
                            "schedule": "warmup_cosine:warmup_steps=0"},
    }  # fmt: skip
    if lionar_lr:
        out["lionar_no_warmup"] = {"optimizer": "lionar", "lr": lionar_lr,
                                   "schedule": "warmup_cosine:warmup_steps=0"}  # fmt: skip
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def main() -> None:
    from autowarm.diagnostics.plots import plot_update_sizes
    from autowarm.diagnostics.update_size import UpdateSizeLogger
    from autowarm.train import RunConfig, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=60, help="warm-up updates of the warm-up arm")
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lionar-lr", type=float, default=0.0, help="add a LionAR arm (0: none)")
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    summary: dict = {
        "date": date.today().isoformat(),
        "steps": args.steps,
        "every": args.every,
        "threads": args.threads,
        "arms": {},
    }
    runs = {}
    for label, arm in arms(args.steps, args.warmup, args.lionar_lr).items():
        out = args.out / label
        cfg = RunConfig(model="cpu", steps=args.steps, threads=args.threads, out=str(out),
                        eval_every=0, seed=0, device="cpu", **arm)  # fmt: skip
        log = UpdateSizeLogger(args.every)
        t0 = time.perf_counter()
        res = train(cfg, callbacks=[log], progress=False)
        recs = log.records
        early = [r for r in recs if r["step"] < args.steps // 10]
        late = [r for r in recs if r["step"] >= args.steps // 10]
        row = {**arm, "final_val_loss": res["final_val_loss"], "wall_s": time.perf_counter() - t0}
        for m in ("relative_update", "angular_update", "rrc"):
            row[f"{m}_first10pct"] = _mean([r["mean"][m] for r in early])
            row[f"{m}_rest"] = _mean([r["mean"][m] for r in late])
        summary["arms"][label] = row
        runs[label] = recs
        print(label, json.dumps(row))
    args.out.mkdir(parents=True, exist_ok=True)
    plot_update_sizes(runs, args.out / "update_size.png")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
