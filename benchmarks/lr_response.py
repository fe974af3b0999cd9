"""An LR-response closed loop for the warm-up: does a higher LR pay *now*? (a design study).

The default adaptive warm-up sets the LR's height from the loss's level. On the `cpu` preset that
level does not tell Muon (best with no warm-up at its preset LR) from AdamW (best with the
longest warm-up): both curves look alike while the LR rises. This script tests the other signal
the loss carries, its *response* to the LR, measured in the run itself. Each run trains with the
bench preset's config (the grid arm's, at ``--lr-factor`` times the preset LR, one seed) and a
multiplier set by :class:`ResponseLoop`, from the losses of the updates before each update:

- the warm-up is a sequence of trials of three segments of ``h`` updates, A-B-A: A at the base
  level ``m`` (from ``1/div``), B at ``min(1, g m)``, A at ``m`` again;
- the fall of the loss per update in each segment is the least-squares slope of its raw
  mini-batch losses; B's fall minus the mean of the two A falls (which cancels a fall that slows
  linearly in time) is compared with its standard error (from the three fits' residuals);
- the trial passes unless B's fall is slower by more than ``z`` standard errors: then
  ``m <- g m`` and ``g`` grows by ``accel`` (the next step up is larger); a failed trial keeps
  ``m`` and resets ``g`` to ``g0``;
- when ``m`` reaches the peak the warm-up ends and a cosine decay runs from the peak to
  ``final x peak`` at the last update; at ``max_frac x steps`` it ends anyway, with the decay
  from ``m``.

The script writes ``summary.json`` (per run: final validation loss, the switch update, the
height it handed over at, every trial's levels, falls, standard error and verdict) and
``lr_response.png`` (the multiplier and the smoothed loss against the update, one line per run).
A finished run whose config equals the planned one is reused; an unfinished one is trained again
from the start (the loop's state is not checkpointed).

    python benchmarks/lr_response.py --runs adamw@1,adamw@4,muon@0.5,muon@1 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "results" / "lr_response"
OPTIMIZERS = ("adamw", "lion", "muon", "normsgd")


def fall(losses: list[float]) -> tuple[float, float, float]:
    """Least-squares fit of a line to ``losses`` (one per update): ``(-slope, rss, sxx)``."""
    n = len(losses)
    xm, ym = (n - 1) / 2, sum(losses) / n
    sxx = sum((i - xm) ** 2 for i in range(n))
    b = sum((i - xm) * (y - ym) for i, y in enumerate(losses)) / sxx
    rss = sum((y - ym - b * (i - xm)) ** 2 for i, y in enumerate(losses))
    return -b, rss, sxx


@dataclass
class ResponseLoop:
    """The multiplier of the LR-response warm-up (see the module docstring); pure Python.

    ``level()`` is the multiplier of the next update; ``feed(loss)`` takes that update's loss.

    >>> ResponseLoop(total=100, div=100.0, h=3).level()  # the first update runs at 1/div
    0.01
    """

    total: int  # updates in the run
    div: float  # the warm-up starts at 1/div of the peak
    h: int = 5  # updates per segment (a trial is 3 h)
    g0: float = 2.0  # the first step up (B = g m)
    accel: float = 2.0  # g grows by this factor after each pass
    z: float = 1.0  # a slower fall in B fails the trial beyond z standard errors
    max_frac: float = 0.5  # the latest switch, as a fraction of the run
    final: float = 1e-4  # the decay's last multiplier
    m: float = field(init=False)
    g: float = field(init=False)
    step: int = field(init=False, default=0)
    switch: int | None = field(init=False, default=None)
    cap: float = field(init=False, default=1.0)
    trial: list = field(init=False, default_factory=list)
    trials: list = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        if self.h < 3:
            raise ValueError(f"h must be at least 3 (a line and its residual); got {self.h}")
        self.m, self.g = 1.0 / self.div, self.g0

    def level(self) -> float:
        """The multiplier of the next update."""
        if self.switch is not None:
            n = max(self.total - self.switch, 1)
            c = 0.5 * (1.0 + math.cos(math.pi * min(self.step - self.switch, n) / n))
            return self.cap * (self.final + (1.0 - self.final) * c)
        if self.h <= len(self.trial) < 2 * self.h:
            return min(1.0, self.m * self.g)
        return self.m

    def feed(self, loss: float) -> None:
        """The loss of the update just taken (non-finite losses are left out of the trial)."""
        self.step += 1
        if self.switch is not None:
            return
        if math.isfinite(loss):
            self.trial.append(float(loss))
        h = self.h
        if len(self.trial) == 3 * h:
            (a1, r1, sxx), (b, r2, _), (a2, r3, _) = (
                fall(self.trial[i * h : (i + 1) * h]) for i in range(3)
            )
            se = math.sqrt((r1 + r2 + r3) / (3 * (h - 2)) / sxx * 1.5)
            ok = b - (a1 + a2) / 2 >= -self.z * se
            self.trials.append({"step": self.step, "m": self.m, "B": min(1.0, self.m * self.g),
                                "fall_A": (a1 + a2) / 2, "fall_B": b, "se": se, "pass": ok})  # fmt: skip
            if ok:
                self.m, self.g = min(1.0, self.m * self.g), self.g * self.accel
            else:
                self.g = self.g0
            self.trial = []
        if self.m >= 1.0:
            self.switch, self.cap = self.step, 1.0
        elif self.step >= self.max_frac * self.total:
            self.switch, self.cap = self.step, self.m


class Driver:
    """Training callback: set every group's LR to ``base x loop.level()`` before each update."""

    def __init__(self, loop: ResponseLoop) -> None:
        self.loop = loop
        self.level = loop.level()

    def before_update(self, ctx) -> None:
        self.level = self.loop.level()
        scale = self.level / ctx.scheduler.last_multiplier  # the constant schedule: 1
        for group in ctx.optimizer.param_groups:
            group["lr"] *= scale
        self.loop.feed(float(ctx.loss))

    def on_step(self, ctx) -> dict:
        return {"response_mult": self.level}


