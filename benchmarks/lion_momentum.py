"""Lion's slow momentum and warm-up: why a warm-up from lr/100 costs Lion on the `cpu` model.

On the `cpu` bench preset every fixed warm-up of Lion (betas 0.9, 0.99) from ``lr/100`` ends
0.35-0.45 nats above no warm-up, whatever its length (30 to 240 updates). This script measures
where that cost comes from. It trains Lion with the preset's config (the grid arm's schedule, at
``--lr-factor`` times the preset LR, one seed) in these arms:

- ``w0``: no warm-up; ``w30``: the grid's 30-update cosine warm-up from ``lr/100``;
- ``w30-div10``, ``w30-div3``: the same warm-up from ``lr/10`` and ``lr/3``;
- ``b09-w0``, ``b09-w30``: ``w0`` and ``w30`` with Lion's momentum memory ``beta2 = 0.9``
  instead of 0.99 (a memory of about 10 updates instead of 100).

Every 10 updates each run logs the Frobenius norm of its weights by kind (attention, MLP,
embedding, norm gains) and the layer-mean update sizes of
:class:`autowarm.diagnostics.UpdateSizeLogger`. The script writes ``summary.json`` (final
validation loss; attention and MLP weight norms at the middle and the end; the mean angular
update after the first sixth of the run, update 100 of 600) and ``lion_momentum.png`` (loss,
weight norm and angular update against the update, one line per arm). A finished run whose
config equals the planned one is reused, so an interrupted invocation continues where it stopped.

    python benchmarks/lion_momentum.py --lr-factor 0.5 --jobs 2
    python benchmarks/lion_momentum.py --data shakespeare+kjv+bbcnews --arms w0,w30,b09-w0,b09-w30 \
        --out benchmarks/results/lion_momentum_bbcnews --jobs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "results" / "lion_momentum"
EVERY = 10  # updates between two probes (weight norms and update sizes)
# arm -> (warm-up updates, div_factor, beta2 or None for the preset's); the div_factor is given
# explicitly, so the arms do not change with the preset's (w0's only sets the final LR)
ARMS = {
    "w0": (0, 100.0, None),
    "w30": (30, 100.0, None),
    "w30-div10": (30, 10.0, None),
    "w30-div3": (30, 3.0, None),
    "b09-w0": (0, 100.0, 0.9),
    "b09-w30": (30, 100.0, 0.9),
}
KINDS = ("embed", "norm", "attn", "mlp")  # parameter-name substrings, first match wins


def _kind(name: str) -> str:
    return next((k for k in KINDS if k in name), "other")


class WeightNorms:
    """Training callback: the Frobenius norm of the weights of each kind every ``every`` updates."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step(self, ctx) -> dict | None:
        import torch

        if ctx.step % self.every:
            return None
        sq: dict[str, float] = {}
        with torch.no_grad():
            for name, p in ctx.model.named_parameters():
                k = _kind(name)
                sq[k] = sq.get(k, 0.0) + float(p.double().pow(2).sum())
        return {f"wn_{k}": v**0.5 for k, v in sq.items()}


def plan(args: argparse.Namespace) -> dict[str, object]:
    """Arm -> RunConfig: the bench preset's Lion grid config, varied per arm."""
    from autowarm.bench.presets import PRESETS
    from autowarm.bench.sweep import grid_schedule
    from autowarm.bench.sweep import plan as bench_plan
    from autowarm.train import DataConfig

    bench = PRESETS["cpu"]
    setup = bench.optimizers["lion"]
    data = DataConfig(source=args.data) if args.data != "default" else None
    specs = bench_plan(bench, args.out, optimizers=["lion"], seeds=1, warmup_steps=[0],
                       adaptive=False, lr_factors=[args.lr_factor],
        steps=args.steps, threads=1, data=data)  # fmt: skip
    base = specs[0].config.replace(seed=args.seed)
    configs = {}
    for arm in args.arms:
        w, div, beta2 = ARMS[arm]
        schedule = grid_schedule(
            w, dataclasses.replace(setup, div_factor=div), bench.final_div_factor
        )
        opt_args = dict(base.optimizer_args)
        if beta2 is not None:
            opt_args["betas"] = [opt_args.get("betas", (0.9, 0.99))[0], beta2]
        configs[arm] = base.replace(schedule=schedule, optimizer_args=opt_args,
                                    out=str(Path(args.out) / "runs" / arm))  # fmt: skip
    return configs


def _train(item: tuple[str, object]) -> tuple[str, float]:
    from autowarm.diagnostics.update_size import UpdateSizeLogger
    from autowarm.train import train

    arm, cfg = item
    t0 = time.perf_counter()
    train(cfg, callbacks=[UpdateSizeLogger(EVERY), WeightNorms(EVERY)], progress=False)
    return arm, time.perf_counter() - t0


