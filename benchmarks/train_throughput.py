"""Tokens/s of ``autowarm.train.train`` against a minimal plain-PyTorch loop, same process.

Both loops train the same model preset (default ``cpu``) with the same AdamW (``autowarm.optim``),
the same warm-up + cosine schedule, gradient clipping at 1.0, and the same batches
(``autowarm.train.data.Batches`` over the default corpus). The plain loop is the textbook
``forward / backward / clip / step / zero_grad / scheduler.step()`` with no logging at all; the
autowarm loop runs as a user would run it (metrics rows every update, flushed every ``log_every``),
with evaluation and progress output turned off. Runs alternate (plain, autowarm, plain, ...) to
spread host noise over both, and the ratio is taken per pair, then its median is reported.

Usage::

    python benchmarks/train_throughput.py --steps 50 --repeats 5 --threads 1 \\
        --json benchmarks/results/train_throughput.json

On a shared 2-core host, ``--threads 1`` is the stable setting: with 2 threads, other processes'
load made both loops swing between 0.2 and 4.5 s/step, which no pairing can average out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from autowarm.optim import build
from autowarm.schedules import from_spec
from autowarm.train import DataConfig, LLaMA, RunConfig, load_data, train
from autowarm.train.data import Batches
from autowarm.train.loop import resolve_model_config


def plain_loop(cfg: RunConfig, data) -> tuple[float, list[float]]:
    """Tokens/s and step times of a minimal loop over the same model, optimizer, schedule, data."""
    mcfg = resolve_model_config(cfg, data.vocab_size)
    seq_len = cfg.seq_len or mcfg.context
    torch.manual_seed(cfg.seed)
    model = LLaMA(mcfg)
    opt = build(cfg.optimizer, model, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, from_spec(cfg.schedule, cfg.steps))
    batches = Batches(data.train, batch_size=cfg.batch_size, seq_len=seq_len, seed=cfg.seed)
    t0 = time.perf_counter()
    stamps = [t0]
    for step in range(cfg.steps):
        x, y = batches(step)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
        stamps.append(time.perf_counter())
    loss.item()  # wait for the last step (a no-op on CPU)
    elapsed = time.perf_counter() - t0
    return cfg.steps * cfg.batch_size * seq_len / elapsed, _diffs(stamps)


class _Stamps:
    """Callback: the time of every ``on_step``."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def on_train_start(self, ctx) -> None:
        self.stamps.append(time.perf_counter())

    def on_step(self, ctx) -> None:
        self.stamps.append(time.perf_counter())


def autowarm_loop(cfg: RunConfig) -> tuple[float, list[float]]:
    """Tokens/s of ``autowarm.train.train`` over its training steps, and its step times."""
    stamps = _Stamps()
    with tempfile.TemporaryDirectory() as out:
        results = train(cfg.replace(out=out), callbacks=[stamps], progress=False)
    return results["tokens_per_s"], _diffs(stamps.stamps)


def _diffs(stamps: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(stamps)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="cpu")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--json", default="benchmarks/results/train_throughput.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = RunConfig(
        model=args.model,
        optimizer="adamw",
        lr=3e-3,
        schedule="warmup_cosine:warmup_steps=10",
        steps=args.steps,
        batch_size=args.batch_size,
        data=DataConfig(),
        eval_every=0,
        final_eval=False,
        log_every=args.log_every,
        threads=args.threads,
        device="cpu",
    )
    data = load_data(cfg.data)
    plain_loop(
        cfg.replace(steps=5, schedule="constant"), data
    )  # warm up allocator and kernels before timing
    plain, ours, plain_steps, our_steps = [], [], [], []
    for r in range(args.repeats):
        tok_s, steps = plain_loop(cfg, data)
        plain.append(tok_s)
        plain_steps += steps
        tok_s, steps = autowarm_loop(cfg)
        ours.append(tok_s)
        our_steps += steps
        print(f"repeat {r}: plain {plain[-1]:,.0f} tok/s  autowarm {ours[-1]:,.0f} tok/s "
              f"ratio {ours[-1] / plain[-1]:.3f}", flush=True)  # fmt: skip
    ratios = [a / b for a, b in zip(ours, plain)]
    result = {
        "benchmark": "train_throughput",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads",
        "torch": torch.__version__,
        "model": args.model,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "log_every": args.log_every,
        "plain_tok_per_s": plain,
        "autowarm_tok_per_s": ours,
        "ratio_per_pair": ratios,
        "ratio_median": statistics.median(ratios),
        "ratio_of_medians": statistics.median(ours) / statistics.median(plain),
        # Step times are robust to bursts of host load; the mean includes the periodic flushes.
        "plain_step_s_median": statistics.median(plain_steps),
        "autowarm_step_s_median": statistics.median(our_steps),
        "ratio_step_median": statistics.median(plain_steps) / statistics.median(our_steps),
        "ratio_step_mean": statistics.fmean(plain_steps) / statistics.fmean(our_steps),
    }
    keys = ("ratio_median", "ratio_of_medians", "ratio_step_median", "ratio_step_mean")
    print(json.dumps({k: round(result[k], 4) for k in keys}))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