def parse_runs(text: str) -> list[tuple[str, float]]:
    """``"adamw@1,muon@0.5"`` -> ``[("adamw", 1.0), ("muon", 0.5)]``; bad items raise."""
    out = []
    for item in (x for x in text.split(",") if x):
        opt, _, lr = item.partition("@")
        if opt not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {opt!r} in {item!r}; valid: {', '.join(OPTIMIZERS)}"
            )
        try:
            factor = float(lr)
        except ValueError:
            factor = math.nan
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"{item!r}: the LR factor after '@' must be a positive number")
        out.append((opt, factor))
    if not out:
        raise ValueError("no runs given; e.g. --runs adamw@1,muon@0.5")
    return out


def run_name(opt: str, factor: float) -> str:
    return f"{opt}-lrx{factor:g}"


def plan(args: argparse.Namespace) -> dict[str, object]:
    """Run name -> RunConfig: the bench grid arm's config with a constant schedule."""
    from autowarm.bench.presets import PRESETS
    from autowarm.bench.sweep import plan as bench_plan
    from autowarm.train import DataConfig

    bench = PRESETS["cpu"]
    data = DataConfig(source=args.data) if args.data != "default" else None
    configs = {}
    for opt, factor in args.runs:
        spec = bench_plan(bench, args.out, optimizers=[opt], seeds=1, warmup_steps=[0],
                          adaptive=False, lr_factors=[factor], steps=args.steps, threads=1,
                          data=data)[0]  # fmt: skip
        name = run_name(opt, factor)
        configs[name] = spec.config.replace(seed=args.seed, schedule="constant",
                                            out=str(Path(args.out) / "runs" / name))  # fmt: skip
    return configs


def loop_for(args: argparse.Namespace, opt: str, steps: int) -> ResponseLoop:
    from autowarm.bench.presets import PRESETS

    div = args.div if args.div is not None else PRESETS["cpu"].optimizers[opt].div_factor
    return ResponseLoop(total=steps, div=div, h=args.h, g0=args.g0, accel=args.accel, z=args.z,
                        max_frac=args.max_frac)  # fmt: skip


def _train(item) -> tuple[str, float]:
    from autowarm.bench.store import write_json_atomic
    from autowarm.train import train

    name, cfg, loop = item
    shutil.rmtree(cfg.out, ignore_errors=True)  # an unfinished run starts again
    t0 = time.perf_counter()
    final = train(cfg, callbacks=[Driver(loop)], progress=False)
    record = {"final_val_loss": final["final_val_loss"], "switch": loop.switch, "cap": loop.cap,
              "trials": loop.trials, "loop": {k: getattr(loop, k) for k in
              ("div", "h", "g0", "accel", "z", "max_frac", "final")}}  # fmt: skip
    write_json_atomic(Path(cfg.out) / "response.json", record)
    return name, time.perf_counter() - t0