def _rows(run_dir: Path) -> list[dict]:
    from autowarm import runlog

    return runlog.read_metrics(run_dir / "metrics.jsonl")


def scalar(value) -> float:
    """A metrics value: a number, or the first entry of a per-group list."""
    return float(value[0] if isinstance(value, list) else value)


def summarize(configs: dict) -> dict:
    arms = {}
    for arm, cfg in configs.items():
        run = Path(cfg.out)
        rows = _rows(run)
        norms = {r["step"]: r for r in rows if "wn_attn" in r}
        mid, end = cfg.steps // 2, cfg.steps
        late = cfg.steps // 6  # past the warm-ups: update 100 of 600
        angular = [scalar(r["upd_angular_update"]) for r in rows
                   if "upd_angular_update" in r and r["step"] > late]  # fmt: skip
        final = json.loads((run / "final.json").read_text())
        arms[arm] = {
            "schedule": cfg.schedule,
            "betas": cfg.optimizer_args.get("betas", [0.9, 0.99]),
            "final_val_loss": final["final_val_loss"],
            "attn_mlp_norm_mid": [norms[mid]["wn_attn"], norms[mid]["wn_mlp"]],
            "attn_mlp_norm_end": [norms[end]["wn_attn"], norms[end]["wn_mlp"]],
            "angular_update_late": sum(angular) / len(angular),
            "wall_time_s": final["wall_time_s"],  # of the session that finished the run
            "tokens_per_s": final["tokens_per_s"],
        }
    return arms


def plot(configs: dict, path: Path, title: str) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for arm, cfg in configs.items():
        rows = _rows(Path(cfg.out))
        train = [(r["step"], scalar(r["train_loss"])) for r in rows if "train_loss" in r]
        ema, smooth = None, []
        for step, loss in train:
            ema = loss if ema is None else 0.9 * ema + 0.1 * loss
            smooth.append((step, ema))
        axes[0].plot(*zip(*smooth), label=arm, lw=1.2)
        probed = [r for r in rows if "wn_attn" in r]
        axes[1].plot([r["step"] for r in probed],
                     [(r["wn_attn"] ** 2 + r["wn_mlp"] ** 2) ** 0.5 for r in probed], lw=1.2)  # fmt: skip
        upd = [r for r in rows if "upd_angular_update" in r]
        axes[2].plot([r["step"] for r in upd], [scalar(r["upd_angular_update"]) for r in upd],
                     lw=1.2)  # fmt: skip
    axes[0].set(xlabel="update", ylabel="train loss (EMA 0.9)", ylim=(1.5, 4.0))
    axes[1].set(xlabel="update", ylabel="||W|| of attention + MLP matrices")
    axes[2].set(xlabel="update", ylabel="angular update (layer mean, rad)", yscale="log")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma list of {', '.join(ARMS)}")
    ap.add_argument("--lr-factor", type=float, default=0.5, help="peak LR / the preset's Lion LR")
    ap.add_argument("--data", default="default", help="data source (as `autowarm train --data`)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=600, help="updates per run (a multiple of 10)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (1 thread each)")
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    args.arms = [a for a in args.arms.split(",") if a]
    bad = [a for a in args.arms if a not in ARMS]
    if bad:
        ap.error(f"--arms: unknown arm(s) {', '.join(bad)}; valid: {', '.join(ARMS)}")
    longest = max(ARMS[a][0] for a in args.arms)
    if args.steps <= longest or args.steps % EVERY:
        ap.error(f"--steps must be a multiple of {EVERY} above the longest warm-up ({longest}); "
                 f"got {args.steps}")  # fmt: skip
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1; got {args.jobs}")
    configs = plan(args)
    from autowarm.bench.store import finished_run

    todo = [(a, c) for a, c in configs.items() if not finished_run(c.out, c)]
    print(f"{len(configs) - len(todo)} finished run(s) reused, {len(todo)} to train", flush=True)
    if todo:
        with mp.get_context("spawn").Pool(min(args.jobs, len(todo))) as pool:
            for arm, wall in pool.imap_unordered(_train, todo):
                print(f"{arm}: done in {wall:.0f} s", flush=True)
    summary = {
        "date": date.today().isoformat(),
        "lr_factor": args.lr_factor,
        "data": args.data,
        "seed": args.seed,
        "arms": summarize(configs),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    lr = next(iter(configs.values())).lr
    title = f"Lion at lr {lr:g} on the cpu model, data {args.data}: warm-up, div_factor and beta2"
    plot(configs, args.out / "lion_momentum.png", title)
    for arm, row in summary["arms"].items():
        print(f"{arm:10s} final val {row['final_val_loss']:.3f}  ||W|| attn/mlp end "
              f"{row['attn_mlp_norm_end'][0]:.1f}/{row['attn_mlp_norm_end'][1]:.1f}  "
              f"angular {row['angular_update_late']:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
