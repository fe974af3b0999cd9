"""accelerate: ``accelerator.prepare(scheduler)`` steps AdaptiveWarmup once per process per update
and on every micro-batch; the once-per-optimizer-step guard keeps the LR right (real Accelerator)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("accelerate")


sys.path.insert(0, str(Path(__file__).parent))
from accelerate_worker import run
from integration_helpers import plain_loop_lrs, run_two_ranks


def reference_lrs(step_losses, steps):
    """A plain loop fed the mean loss of each update (over micro-batches and ranks)."""
    return plain_loop_lrs(
        step_losses, lr=0.4, total_steps=steps,
        target_loss=0.0, delta_star=4.0, div_factor=10.0, smoothing=0.0,
    )  # fmt: skip


@pytest.fixture
def fresh_accelerate_state():
    from accelerate.state import AcceleratorState, GradientState

    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def test_accumulation_counts_updates_and_uses_the_mean_loss(tmp_path, fresh_accelerate_state):
    rec = run(str(tmp_path), steps=12, accumulation=3)
    assert rec["world"] == 1
    # scheduler.step() ran on all 36 micro-batches; 12 optimizer updates were counted
    assert rec["last_epoch"] == 12 == len(rec["lr"])
    assert all(len(m) == 3 for m in rec["losses"])
    ref, ref_sched = reference_lrs([sum(m) / 3 for m in rec["losses"]], 12)
    assert rec["lr"] == pytest.approx(ref, rel=1e-6)
    assert rec["warmup_end_step"] == ref_sched.warmup_end_step is not None


@pytest.mark.slow
def test_two_processes_step_the_scheduler_twice_per_update(tmp_path):
    run_two_ranks("accelerate_worker.py", tmp_path)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["losses"] != r1["losses"]  # each rank trained on its own shard
    # AcceleratedScheduler called step() twice per update: each update counted once
    assert r0["last_epoch"] == r1["last_epoch"] == 12 == len(r0["lr"])
    assert any("without an optimizer.step()" in w for w in r0["warnings"])
    assert r0["lr"] == r1["lr"]
    mean = [(sum(a) + sum(b)) / (len(a) + len(b)) for a, b in zip(r0["losses"], r1["losses"])]
    ref, ref_sched = reference_lrs(mean, 12)
    assert r0["lr"] == pytest.approx(ref, rel=1e-6)
    assert r0["warmup_end_step"] == ref_sched.warmup_end_step is not None