def run_pending(planned: dict, marker: str, worker, jobs: int, what: str = "run") -> None:
    """Train the planned runs that have not finished, ``jobs`` at a time, in spawned workers.

    ``planned``: run name -> ``(RunConfig, payload)``; a run counts as finished when its directory
    holds ``marker`` and the config it ran with equals the planned one
    (:func:`autowarm.bench.store.finished_run`). ``worker((name, cfg, payload))`` trains one run,
    writes ``marker`` and returns ``(name, seconds)``.
    """
    from autowarm.bench.store import finished_run

    todo = [(n, cfg, payload) for n, (cfg, payload) in planned.items()
            if not finished_run(cfg.out, cfg, marker=marker)]  # fmt: skip
    print(f"{len(planned) - len(todo)} finished {what}(s) reused, {len(todo)} to train", flush=True)
    if todo:
        with mp.get_context("spawn").Pool(min(jobs, len(todo))) as pool:
            for name, wall in pool.imap_unordered(worker, todo):
                print(f"{name}: done in {wall:.0f} s", flush=True)


def _rows(run_dir: Path) -> list[dict]:
    from autowarm import runlog

    return runlog.read_metrics(run_dir / "metrics.jsonl")


def plot(configs: dict, path: Path, title: str) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, cfg in configs.items():
        rows = [r for r in _rows(Path(cfg.out)) if "train_loss" in r]
        loss = [float(r["train_loss"]) for r in rows]
        ema, smooth = loss[0], []
        for x in loss:
            ema = 0.9 * ema + 0.1 * x
            smooth.append(ema)
        steps = [r["step"] for r in rows]
        axes[0].plot(steps, [r["response_mult"] for r in rows], label=name, lw=1.2)
        axes[1].plot(steps, smooth, label=name, lw=1.2)
    axes[0].set(xlabel="update", ylabel="LR multiplier (of the peak)", yscale="log")
    axes[1].set(xlabel="update", ylabel="train loss (EMA 0.9)", ylim=(1.4, 6.0))
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from autowarm.bench.store import write_json_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="adamw@1,adamw@4,muon@0.5,muon@1",
                    help="comma list of OPTIMIZER@LR_FACTOR")  # fmt: skip
    ap.add_argument("--data", default="default", help="data source (as `autowarm train --data`)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=600, help="updates per run")
    ap.add_argument("--div", type=float, default=None, help="start at 1/div (default: preset's)")
    ap.add_argument("--h", type=int, default=5, help="updates per trial segment (>= 3)")
    ap.add_argument("--g0", type=float, default=2.0, help="first step up (> 1)")
    ap.add_argument("--accel", type=float, default=2.0, help="growth of the step after a pass")
    ap.add_argument("--z", type=float, default=1.0, help="standard errors a slower B may lose")
    ap.add_argument("--max-frac", type=float, default=0.5, help="latest switch (of the run)")
    ap.add_argument("--jobs", type=int, default=2, help="runs in parallel (1 thread each)")
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    try:
        args.runs = parse_runs(args.runs)
    except ValueError as e:
        ap.error(f"--runs: {e}")
    if args.h < 3 or args.steps <= 3 * args.h:
        ap.error(f"--h must be at least 3 and --steps above 3 h; got h={args.h}, "
                 f"steps={args.steps}")  # fmt: skip
    if not (args.g0 > 1 and args.accel >= 1 and args.z >= 0 and 0 < args.max_frac <= 1):
        ap.error("need --g0 > 1, --accel >= 1, --z >= 0 and 0 < --max-frac <= 1")
    if args.div is not None and not args.div >= 1:
        ap.error(f"--div must be at least 1; got {args.div}")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1; got {args.jobs}")
    configs = plan(args)
    loops = {name: loop_for(args, opt, args.steps) for (opt, f), name in
             zip(args.runs, configs, strict=True)}  # fmt: skip
    run_pending({n: (c, loops[n]) for n, c in configs.items()}, "response.json", _train, args.jobs)
    runs = {}
    for name, cfg in configs.items():
        runs[name] = {"lr": cfg.lr, "seed": cfg.seed,
                      **json.loads((Path(cfg.out) / "response.json").read_text())}  # fmt: skip
    summary = {"date": date.today().isoformat(), "data": args.data, "runs": runs}
    write_json_atomic(args.out / "summary.json", summary)
    plot(configs, args.out / "lr_response.png", f"LR-response warm-up, cpu model, seed {args.seed}")
    for name, row in runs.items():
        passed = sum(t["pass"] for t in row["trials"])
        print(f"{name:14s} final val {row['final_val_loss']:.4f}  switch {row['switch']}  "
              f"height {row['cap']:.2f}  trials passed {passed}/{len(row['trials'])}")  # fmt: skip


if __name__ == "__main__":
    main()
