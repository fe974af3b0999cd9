"""What the integration tests share: the plain-loop reference and the two-rank torchrun launch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from autowarm import AdaptiveWarmup


def plain_loop_lrs(losses, *, lr: float, total_steps: int, **warmup):
    """The LRs a plain loop takes when it steps ``AdaptiveWarmup`` with ``losses``, one per update.

    Returns ``(lrs, sched)``: ``lrs[k]`` is the LR of update ``k``, ``sched`` the scheduler after
    the last loss (for its phase, switch step and state).
    """
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = AdaptiveWarmup(opt, total_steps=total_steps, **warmup)
    lrs = []
    for loss in losses:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss)
    return lrs, sched


def run_two_ranks(worker: str, out_dir: Path) -> subprocess.CompletedProcess:
    """Run ``worker`` (a file beside this one) as 2 ranks under ``torchrun``; assert it succeeded."""
    cmd = [
        # --standalone: torchrun picks a free port itself and keeps it bound
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(Path(__file__).with_name(worker)), str(out_dir),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc
