"""Two real gloo processes with different local losses compute identical LRs (torchrun)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autowarm.schedules import AdaptiveWarmupSchedule, kappa


@pytest.mark.slow
def test_two_ranks_identical_lrs_from_the_mean_loss(tmp_path: Path):
    worker = Path(__file__).with_name("dist_worker.py")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        # --standalone: torchrun's rendezvous picks a free port itself and keeps it bound (a port
        # chosen here, closed, then bound by torchrun could be taken in between).
        "--standalone",
        "--nproc_per_node=2",
        str(worker),
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0 == r1  # identical LR sequences, phases and switch step on both ranks
    # ... and they are those of a single process fed the mean of the two local losses.
    machine = AdaptiveWarmupSchedule(
        40, 1.0, div_factor=50.0, smoothing=0.5, kappa=kappa("sign", [(8, 4)])
    )
    mean = [
        0.5 * ((6.0 * 0.9 ** (k * 1.5) + 1.2) + (6.0 * 0.9 ** (k * 0.5) + 1.2)) for k in range(40)
    ]
    want = [0.1 * m for m in machine.simulate(mean)["multiplier"]]
    assert r0["lr"] == pytest.approx(want, rel=1e-12)
    assert r0["warmup_end_step"] is not None
