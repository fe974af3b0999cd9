"""Run a benchmark's runs in parallel worker processes, resumably, with progress.

Each run trains in its own process (spawned, ``threads`` torch threads each) through
:func:`autowarm.train.train`; up to ``jobs`` run at once. Finished runs (a result file in the
store) are skipped, partial runs (a checkpoint) resume exactly, so re-running an interrupted
benchmark with the same arguments continues where it stopped. A run that raises is reported and
recorded under ``DIR/errors/`` and does not stop the others.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import traceback
from pathlib import Path

from autowarm.bench.store import ResultStore, collect_result


def _train_one(spec, resume: bool) -> dict:
    """Worker: train one run and assemble its result (runs in a child process)."""
    from autowarm.train import train

    probe = _SchedulerRecord()
    final = train(spec.config.replace(resume=resume), callbacks=[probe], progress=False)
    return collect_result(spec, {**final, **probe.record}, spec.config.out)


class _SchedulerRecord:
    """Harness callback: keep what the adaptive schedule decided (D*, switch step)."""

    def __init__(self) -> None:
        self.record: dict = {}

    def on_train_end(self, ctx, results: dict) -> None:
        sched = ctx.scheduler
        self.record = {
            "delta_star": getattr(sched, "delta_star", None),
            "phase": getattr(sched, "phase", None),
        }


def _steps_done(run_dir: Path) -> int:
    """Updates a running run has logged so far (lines of its metrics file)."""
    try:
        with open(run_dir / "metrics.jsonl", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def run_all(specs: list, store: ResultStore, *, jobs: int | None = None, progress: bool = True):
    """Train every run of ``specs`` not yet done; return ``(done, failed)`` run-id lists.

    Args:
        specs: :class:`autowarm.bench.sweep.RunSpec` list (the order is the start order).
        store: where results go.
        jobs: parallel processes (default: the number of CPU cores).
        progress: show a progress bar (terminal) or periodic lines over all runs' updates.
    """
    from autowarm.train.progress import Progress

    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; got {jobs!r}")
    todo = [s for s in specs if store.status(s.run_id) != "done"]
    done_ids = [s.run_id for s in specs if store.status(s.run_id) == "done"]
    failed: list[str] = []
    total_steps = sum(s.config.steps for s in specs)
    finished_steps = sum(s.config.steps for s in specs if s.run_id in set(done_ids))
    bar = Progress(total_steps, start=finished_steps, enabled=progress, label="bench")
    if progress and done_ids:
        print(f"[bench] {len(done_ids)} of {len(specs)} runs already done; {len(todo)} to run")
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        running = {}
        try:
            for s in todo:
                resume = store.status(s.run_id) == "partial"
                running[pool.submit(_train_one, s, resume)] = s
            while running:
                ready, _ = cf.wait(running, timeout=2.0, return_when=cf.FIRST_COMPLETED)
                for fut in ready:
                    s = running.pop(fut)
                    try:
                        store.save(s.run_id, fut.result())
                        done_ids.append(s.run_id)
                    except Exception:
                        failed.append(s.run_id)
                        err = store.root / "errors" / f"{s.run_id}.txt"
                        err.parent.mkdir(parents=True, exist_ok=True)
                        err.write_text(traceback.format_exc())
                        print(f"[bench] run {s.run_id} failed; see {err}", flush=True)
                    finished_steps += s.config.steps
                active = sum(
                    min(_steps_done(Path(s.config.out)), s.config.steps) for s in running.values()
                )
                bar.update(finished_steps + active, runs=f"{len(done_ids)}/{len(specs)}")
        except KeyboardInterrupt:
            for fut in running:
                fut.cancel()
            bar.close()
            print("[bench] interrupted; re-run the same command to resume", flush=True)
            raise
    bar.close()
    return done_ids, failed
