"""The warm-up benchmark: adaptive warm-up vs a tuned grid of fixed warm-up lengths.

:func:`run_bench` expands a preset (:mod:`autowarm.bench.presets`) into runs
(:mod:`autowarm.bench.sweep`), trains them in parallel processes with resume
(:mod:`autowarm.bench.runner`, :mod:`autowarm.bench.store`) and renders the report
(:mod:`autowarm.bench.report`).
"""

from __future__ import annotations

import time
from pathlib import Path

from autowarm.bench.presets import PRESETS, BenchPreset, OptimizerSetup, preset
from autowarm.bench.report import report
from autowarm.bench.stats import paired_difference, summarize
from autowarm.bench.store import ResultStore
from autowarm.bench.sweep import RunSpec, plan


def run_bench(
    preset_name: str,
    out: str | Path,
    *,
    jobs: int | None = None,
    progress: bool = True,
    command: str = "",
    **plan_options,
) -> dict:
    """Run (or resume) a benchmark into ``out`` and write its report; return a summary.

    Args:
        preset_name: a key of :data:`PRESETS`.
        out: the results directory.
        jobs: parallel runs (default: CPU cores).
        progress: show progress over all runs.
        command: the command line, recorded in ``bench.json``.
        plan_options: which runs: the keyword arguments of :func:`autowarm.bench.sweep.plan`
            (``optimizers``, ``seeds``, ``steps``, ``quick``, ``fstar_sweep``, ``fstar_offsets``,
            ``warmup_steps``, ``adaptive``, ``adaptive_modes``, ``calibrations``, ``lr_factors``,
            ``baselines``, ``threads``, ``model``, ``data``).

    Returns a dict with ``runs`` (all run ids), ``failed`` (run ids that raised), the
    ``report`` path and ``wall_time_s`` of this invocation.

    Raises:
        ValueError: bad options, or ``out`` holds runs trained with another config.
        autowarm.bench.runner.BenchInterrupted: on Ctrl-C (the results that arrived are saved).
    """
    t0 = time.perf_counter()
    bench = preset(preset_name)
    specs = plan(bench, out, **plan_options)
    quick = bool(plan_options.get("quick", False))
    fstar_sweep = bool(plan_options.get("fstar_sweep", False))
    store = ResultStore(out)
    meta = _merged_meta(store.read_meta(), bench, specs, quick, fstar_sweep, command)
    store.check(specs)  # a stored run with another config is refused before anything changes
    store.write_meta(meta)
    from autowarm.bench.runner import run_all

    done, failed = run_all(specs, store, jobs=jobs, progress=progress)
    path = report(out) if done else None
    return {
        "runs": [s.run_id for s in specs],
        "failed": failed,
        "report": str(path) if path else None,
        "wall_time_s": time.perf_counter() - t0,
    }


def _merged_meta(old: dict, bench, specs, quick: bool, fstar_sweep: bool, command: str) -> dict:
    """``bench.json``: what was asked; several invocations into one directory accumulate."""
    if old.get("preset", bench.name) != bench.name:
        raise ValueError(
            f"{old.get('preset')!r} results are already in this directory; use another --out "
            f"for preset {bench.name!r}"
        )
    return {
        "preset": bench.name,
        "optimizers": sorted(set(old.get("optimizers", [])) | {s.optimizer for s in specs}),
        "seeds": max(old.get("seeds", 0), max(s.seed for s in specs) + 1),
        "steps": specs[0].config.steps,
        "lr_factors": sorted(set(old.get("lr_factors", [1.0])) | {s.lr_factor for s in specs}),
        "quick": quick,
        "fstar_sweep": fstar_sweep,
        "runs": sorted(set(old.get("runs", [])) | {s.run_id for s in specs}),
        "commands": [*old.get("commands", []), command],
    }


__all__ = [
    "PRESETS",
    "BenchPreset",
    "OptimizerSetup",
    "ResultStore",
    "RunSpec",
    "paired_difference",
    "plan",
    "preset",
    "report",
    "run_bench",
    "summarize",
]
