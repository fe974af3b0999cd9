"""Replay the loss-rise guard over recorded training curves (open loop).

For every recorded run (benchmark result files, or a run directory's ``metrics.jsonl``), feed its
training losses to the adaptive machine with the guard on (and a target so low that the warm-up
never ends, so that only the guard acts) and record where the guard would have backed off. This
checks the guard's thresholds for false alarms on smooth curves and for hits on the runs that
spiked; it cannot say what a guarded run would have reached (a back-off changes the curve that
follows: the closed-loop arms in the benchmark do that).

    python benchmarks/guard_replay.py --json benchmarks/results/guard_replay.json \
        benchmarks/results/bench_cpu benchmarks/results/bench_lr_axis
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from autowarm.adaptive import AdaptiveConfig, AdaptiveWarmupSchedule
from autowarm.bench.store import write_json_atomic


def curves(paths: list[str]):
    """(name, losses, final validation loss or None) for each recorded run under ``paths``."""
    for root in map(Path, paths):
        if root.is_file() and root.name == "metrics.jsonl":
            rows = [json.loads(line) for line in root.read_text().splitlines() if line.strip()]
            losses = [r["train_loss"] for r in rows if "train_loss" in r]
            yield str(root.parent), losses, None
            continue
        for f in sorted((root / "results").glob("*.json")):
            r = json.loads(f.read_text())
            yield r["run_id"], r["train_loss"], r.get("final_val_loss")


def replay(losses: list[float], config: AdaptiveConfig) -> list[int]:
    """The updates at which the guard backs off over ``losses`` (warm-up never ends)."""
    m = AdaptiveWarmupSchedule.from_config(
        config.replace(total_steps=max(1, len(losses)), target_loss=-1e9, delta_star=1e-9)
    )
    return list(m.simulate(losses)["state"]["backoff_steps"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", help="benchmark result directories or metrics.jsonl files")
    p.add_argument("--json", help="write the per-run results here")
    args = p.parse_args(argv)
    config = AdaptiveConfig(total_steps=1, target_loss=0.0, guard=True, outlier_filter=True)
    t0 = time.perf_counter()
    runs, seen = [], set()
    for name, losses, final in curves(args.paths):
        if name in seen:  # the same run copied into two result directories
            continue
        seen.add(name)
        runs.append({"run": name, "final_val_loss": final, "backoff_steps": replay(losses, config)})
    fired = [r for r in runs if r["backoff_steps"]]
    for r in fired:
        print(f"{r['run']:45s} final {r['final_val_loss']}  backs off at {r['backoff_steps']}")
    print(
        f"{len(fired)} of {len(runs)} recorded runs would back off ({time.perf_counter() - t0:.1f} s)"
    )
    if args.json:
        write_json_atomic(
            args.json,
            {
                "command": "python benchmarks/guard_replay.py " + " ".join(sys.argv[1:]),
                "guard": {
                    k: getattr(config, k) for k in ("guard_rise", "guard_spike", "guard_backoff")
                },
                "runs": runs,
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
