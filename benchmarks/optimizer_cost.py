"""Per-step cost of each autowarm optimizer's ``step()`` on the CPU benchmark model, vs AdamW.

Builds ``LLaMA(model_config("cpu"))`` (tied embeddings) once per optimizer, gives every parameter
a fixed random gradient, takes a few warm-up steps (so the lazy state exists), then times
``optimizer.step()`` alone. Reports the median over repeats of the mean per-step time, the ratio
to ``adamw`` (torch.optim.AdamW, default foreach implementation) and, for scale, the time of one
forward+backward pass of the model on a batch of ``--batch`` x 128 tokens.

    python benchmarks/optimizer_cost.py --threads 1 --out benchmarks/results/optimizer_cost.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from autowarm.optim import available, build, spec
from autowarm.train.model import LLaMA, model_config

# The paper's LRs (1e-3 for the others, lr 1.0 for LR-free ones); the value does not change the cost.
LRS = {"adamw": 1e-3, "lion": 1e-4, "muon": 1e-3, "normsgd": 1e-2, "signsgd": 1e-4, "signum": 1e-4}
# Extra rows: label -> (registry name, hyperparameters).
VARIANTS = {"muon[ns_dtype=float32]": ("muon", {"ns_dtype": "float32"})}


def step_ms(name: str, hparams: dict, steps: int, repeats: int, warmup: int = 3) -> float:
    """Median over repeats of the mean ``opt.step()`` time in milliseconds."""
    torch.manual_seed(0)
    model = LLaMA(model_config("cpu"))
    opt = build(name, model, lr=None if spec(name).lr_free else LRS.get(name, 1e-3), **hparams)
    gen = torch.Generator().manual_seed(1)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=gen) * 1e-2
    for _ in range(warmup):
        opt.step()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.step()
        samples.append((time.perf_counter() - t0) / steps * 1e3)
    return statistics.median(samples)


def fwd_bwd_ms(batch: int, repeats: int) -> float:
    """Median time of one forward+backward of the model on ``batch`` x 128 tokens."""
    torch.manual_seed(0)
    model = LLaMA(model_config("cpu"))
    idx = torch.randint(0, 256, (batch, 128))
    samples = []
    for _ in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        model(idx, idx).backward()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", default="benchmarks/results/optimizer_cost.json")
    args = ap.parse_args()

    results: dict[str, dict] = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        cases = {name: (name, {}) for name in available()} | VARIANTS
        per = {k: step_ms(n, hp, args.steps, args.repeats) for k, (n, hp) in cases.items()}
        fb = fwd_bwd_ms(args.batch, args.repeats)
        base = per["adamw"]
        results[f"threads={threads}"] = {
            "step_ms": per,
            "relative_to_adamw": {k: v / base for k, v in per.items()},
            "fwd_bwd_ms": fb,
        }
        print(f"threads={threads}: forward+backward ({args.batch}x128 tokens) {fb:.1f} ms")
        print(f"  {'optimizer':24s} {'step ms':>9s} {'x AdamW':>8s} {'% of fwd+bwd':>13s}")
        for name, ms in per.items():
            print(f"  {name:24s} {ms:9.3f} {ms / base:8.2f} {100 * ms / fb:12.1f}%")

    model = LLaMA(model_config("cpu"))
    out = {
        "model": "cpu",
        "params": sum(p.numel() for p in model.parameters()),
        "results": results,
        "steps": args.steps,
        "repeats": args.repeats,
        "batch": args.batch,
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
