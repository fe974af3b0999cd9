"""Per-step cost of the LR schedulers and the time of the D* fit.

Measures, on the CPU with one thread, the time of ``scheduler.step(...)`` per optimizer update for
torch's ``LambdaLR`` and autowarm's ``FixedSchedule`` and ``AdaptiveWarmup`` (warm-up phase with a
float or a tensor loss, and the decay phase), as the difference between a loop of
``opt.step(); sched.step(...)`` and a loop of ``opt.step()`` alone (SGD on parameters without
gradients, so the optimizer step is a near-constant few microseconds). Median of repeats.

    python benchmarks/scheduler_overhead.py --out benchmarks/results/scheduler_overhead.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from autowarm import AdaptiveWarmup, FixedSchedule
from autowarm.schedules import fit_delta_star, kappa, wsd


def make_optimizer(groups: int) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(4, 4)) for _ in range(groups)]
    return torch.optim.SGD([{"params": [p], "lr": 1e-3 * (i + 1)} for i, p in enumerate(params)])


def per_step_us(make_sched, steps: int, repeats: int, loss_fn) -> float:
    """Median over repeats of (loop with the scheduler - loop without) / steps, in microseconds."""
    samples = []
    for _ in range(repeats):
        opt = make_optimizer(3)
        sched = make_sched(opt)
        losses = [loss_fn(k) for k in range(steps)]
        t0 = time.perf_counter()
        for k in range(steps):
            opt.step()
            sched.step(losses[k]) if losses[k] is not None else sched.step()
        with_sched = time.perf_counter() - t0
        opt = make_optimizer(3)
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.step()
        without = time.perf_counter() - t0
        samples.append((with_sched - without) / steps * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default="benchmarks/results/scheduler_overhead.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    total = 10**9  # the adaptive warm-up never switches within the measured loop
    schedule = wsd(total, 1000, 0.2)

    def falling(k):
        return 10.0 - 5.0 * k / args.steps

    def adaptive(**kw):
        return lambda o: AdaptiveWarmup(
            o, total_steps=total, target_loss=1.0, delta_star=0.5, div_factor=100.0, **kw
        )

    def decaying(o):
        s = AdaptiveWarmup(o, total_steps=total, target_loss=1.0, delta_star=0.5, smoothing=0.0)
        o.step()
        s.step(10.0)
        o.step()
        s.step(1.2)  # gap 0.2 <= D*: switched
        assert s.phase == "decay"
        return s

    cases = {
        "LambdaLR.step()": (lambda o: torch.optim.lr_scheduler.LambdaLR(o, schedule), None),
        "FixedSchedule.step()": (lambda o: FixedSchedule(o, schedule), None),
        "AdaptiveWarmup.step(float), warm-up": (adaptive(), falling),
        "AdaptiveWarmup.step(tensor), warm-up": (
            adaptive(),
            lambda k: torch.tensor(falling(k)),
        ),
        "AdaptiveWarmup.step(float), warm-up, sync_every=8": (adaptive(sync_every=8), falling),
        "AdaptiveWarmup.step(), decay": (decaying, None),
    }
    results = {}
    for name, (make, loss) in cases.items():
        results[name] = per_step_us(make, args.steps, args.repeats, loss or (lambda k: None))
        print(f"{name:55s} {results[name]:8.2f} us/step")

    fits = {}
    shapes = {  # LLaMA-124M matrices incl. the tied embedding, as the paper's code counts them
        "spectral": [(50304, 768)]
        + [(2304, 768), (768, 768), (2048, 768), (768, 2048), (2048, 768)] * 12,
    }
    shapes["sign"] = shapes["frobenius"] = shapes["spectral"]
    for norm, div, gap in (("spectral", 100.0, 7.8), ("sign", 100.0, 7.5), ("frobenius", 5.0, 6.7)):
        kap = kappa(norm, shapes[norm])
        fit_delta_star(gap, div, kap)
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            fit_delta_star(gap, div, kap)
            times.append((time.perf_counter() - t0) * 1e3)
        fits[norm] = statistics.median(times)
        print(f"fit_delta_star ({norm:9s}, kappa={kap:.4g}) {fits[norm]:8.2f} ms")

    out = {
        "per_step_us": results,
        "fit_delta_star_ms": fits,
        "steps": args.steps,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
