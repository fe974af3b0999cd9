"""accelerate: ``accelerator.prepare(scheduler)`` steps AdaptiveWarmup once per process per update
and on every micro-batch; the once-per-optimizer-step guard keeps the LR right (real Accelerator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("accelerate")

from autowarm import AdaptiveWarmup

sys.path.insert(0, str(Path(__file__).parent))
from accelerate_worker import run


def reference_lrs(step_losses, steps):
    """A plain loop fed the mean loss of each update (over micro-batches and ranks)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.4)
    sched = AdaptiveWarmup(
        opt, total_steps=steps, target_loss=0.0, delta_star=4.0, div_factor=10.0, smoothing=0.0
    )
    lrs = []
    for loss in step_losses:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss)
    return lrs, sched


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
    worker = Path(__file__).with_name("accelerate_worker.py")
    cmd = [
        # --standalone: torchrun picks a free port itself and keeps it bound
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(worker), str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
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
